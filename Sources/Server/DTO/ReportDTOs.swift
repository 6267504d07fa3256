//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

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

/// `GET /api/v1/reports/{period}`: ``PeriodReport`` (computed in the runtime). `from` and `to` in UTC, `from_local` and
/// `to_local` in the report's `time_zone`, `length_seconds`, `date` (the calendar date asked, or null for a rolling
/// period) and `capacity` (the shape of `GET /api/v1/capacity`, over the window ending at `to`).
struct ReportDTO: Encodable {
    var report: PeriodReport

    enum Keys: String, CodingKey { case period, from, to, metrics, incidents, services, date, time_zone, from_local, to_local, length_seconds, capacity }
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
        try o(.date, report.date?.description)
        try o(.time_zone, report.timeZone)
        try o(.from_local, PeriodReport.localTime(report.from.millisecondsSinceEpoch, offsetSeconds: report.fromOffsetSeconds))
        try o(.to_local, PeriodReport.localTime(report.to.millisecondsSinceEpoch, offsetSeconds: report.toOffsetSeconds))
        try o(.length_seconds, report.lengthSeconds)
        try o(
            .capacity,
            CapacityDTO(window: "\(report.period.capacityWindowDays)d", from: report.capacityFrom, to: report.to.millisecondsSinceEpoch, trends: report.capacity))
    }
}
