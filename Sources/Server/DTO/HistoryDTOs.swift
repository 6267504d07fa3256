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
            try o(.one_minute, values["viworks_load1"].map { rounded($0) })
            try o(.five_minutes, values["viworks_load5"].map { rounded($0) })
            try o(.fifteen_minutes, values["viworks_load15"].map { rounded($0) })
        }
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.timestamp, Timestamp(millisecondsSinceEpoch: milliseconds).rfc3339)
        try o(.cpu_usage_percent, values["viworks_cpu_usage_percent"].map { rounded($0) })
        try o(.memory_usage_percent, values["viworks_memory_usage_percent"].map { rounded($0) })
        try o(.disk_usage_percent, values["viworks_disk_usage_percent"].map { rounded($0) })
        try o(.load_average, LoadPointDTO(values: values))
        try o(.temperature, values["viworks_cpu_temperature_celsius"].map { rounded($0) })
        try o(.uptime_seconds, values["viworks_uptime_seconds"].map { rounded($0, 0) })
    }

    /// The series of each field (host-wide series carry no labels).
    static let metricNames = [
        "viworks_cpu_usage_percent", "viworks_memory_usage_percent", "viworks_disk_usage_percent", "viworks_load1", "viworks_load5", "viworks_load15",
        "viworks_cpu_temperature_celsius", "viworks_uptime_seconds",
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
    var minimum: Double?
    var average: Double?
    var p95: Double?
    var maximum: Double?
    var samples: Int64

    enum Keys: String, CodingKey { case min, avg, p95, max, samples }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.min, minimum.map { rounded($0) })
        try o(.avg, average.map { rounded($0) })
        try o(.p95, p95.map { rounded($0) })
        try o(.max, maximum.map { rounded($0) })
        try o(.samples, samples)
    }
}

struct ServiceAvailabilityDTO: Encodable {
    var name: String
    var availabilityPercent: Double
    var downtimeSeconds: Double
    var incidents: Int

    enum Keys: String, CodingKey { case name, availability_percent, downtime_seconds, incidents }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, name)
        try o(.availability_percent, rounded(availabilityPercent, 3))
        try o(.downtime_seconds, rounded(downtimeSeconds, 3))
        try o(.incidents, incidents)
    }
}

/// `GET /api/v1/reports/{period}`.
struct ReportDTO: Encodable {
    var period: String
    var from: Timestamp
    var to: Timestamp
    var metrics: [(String, MetricSummaryDTO)]
    var incidents: [Incident]
    var services: [ServiceAvailabilityDTO]

    enum Keys: String, CodingKey { case period, from, to, metrics, incidents, services }
    enum MetricKeys: String, CodingKey { case cpu_usage_percent, memory_usage_percent, disk_usage_percent, load_one_minute }
    enum IncidentKeys: String, CodingKey { case total, warning, critical, by_rule, items }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.period, period)
        try o(.from, from.rfc3339)
        try o(.to, to.rfc3339)
        var metricsContainer = o.container.nestedContainer(keyedBy: MetricKeys.self, forKey: .metrics)
        for (name, summary) in metrics {
            if let key = MetricKeys(rawValue: name) { try metricsContainer.encode(summary, forKey: key) }
        }
        var incidentsContainer = o.container.nestedContainer(keyedBy: IncidentKeys.self, forKey: .incidents)
        try incidentsContainer.encode(incidents.count, forKey: .total)
        try incidentsContainer.encode(incidents.filter { $0.severity == .warning }.count, forKey: .warning)
        try incidentsContainer.encode(incidents.filter { $0.severity == .critical }.count, forKey: .critical)
        var byRule: [String: Int] = [:]
        for incident in incidents { byRule[incident.rule, default: 0] += 1 }
        try incidentsContainer.encode(byRule, forKey: .by_rule)
        try incidentsContainer.encode(incidents.map { IncidentDTO(incident: $0, now: to) }, forKey: .items)
        try o(.services, services)
    }
}
