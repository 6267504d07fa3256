//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// Full Foundation links the ICU time-zone data that TimeZone(identifier:) needs on Linux.
import Foundation
public import FoundationEssentials

/// A report over a period (`GET /api/v1/reports/{period}`): the headline metrics summarised from the per-minute
/// rollups, the incidents of the period, each service's availability, and the capacity trend of every filesystem and
/// of memory at the period's end.
///
/// The period is either rolling (the 24 hours, 7 days or 30 days ending at an instant) or a calendar period of the
/// configured time zone (the local day, Monday-to-Monday week or month containing a date), which on a day a clock
/// change falls on is 23 or 25 hours long. Both are half-open, `[from, to)`.
///
/// min / avg / max of a metric are exact over every sample of the period; p95 is the 95th percentile (nearest rank) of
/// the per-minute averages. A service's availability is 100 % minus the share of the period its `service` rule
/// incidents covered.
public struct PeriodReport: Sendable, Hashable {
    /// The report periods and their lengths: a day, a week, 30 days.
    public enum Period: String, Sendable, Hashable, CaseIterable {
        case daily, weekly, monthly

        /// The rolling period's length in seconds.
        public var seconds: Int64 {
            switch self {
            case .daily: 86_400
            case .weekly: 7 * 86_400
            case .monthly: 30 * 86_400
            }
        }

        /// The window the report's capacity trends are fitted over, ending at the report's end: 7 days for the daily
        /// and weekly reports, 30 days for the monthly one (the two windows of `GET /api/v1/capacity`).
        public var capacityWindowDays: Int64 {
            self == .monthly ? 30 : 7
        }

        /// The local calendar period containing `date` in `zone`, in milliseconds since the epoch: the day, the week
        /// from Monday 00:00 to the next Monday 00:00, or the month. Each bound is the first instant of its local date
        /// (00:00, or the first existing time where a clock change skips midnight), so the length follows the clock
        /// changes: 23 h for 2026-03-29 and 25 h for 2026-10-25 in Europe/Berlin. Nil when Foundation's calendar
        /// cannot place the date.
        public func calendarRange(containing date: CalendarDate, in zone: TimeZone) -> (from: Int64, to: Int64)? {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            calendar.firstWeekday = 2
            calendar.minimumDaysInFirstWeek = 4
            guard let noon = calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day, hour: 12)) else { return nil }
            let component: Calendar.Component =
                switch self {
                case .daily: .day
                case .weekly: .weekOfYear
                case .monthly: .month
                }
            guard let interval = calendar.dateInterval(of: component, for: noon) else { return nil }
            return (Int64((interval.start.timeIntervalSince1970 * 1000).rounded()), Int64((interval.end.timeIntervalSince1970 * 1000).rounded()))
        }
    }

    /// A date of the proleptic Gregorian calendar, as `YYYY-MM-DD`.
    public struct CalendarDate: Sendable, Hashable, CustomStringConvertible {
        public var year: Int
        public var month: Int
        public var day: Int

        /// The years a client may name: every period of them lies within ``Timestamp/acceptedRange`` give or take a day.
        public static let acceptedYears = 1970...2199

        /// `YYYY-MM-DD` with a real date of a year in ``acceptedYears``; nil for anything else (`2026-02-30`, `2026-3-1`).
        public init?(_ text: some StringProtocol) {
            let bytes = Array(text.utf8)
            guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for byte in bytes[range] {
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                }
                return value
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), Self.acceptedYears.contains(year),
                (1...12).contains(month), day >= 1, day <= Self.days(inMonth: month, of: year)
            else { return nil }
            self.init(year: year, month: month, day: day)
        }

        public init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        public static func days(inMonth month: Int, of year: Int) -> Int {
            switch month {
            case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
        }

        public var description: String {
            func padded(_ value: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(value).count)) + String(value) }
            return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
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
    /// Start of the period (included).
    public var from: Timestamp
    /// End of the period (excluded).
    public var to: Timestamp
    /// The local date whose calendar period this is; nil for a rolling period.
    public var date: CalendarDate? = nil
    /// The IANA name of the zone the local times are given in (`[reports] time_zone`, else the host's).
    public var timeZone: String = "UTC"
    /// The zone's offset from UTC at `from` and just before `to`, in seconds (3600 for CET, 7200 for CEST).
    public var fromOffsetSeconds = 0
    public var toOffsetSeconds = 0
    /// The capacity trend of every filesystem and of memory over the ``Period/capacityWindowDays`` ending at `to`, from
    /// ``CapacityForecast/trends(store:settings:from:to:now:)`` (the fit `GET /api/v1/capacity` uses).
    public var capacity: [CapacityTrend] = []
    /// Start of the capacity window (milliseconds since the epoch); it ends at `to`.
    public var capacityFrom: Int64 = 0
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

    /// The period's length in seconds: 86 400 for most days, 82 800 or 90 000 on the days of a clock change.
    public var lengthSeconds: Int64 { (to.millisecondsSinceEpoch - from.millisecondsSinceEpoch) / 1000 }

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

    /// Which stretch of time a report covers.
    public enum Span: Sendable, Hashable {
        /// The period's length (``Period/seconds``) ending at this instant (milliseconds since the epoch).
        case rolling(to: Int64)
        /// The local calendar period containing this date (``Period/calendarRange(containing:in:)``).
        case calendar(CalendarDate)
    }

    /// Builds the report of `period` over `span`, with local times in `zone`; `now` (milliseconds) lets the capacity
    /// query choose its history tier.
    /// - Throws: the history or incident database's read errors; ``ReportError`` when the calendar cannot place the date.
    public static func build(
        period: Period, span: Span, zone: TimeZone, store: HistoryStore, settings: HistorySettings, incidents: IncidentStore?, now: Int64
    ) async throws -> PeriodReport {
        let from: Int64
        let to: Int64
        var date: CalendarDate?
        switch span {
        case .rolling(let end):
            (from, to) = (end - period.seconds * 1000, end)
        case .calendar(let day):
            guard let range = period.calendarRange(containing: day, in: zone) else { throw ReportError(message: "no calendar period contains \(day) in \(zone.identifier)") }
            (from, to, date) = (range.from, range.to, day)
        }
        func summary(_ name: String) async throws -> MetricSummary {
            guard let series = try await store.series(named: name).first(where: { $0.key.labels.isEmpty }) else { return MetricSummary() }
            // Minute buckets starting in [from, to): the bucket starting at `to` belongs to the next period.
            return summarize(try await store.rollups(.minute, series: series.id, from: floorDiv(from + 999, 1000), to: floorDiv(to - 1, 1000)))
        }
        let fromTime = Timestamp(millisecondsSinceEpoch: from)
        let toTime = Timestamp(millisecondsSinceEpoch: to)
        let list = try await incidents?.incidents(from: fromTime, to: toTime, limit: 10_000) ?? []
        let capacityFrom = to - period.capacityWindowDays * 86_400_000
        // Hourly buckets starting in [capacityFrom, to): none after the period.
        let capacity = try await CapacityForecast.trends(store: store, settings: settings, from: capacityFrom, to: to - 1, now: now)
        func offset(_ milliseconds: Int64) -> Int { zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(milliseconds) / 1000)) }
        return PeriodReport(
            period: period, from: fromTime, to: toTime, date: date, timeZone: zone.identifier, fromOffsetSeconds: offset(from),
            toOffsetSeconds: offset(to - 1), capacity: capacity, capacityFrom: capacityFrom, cpuUsagePercent: try await summary(MetricName.cpuUsagePercent),
            memoryUsagePercent: try await summary(MetricName.memoryUsagePercent), diskUsagePercent: try await summary(MetricName.diskUsagePercent),
            loadOneMinute: try await summary(MetricName.load1), incidents: list, services: availability(of: list, from: fromTime, to: toTime))
    }

    /// A report that cannot be built for the parameters given.
    public struct ReportError: Error, Sendable {
        public var message: String
    }

    /// `milliseconds` as local time at `offsetSeconds` from UTC, RFC 3339 with the offset: `2026-03-29T00:00:00+01:00`.
    public static func localTime(_ milliseconds: Int64, offsetSeconds: Int) -> String {
        let shifted = Timestamp(millisecondsSinceEpoch: floorDiv(milliseconds, 1000) * 1000 + Int64(offsetSeconds) * 1000).rfc3339
        let sign = offsetSeconds < 0 ? "-" : "+"
        let minutes = abs(offsetSeconds) / 60
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        // rfc3339 is `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+00:00`: keep the first 19 characters.
        return String(shifted.prefix(19)) + sign + two(minutes / 60) + ":" + two(minutes % 60)
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
