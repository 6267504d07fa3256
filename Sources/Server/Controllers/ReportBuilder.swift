//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// Builds `GET /api/v1/reports/{period}` from the per-minute rollups and the incidents:
/// min / avg / max of the headline metrics are exact over every sample of the period; p95 is the 95th percentile
/// (nearest rank) of the per-minute averages. Service availability is 100 % minus the time the service rule's
/// incidents covered within the period.
struct ReportBuilder {
    let store: HistoryStore
    let settings: HistorySettings
    let incidents: IncidentStore?

    static let metrics: [(field: String, series: String)] = [
        ("cpu_usage_percent", "viworks_cpu_usage_percent"), ("memory_usage_percent", "viworks_memory_usage_percent"),
        ("disk_usage_percent", "viworks_disk_usage_percent"), ("load_one_minute", "viworks_load1"),
    ]

    func build(period: String, from: Int64, to: Int64) async throws -> ReportDTO {
        var metrics: [(String, MetricSummaryDTO)] = []
        for (field, name) in Self.metrics {
            var summary = MetricSummaryDTO(minimum: nil, average: nil, p95: nil, maximum: nil, samples: 0)
            if let series = try await store.series(named: name).first(where: { $0.key.labels.isEmpty }) {
                let rows = try await store.rollups(.minute, series: series.id, from: floorDiv(from, 1000), to: floorDiv(to, 1000))
                summary = Self.summarize(rows)
            }
            metrics.append((field, summary))
        }
        let fromTime = Timestamp(millisecondsSinceEpoch: from)
        let toTime = Timestamp(millisecondsSinceEpoch: to)
        let list = try await incidents?.incidents(from: fromTime, to: toTime, limit: 10_000) ?? []
        var services: [String: (down: Double, count: Int)] = [:]
        for incident in list where incident.rule == "service" {
            let start = max(incident.startedAt.nanosecondsSinceEpoch, fromTime.nanosecondsSinceEpoch)
            let end = min((incident.endedAt ?? toTime).nanosecondsSinceEpoch, toTime.nanosecondsSinceEpoch)
            services[incident.subject, default: (0, 0)].down += Double(max(0, end - start)) / 1e9
            services[incident.subject, default: (0, 0)].count += 1
        }
        let span = Double(to - from) / 1000
        let availability = services.keys.sorted().map { name in
            let entry = services[name] ?? (0, 0)
            return ServiceAvailabilityDTO(
                name: name, availabilityPercent: span > 0 ? max(0, 100 * (1 - entry.down / span)) : 100, downtimeSeconds: entry.down, incidents: entry.count)
        }
        return ReportDTO(period: period, from: fromTime, to: toTime, metrics: metrics, incidents: list, services: availability)
    }

    static func summarize(_ rows: [RollupRow]) -> MetricSummaryDTO {
        guard var total = rows.first?.aggregate else { return MetricSummaryDTO(minimum: nil, average: nil, p95: nil, maximum: nil, samples: 0) }
        for row in rows.dropFirst() { total.merge(row.aggregate) }
        let averages = rows.map(\.aggregate.average).sorted()
        // Nearest rank: the smallest value with at least 95 % of the values at or below it.
        let rank = max(1, Int((0.95 * Double(averages.count)).rounded(.up)))
        return MetricSummaryDTO(minimum: total.minimum, average: total.average, p95: averages[rank - 1], maximum: total.maximum, samples: total.count)
    }
}
