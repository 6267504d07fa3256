//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Foundation
import Logging
import Testing

/// Calendar reports in a configured time zone (the days the clocks change included) and the capacity trend they carry,
/// against boundaries, sums and dates computed by hand.
struct PeriodReportTests {
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    /// `[from, to, length in seconds]` of the calendar period.
    static func range(_ period: PeriodReport.Period, _ date: String, _ zone: TimeZone = berlin) throws -> [String] {
        let day = try #require(PeriodReport.CalendarDate(date))
        let range = try #require(period.calendarRange(containing: day, in: zone))
        return [Timestamp(millisecondsSinceEpoch: range.from).rfc3339, Timestamp(millisecondsSinceEpoch: range.to).rfc3339, "\((range.to - range.from) / 1000)"]
    }

    /// Europe/Berlin: CET (+01:00) until 2026-03-29 02:00 local, then CEST (+02:00) until 2026-10-25 03:00 local. Local
    /// midnight is 23:00Z in winter and 22:00Z in summer, so 2026-03-29 runs 23:00Z → 22:00Z (23 h) and 2026-10-25
    /// 22:00Z → 23:00Z (25 h).
    @Test func calendarDaysWeeksAndMonthsFollowTheClockChanges() throws {
        #expect(try Self.range(.daily, "2026-03-29") == ["2026-03-28T23:00:00.000000000+00:00", "2026-03-29T22:00:00.000000000+00:00", "82800"])
        #expect(try Self.range(.daily, "2026-10-25") == ["2026-10-24T22:00:00.000000000+00:00", "2026-10-25T23:00:00.000000000+00:00", "90000"])
        #expect(try Self.range(.daily, "2026-03-28") == ["2026-03-27T23:00:00.000000000+00:00", "2026-03-28T23:00:00.000000000+00:00", "86400"])
        // 2026-03-29 is a Sunday: its week runs from Monday 2026-03-23 00:00 CET to Monday 2026-03-30 00:00 CEST, 7 days less an hour.
        #expect(try Self.range(.weekly, "2026-03-29") == ["2026-03-22T23:00:00.000000000+00:00", "2026-03-29T22:00:00.000000000+00:00", "601200"])
        #expect(try Self.range(.weekly, "2026-03-23").first == "2026-03-22T23:00:00.000000000+00:00")
        // October 2026: 31 days and the hour given back on the 25th.
        #expect(try Self.range(.monthly, "2026-10-01") == ["2026-09-30T22:00:00.000000000+00:00", "2026-10-31T23:00:00.000000000+00:00", "2682000"])
        #expect(try Self.range(.monthly, "2026-03-31").last == "\(31 * 86_400 - 3600)")
        // New York changes on 2026-03-08 (second Sunday of March): EST −05:00 midnight is 05:00Z, the next one EDT 04:00Z.
        let newYork = try #require(TimeZone(identifier: "America/New_York"))
        #expect(try Self.range(.daily, "2026-03-08", newYork) == ["2026-03-08T05:00:00.000000000+00:00", "2026-03-09T04:00:00.000000000+00:00", "82800"])
        // UTC has no change; a leap day is a day.
        #expect(try Self.range(.daily, "2024-02-29", try #require(TimeZone(identifier: "UTC"))).last == "86400")
    }

    @Test func datesAreRealCalendarDatesOfTheAcceptedYears() {
        #expect(PeriodReport.CalendarDate("2026-03-29") == PeriodReport.CalendarDate(year: 2026, month: 3, day: 29))
        #expect(PeriodReport.CalendarDate("2024-02-29")?.description == "2024-02-29")
        #expect(PeriodReport.CalendarDate("2000-02-29") != nil)
        for bad in ["2026-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-3-29", "2026-03-29T00:00:00Z", "1969-12-31", "2200-01-01", "２026-03-29", ""] {
            #expect(PeriodReport.CalendarDate(bad) == nil, "\(bad)")
        }
    }

    @Test func localTimesCarryTheirOffset() {
        #expect(PeriodReport.localTime(1_774_738_800_000, offsetSeconds: 3600) == "2026-03-29T00:00:00+01:00")
        #expect(PeriodReport.localTime(1_774_821_600_000, offsetSeconds: 7200) == "2026-03-30T00:00:00+02:00")
        #expect(PeriodReport.localTime(1_772_946_000_000, offsetSeconds: -18_000) == "2026-03-08T00:00:00-05:00")
        #expect(PeriodReport.localTime(1_772_946_000_500, offsetSeconds: 19_800) == "2026-03-08T10:30:00+05:30")
    }

    @Test func anUnknownTimeZoneIsAConfigurationError() throws {
        let base = ConfigLoaderTests()
        let found = base.issues("[reports]\ntime_zone = \"Mars/Olympus_Mons\"\n")
        #expect(found.map(\.description) == ["F:2: reports.time_zone: unknown time zone \"Mars/Olympus_Mons\": expected an IANA zone name such as \"Europe/Berlin\" or \"UTC\""])
        let path = base.file("[reports]\ntime_zone = \"Europe/Berlin\"\n")
        defer { unlink(path) }
        let configuration = try base.loader.load(path: path, environment: [:])
        #expect(configuration.reports.timeZone == "Europe/Berlin")
        #expect(configuration.reports.resolvedTimeZone.secondsFromGMT(for: Date(timeIntervalSince1970: 1_774_738_800)) == 3600)
        #expect(try base.loader.load(path: nil, environment: ["VIWORKS_REPORTS_TIME_ZONE": "UTC"]).reports.timeZone == "UTC")
        #expect(try base.loader.load(path: nil, environment: [:]).reports.timeZone == nil)
        // Read at start: a reload that changes it is logged as taking effect after a restart.
        #expect(ReloadCoordinator.changedKeys(from: AgentConfiguration(), to: configuration) == ["reports"])
    }

    static func store() throws -> (HistoryStore, HistoryWriter<ContinuousClock>) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("viworks-report-\(UInt64.random(in: 0...UInt64.max))")
        let store = HistoryStore(database: try HistoryDatabase(path: directory.appendingPathComponent("history.db").path))
        let writer = HistoryWriter(store: store, bus: nil, settings: HistorySettings(), clock: ContinuousClock(), logger: Logger(label: "test"))
        return (store, writer)
    }

    /// One CPU sample a minute from an hour before the local day 2026-03-29 (Europe/Berlin) to an hour after it: 90
    /// outside the day, 20 in its first local hour (23:00Z–00:00Z), 10 for the remaining 22 hours. The 23-hour day
    /// holds 23 × 60 = 1380 samples: min 10, max 20, avg (60 × 20 + 1320 × 10) / 1380 = 14400 / 1380 = 10.434782…,
    /// p95 the 1311th (⌈0.95 × 1380⌉) smallest per-minute average, 10. The 25-hour 2026-10-25 holds 1500.
    @Test func aDaylightSavingDayReportSumsItsTwentyThreeHours() async throws {
        let (store, writer) = try Self.store()
        let cpu = SeriesKey(name: MetricName.cpuUsagePercent, labels: [])
        for (from, to) in [(Int64(1_774_738_800_000), Int64(1_774_821_600_000)), (1_792_879_200_000, 1_792_969_200_000)] {
            var time = from - 3_600_000
            while time < to + 3_600_000 {
                let value: Double = time < from || time >= to ? 90 : time < from + 3_600_000 ? 20 : 10
                writer.record(HistorySample(milliseconds: time, value: value), series: cpu)
                time += 60_000
            }
        }
        try await writer.flush()
        let march = try await PeriodReport.build(
            period: .daily, span: .calendar(PeriodReport.CalendarDate(year: 2026, month: 3, day: 29)), zone: Self.berlin, store: store,
            settings: HistorySettings(), incidents: nil, now: 1_774_821_600_000)
        #expect(march.from.rfc3339 == "2026-03-28T23:00:00.000000000+00:00")
        #expect(march.to.rfc3339 == "2026-03-29T22:00:00.000000000+00:00")
        #expect(march.lengthSeconds == 82_800)
        #expect(march.timeZone == "Europe/Berlin")
        #expect(march.fromOffsetSeconds == 3600 && march.toOffsetSeconds == 7200)
        #expect(march.cpuUsagePercent.samples == 1380)
        #expect(march.cpuUsagePercent.minimum == 10)
        #expect(march.cpuUsagePercent.maximum == 20)
        #expect(abs((march.cpuUsagePercent.average ?? 0) - 14_400.0 / 1380) < 1e-9)
        #expect(march.cpuUsagePercent.p95 == 10)
        #expect(march.memoryUsagePercent.samples == 0 && march.memoryUsagePercent.average == nil)

        let october = try await PeriodReport.build(
            period: .daily, span: .calendar(PeriodReport.CalendarDate(year: 2026, month: 10, day: 25)), zone: Self.berlin, store: store,
            settings: HistorySettings(), incidents: nil, now: 1_792_969_200_000)
        #expect(october.lengthSeconds == 90_000)
        #expect(october.fromOffsetSeconds == 7200 && october.toOffsetSeconds == 3600)
        // 60 × 20 + 1440 × 10 = 15600 over 1500 samples: 10.4.
        #expect(october.cpuUsagePercent.samples == 1500)
        #expect(abs((october.cpuUsagePercent.average ?? 0) - 10.4) < 1e-9)

        // The rolling day ending at the March day's end starts an hour before it (in the 90s).
        let rolling = try await PeriodReport.build(
            period: .daily, span: .rolling(to: 1_774_821_600_000), zone: Self.berlin, store: store, settings: HistorySettings(), incidents: nil,
            now: 1_774_821_600_000)
        #expect(rolling.date == nil && rolling.lengthSeconds == 86_400)
        #expect(rolling.cpuUsagePercent.samples == 1440)
        #expect(rolling.cpuUsagePercent.maximum == 90)
    }

    /// The root filesystem grows 1 point a day from 50 % at 2026-03-15T00:30Z (one sample an hour at :30, so each hourly
    /// average sits at its mid-hour point exactly on the line): it reaches 100 % 50 days later, 2026-05-04T00:30:00Z.
    /// Memory stays at 40 %: slope 0, no date. The daily report of 2026-03-29 fits the 7 days before its end.
    @Test func aReportCarriesTheCapacityProjectionOfTheForecast() async throws {
        let (store, writer) = try Self.store()
        let root = SeriesKey(name: MetricName.filesystemUsagePercent, labels: [MetricLabel("mountpoint", "/")])
        let memory = SeriesKey(name: MetricName.memoryUsagePercent, labels: [])
        let start: Int64 = 1_773_532_800_000  // 2026-03-15T00:00:00Z
        for hour in 0..<400 {
            let time = start + Int64(hour) * 3_600_000 + 1_800_000
            writer.record(HistorySample(milliseconds: time, value: 50 + Double(hour) / 24), series: root)
            writer.record(HistorySample(milliseconds: time, value: 40), series: memory)
        }
        try await writer.flush()
        let report = try await PeriodReport.build(
            period: .daily, span: .calendar(PeriodReport.CalendarDate(year: 2026, month: 3, day: 29)), zone: Self.berlin, store: store,
            settings: HistorySettings(), incidents: nil, now: 1_774_821_600_000)
        #expect(report.capacityFrom == 1_774_821_600_000 - 7 * 86_400_000)
        #expect(report.capacity.map(\.resource) == [CapacityTrend.Resource.filesystem, CapacityTrend.Resource.memory])
        let disk = try #require(report.capacity.first)
        #expect(disk.series == root)
        #expect(disk.projectedFull?.rfc3339 == "2026-05-04T00:30:00.000000000+00:00")
        #expect(abs((disk.slopePercentPerDay ?? 0) - 1) < 1e-9)
        // 7 × 24 hourly points, the last the hour 21:00Z–22:00Z of 2026-03-29 (hour 357 since the start).
        #expect(disk.points.count == 168)
        let expectedCurrent: Double = 50 + 357.0 / 24
        let current = try #require(disk.currentPercent)
        #expect(abs(current - expectedCurrent) < 1e-9)
        let flat = try #require(report.capacity.last)
        #expect(flat.projectedFull == nil)
        let flatSlope = try #require(flat.slopePercentPerDay)
        #expect(abs(flatSlope) < 1e-9)
        // The same trends as the capacity route's fit over the same window: one computation.
        let direct = try await CapacityForecast.trends(
            store: store, settings: HistorySettings(), from: report.capacityFrom, to: report.to.millisecondsSinceEpoch - 1, now: 1_774_821_600_000)
        #expect(direct == report.capacity)
        // The monthly report fits 30 days.
        let monthly = try await PeriodReport.build(
            period: .monthly, span: .calendar(PeriodReport.CalendarDate(year: 2026, month: 3, day: 29)), zone: Self.berlin, store: store,
            settings: HistorySettings(), incidents: nil, now: 1_775_000_000_000)
        #expect(monthly.capacityFrom == monthly.to.millisecondsSinceEpoch - 30 * 86_400_000)
        #expect(monthly.capacity.first?.projectedFull?.rfc3339 == "2026-05-04T00:30:00.000000000+00:00")
    }
}
