//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// A report over a period (`GET /api/v1/reports/{period}`): the headline metrics summarised from the per-minute
/// rollups, the incidents of the period, and each service's availability.
///
/// min / avg / max of a metric are exact over every sample of the period; p95 is the 95th percentile (nearest rank) of
/// the per-minute averages. A service's availability is 100 % minus the share of the period its `service` rule
/// incidents covered.
public struct PeriodReport: Sendable, Hashable {
    /// The report periods and their lengths: a day, a week, 30 days.
    public enum Period: String, Sendable, Hashable, CaseIterable {
        case daily, weekly, monthly

        /// The period's length in seconds.
        public var seconds: Int64 {
            switch self {
            case .daily: 86_400
            case .weekly: 7 * 86_400
            case .monthly: 30 * 86_400
            }
        }
    }

    /// Summary of one metric; every figure is nil when the period has no sample.
    public struct MetricSummary: Sendable, Hashable {
        public var minimum: Double?
        public var average: Double?
        /// 95th percentile (nearest rank) of the per-minute averages.
        public var p95: Double?
        public var maximum: Double?
        /// Samples over the period.
        public var samples: Int64

        public init(minimum: Double? = nil, average: Double? = nil, p95: Double? = nil, maximum: Double? = nil, samples: Int64 = 0) {
            self.minimum = minimum
            self.average = average
            self.p95 = p95
            self.maximum = maximum
            self.samples = samples
        }
    }

    /// One service's availability over the period.
    public struct ServiceAvailability: Sendable, Hashable {
        public var name: String
        /// 0–100: the share of the period not covered by the service's incidents.
        public var availabilityPercent: Double
        /// Seconds of the period covered by its incidents.
        public var downtimeSeconds: Double
        /// Incidents of the service that overlap the period.
        public var incidents: Int
    }

    public var period: Period
    public var from: Timestamp
    public var to: Timestamp
    /// `viworks_cpu_usage_percent`.
    public var cpuUsagePercent: MetricSummary
    /// `viworks_memory_usage_percent`.
    public var memoryUsagePercent: MetricSummary
    /// `viworks_disk_usage_percent` (the root filesystem).
    public var diskUsagePercent: MetricSummary
    /// `viworks_load1`.
    public var loadOneMinute: MetricSummary
    /// Incidents that overlap the period, as the incident store lists them.
    public var incidents: [Incident]
    /// Services with at least one incident in the period, by name.
    public var services: [ServiceAvailability]

    /// Incidents whose highest severity was warning.
    public var warningIncidents: Int { incidents.filter { $0.severity == .warning }.count }
    /// Incidents that reached critical.
    public var criticalIncidents: Int { incidents.filter { $0.severity == .critical }.count }
    /// Incident count per rule.
    public var incidentsByRule: [String: Int] {
        var byRule: [String: Int] = [:]
        for incident in incidents { byRule[incident.rule, default: 0] += 1 }
        return byRule
    }

    /// Builds the report of `period` ending at `to` (Unix milliseconds).
    /// - Throws: the history or incident database's read errors.
    public static func build(period: Period, to: Int64, store: HistoryStore, incidents: IncidentStore?) async throws -> PeriodReport {
        let from = to - period.seconds * 1000
        func summary(_ name: String) async throws -> MetricSummary {
            guard let series = try await store.series(named: name).first(where: { $0.key.labels.isEmpty }) else { return MetricSummary() }
            return summarize(try await store.rollups(.minute, series: series.id, from: floorDiv(from, 1000), to: floorDiv(to, 1000)))
        }
        let fromTime = Timestamp(millisecondsSinceEpoch: from)
        let toTime = Timestamp(millisecondsSinceEpoch: to)
        let list = try await incidents?.incidents(from: fromTime, to: toTime, limit: 10_000) ?? []
        return PeriodReport(
            period: period, from: fromTime, to: toTime, cpuUsagePercent: try await summary(MetricName.cpuUsagePercent),
            memoryUsagePercent: try await summary(MetricName.memoryUsagePercent), diskUsagePercent: try await summary(MetricName.diskUsagePercent),
            loadOneMinute: try await summary(MetricName.load1), incidents: list, services: availability(of: list, from: fromTime, to: toTime))
    }

    /// min / avg / max over every sample of the rows; p95 of their per-minute averages (nearest rank).
    public static func summarize(_ rows: [RollupRow]) -> MetricSummary {
        guard var total = rows.first?.aggregate else { return MetricSummary() }
        for row in rows.dropFirst() { total.merge(row.aggregate) }
        let averages = rows.map(\.aggregate.average).sorted()
        // Nearest rank: the smallest value with at least 95 % of the values at or below it.
        let rank = max(1, Int((0.95 * Double(averages.count)).rounded(.up)))
        return MetricSummary(minimum: total.minimum, average: total.average, p95: averages[rank - 1], maximum: total.maximum, samples: total.count)
    }

    /// The availability of every service with a `service` incident in `from...to`: the part of each incident inside the
    /// period counts as downtime; a zero-length period is 100 % available.
    public static func availability(of incidents: [Incident], from: Timestamp, to: Timestamp) -> [ServiceAvailability] {
        var services: [String: (down: Double, count: Int)] = [:]
        for incident in incidents where incident.rule == "service" {
            let start = max(incident.startedAt.nanosecondsSinceEpoch, from.nanosecondsSinceEpoch)
            let end = min((incident.endedAt ?? to).nanosecondsSinceEpoch, to.nanosecondsSinceEpoch)
            services[incident.subject, default: (0, 0)].down += Double(max(0, end - start)) / 1e9
            services[incident.subject, default: (0, 0)].count += 1
        }
        let span = Double(to.millisecondsSinceEpoch - from.millisecondsSinceEpoch) / 1000
        return services.keys.sorted().map { name in
            let entry = services[name] ?? (0, 0)
            return ServiceAvailability(
                name: name, availabilityPercent: span > 0 ? max(0, 100 * (1 - entry.down / span)) : 100, downtimeSeconds: entry.down,
                incidents: entry.count)
        }
    }
}
