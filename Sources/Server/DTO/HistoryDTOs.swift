//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// What the history routes read; the executable wires it.
public struct HistoryContext: Sendable {
    /// nil when history is disabled or its database could not be opened (see `unavailableReason`).
    public var store: HistoryStore?
    public var settings: HistorySettings
    public var unavailableReason: String
    public var now: @Sendable () -> Timestamp

    public init(store: HistoryStore?, settings: HistorySettings, unavailableReason: String = "history is disabled", now: @escaping @Sendable () -> Timestamp = { .now() }) {
        self.store = store
        self.settings = settings
        self.unavailableReason = unavailableReason
        self.now = now
    }
}

/// Unix seconds with millisecond precision, as points carry them.
func unixSeconds(_ milliseconds: Int64) -> Double { Double(milliseconds) / 1000 }

struct LabelsDTO: Encodable {
    var labels: [MetricLabel]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for label in labels { try container.encode(label.value, forKey: Key(stringValue: label.name)) }
    }
}

/// `GET /api/v1/metrics`.
struct SeriesListDTO: Encodable {
    var series: [StoredSeries]

    enum Keys: String, CodingKey { case count, series }
    enum SeriesKeys: String, CodingKey { case name, labels, kind, key }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.count, series.count)
        var list = o.container.nestedUnkeyedContainer(forKey: .series)
        for item in series {
            var entry = list.nestedContainer(keyedBy: SeriesKeys.self)
            try entry.encode(item.key.name, forKey: .name)
            try entry.encode(LabelsDTO(labels: item.key.labels), forKey: .labels)
            try entry.encode(item.kind.rawValue, forKey: .kind)
            try entry.encode(item.key.description, forKey: .key)
        }
    }
}

/// `[t, v]` with t in Unix seconds.
struct PointDTO: Encodable {
    var point: HistoryPoint

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(unixSeconds(point.milliseconds))
        try container.encode(point.value)
    }
}

/// `GET /api/v1/metrics/{name}/history`.
struct MetricHistoryDTO: Encodable {
    var name: String
    var query: HistoryQuery
    var plan: HistoryPlan
    var series: [(key: SeriesKey, points: [HistoryPoint])]

    enum Keys: String, CodingKey { case name, from, to, step, agg, tier, series }
    enum SeriesKeys: String, CodingKey { case labels, points }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, name)
        try o(.from, Timestamp(millisecondsSinceEpoch: query.from).rfc3339)
        try o(.to, Timestamp(millisecondsSinceEpoch: query.to).rfc3339)
        try o(.step, plan.step)
        try o(.agg, plan.step == nil ? nil : query.function.rawValue)
        try o(.tier, plan.tier.rawValue)
        var list = o.container.nestedUnkeyedContainer(forKey: .series)
        for item in series {
            var entry = list.nestedContainer(keyedBy: SeriesKeys.self)
            try entry.encode(LabelsDTO(labels: item.key.labels), forKey: .labels)
            try entry.encode(item.points.map(PointDTO.init), forKey: .points)
        }
    }
}

/// One instant of `GET /api/v1/history/status`: the spec's `system_health` fields at a bucket.
struct StatusPointDTO: Encodable {
    var milliseconds: Int64
    var values: [String: Double]

    enum Keys: String, CodingKey {
        case timestamp, cpu_usage_percent, memory_usage_percent, disk_usage_percent, load_average, temperature, uptime_seconds
    }
    struct LoadPointDTO: Encodable {
        var values: [String: Double]
        enum Keys: String, CodingKey { case one_minute, five_minutes, fifteen_minutes }

        func encode(to encoder: any Encoder) throws {
            var o = JSONObject(encoder, keyedBy: Keys.self)
            try o(.one_minute, values[MetricName.load1].map { rounded($0) })
            try o(.five_minutes, values[MetricName.load5].map { rounded($0) })
            try o(.fifteen_minutes, values[MetricName.load15].map { rounded($0) })
        }
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.timestamp, Timestamp(millisecondsSinceEpoch: milliseconds).rfc3339)
        try o(.cpu_usage_percent, values[MetricName.cpuUsagePercent].map { rounded($0) })
        try o(.memory_usage_percent, values[MetricName.memoryUsagePercent].map { rounded($0) })
        try o(.disk_usage_percent, values[MetricName.diskUsagePercent].map { rounded($0) })
        try o(.load_average, LoadPointDTO(values: values))
        try o(.temperature, values[MetricName.cpuTemperatureCelsius].map { rounded($0) })
        try o(.uptime_seconds, values[MetricName.uptimeSeconds].map { rounded($0, 0) })
    }

    /// The series of each field (host-wide series carry no labels).
    static let metricNames = [
        MetricName.cpuUsagePercent, MetricName.memoryUsagePercent, MetricName.diskUsagePercent, MetricName.load1, MetricName.load5, MetricName.load15,
        MetricName.cpuTemperatureCelsius, MetricName.uptimeSeconds,
    ]
}

/// `GET /api/v1/history/status`.
struct StatusHistoryDTO: Encodable {
    var from: Int64
    var to: Int64
    var plan: HistoryPlan
    var points: [StatusPointDTO]

    enum Keys: String, CodingKey { case from, to, step, tier, points }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.from, Timestamp(millisecondsSinceEpoch: from).rfc3339)
        try o(.to, Timestamp(millisecondsSinceEpoch: to).rfc3339)
        try o(.step, plan.step)
        try o(.tier, plan.tier.rawValue)
        try o(.points, points)
    }
}

// MARK: - Alerts

/// The `alerts` section of `/api/v1/status` and the summary of `/api/v1/alerts`.
struct AlertSummaryDTO: Encodable {
    var summary: AlertSummary

    enum Keys: String, CodingKey { case state, warning, critical, enabled }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.state, summary.state.rawValue)
        try o(.warning, summary.warning)
        try o(.critical, summary.critical)
        try o(.enabled, summary.enabled)
    }
}

struct ActiveAlertDTO: Encodable {
    var alert: ActiveAlert

    enum Keys: String, CodingKey { case rule, subject, severity, value, threshold, since, incident_id }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.rule, alert.rule)
        try o(.subject, alert.subject)
        try o(.severity, alert.severity.rawValue)
        try o(.value, rounded(alert.value))
        try o(.threshold, alert.threshold)
        try o(.since, alert.since.rfc3339)
        try o(.incident_id, alert.incidentID)
    }
}

/// `GET /api/v1/alerts`.
struct AlertsDTO: Encodable {
    var summary: AlertSummary
    var alerts: [ActiveAlert]

    enum Keys: String, CodingKey { case summary, alerts }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.summary, AlertSummaryDTO(summary: summary))
        try o(.alerts, alerts.map(ActiveAlertDTO.init))
    }
}

struct IncidentDTO: Encodable {
    var incident: Incident
    var now: Timestamp

    enum Keys: String, CodingKey {
        case id, rule, subject, severity, started_at, ended_at, duration_seconds, peak_value, peak_at, last_value, threshold, message
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.id, incident.id)
        try o(.rule, incident.rule)
        try o(.subject, incident.subject)
        try o(.severity, incident.severity.rawValue)
        try o(.started_at, incident.startedAt.rfc3339)
        try o(.ended_at, incident.endedAt?.rfc3339)
        try o(.duration_seconds, rounded(incident.durationSeconds(now: now), 3))
        try o(.peak_value, rounded(incident.peakValue))
        try o(.peak_at, incident.peakAt.rfc3339)
        try o(.last_value, rounded(incident.lastValue))
        try o(.threshold, incident.threshold)
        try o(.message, incident.message)
    }
}

/// `GET /api/v1/incidents`.
struct IncidentsDTO: Encodable {
    var from: Timestamp
    var to: Timestamp
    var incidents: [Incident]
    var now: Timestamp

    enum Keys: String, CodingKey { case from, to, count, incidents }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.from, from.rfc3339)
        try o(.to, to.rfc3339)
        try o(.count, incidents.count)
        try o(.incidents, incidents.map { IncidentDTO(incident: $0, now: now) })
    }
}

// MARK: - Reports

struct MetricSummaryDTO: Encodable {
    var summary: PeriodReport.MetricSummary

    enum Keys: String, CodingKey { case min, avg, p95, max, samples }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.min, summary.minimum.map { rounded($0) })
        try o(.avg, summary.average.map { rounded($0) })
        try o(.p95, summary.p95.map { rounded($0) })
        try o(.max, summary.maximum.map { rounded($0) })
        try o(.samples, summary.samples)
    }
}

struct ServiceAvailabilityDTO: Encodable {
    var service: PeriodReport.ServiceAvailability

    enum Keys: String, CodingKey { case name, availability_percent, downtime_seconds, incidents }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, service.name)
        try o(.availability_percent, rounded(service.availabilityPercent, 3))
        try o(.downtime_seconds, rounded(service.downtimeSeconds, 3))
        try o(.incidents, service.incidents)
    }
}

/// `GET /api/v1/reports/{period}`: ``PeriodReport`` (computed in the runtime).
struct ReportDTO: Encodable {
    var report: PeriodReport

    enum Keys: String, CodingKey { case period, from, to, metrics, incidents, services }
    enum MetricKeys: String, CodingKey { case cpu_usage_percent, memory_usage_percent, disk_usage_percent, load_one_minute }
    enum IncidentKeys: String, CodingKey { case total, warning, critical, by_rule, items }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.period, report.period.rawValue)
        try o(.from, report.from.rfc3339)
        try o(.to, report.to.rfc3339)
        var metrics = o.container.nestedContainer(keyedBy: MetricKeys.self, forKey: .metrics)
        try metrics.encode(MetricSummaryDTO(summary: report.cpuUsagePercent), forKey: .cpu_usage_percent)
        try metrics.encode(MetricSummaryDTO(summary: report.memoryUsagePercent), forKey: .memory_usage_percent)
        try metrics.encode(MetricSummaryDTO(summary: report.diskUsagePercent), forKey: .disk_usage_percent)
        try metrics.encode(MetricSummaryDTO(summary: report.loadOneMinute), forKey: .load_one_minute)
        var incidents = o.container.nestedContainer(keyedBy: IncidentKeys.self, forKey: .incidents)
        try incidents.encode(report.incidents.count, forKey: .total)
        try incidents.encode(report.warningIncidents, forKey: .warning)
        try incidents.encode(report.criticalIncidents, forKey: .critical)
        try incidents.encode(report.incidentsByRule, forKey: .by_rule)
        try incidents.encode(report.incidents.map { IncidentDTO(incident: $0, now: report.to) }, forKey: .items)
        try o(.services, report.services.map(ServiceAvailabilityDTO.init))
    }
}
