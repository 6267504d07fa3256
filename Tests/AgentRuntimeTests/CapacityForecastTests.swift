//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Testing

/// The least-squares line and the projected date of 100 %, against values computed by hand.
struct CapacityForecastTests {
    /// (0, 1), (1, 3), (2, 2): mean x 1, mean y 2, Sxx = 2, Sxy = 1 → slope 0.5, intercept 1.5; 100 at x = 197.
    @Test func theLeastSquaresLineOfThreePoints() throws {
        let fit = try #require(LinearFit.leastSquares([(0, 1), (1, 3), (2, 2)]))
        #expect(fit.slope == 0.5)
        #expect(fit.intercept == 1.5)
        #expect(fit.reaching(100) == 197)
        #expect(LinearFit.leastSquares([(5, 1)]) == nil)
        #expect(LinearFit.leastSquares([(5, 1), (5, 2)]) == nil)
        #expect(LinearFit(slope: 0, intercept: 3).reaching(100) == nil)
        #expect(LinearFit(slope: -1, intercept: 3).reaching(100) == nil)
    }

    /// 48 hourly averages from 2023-11-14T22:13:20Z (1 700 000 000 s) growing 1 point per day from 50 %: placed at
    /// mid-hour, the line is 50 % at 1 700 001 800 s and reaches 100 % 50 days later, at 1 704 321 800 s =
    /// 2024-01-03T22:43:20Z.
    @Test func aLinearGrowthProjectsTheHandComputedDate() throws {
        let start: Int64 = 1_700_000_000_000
        let points = (0..<48).map { HistoryPoint(milliseconds: start + Int64($0) * 3_600_000, value: 50 + Double($0) / 24) }
        let trend = CapacityForecast.trend(
            resource: .filesystem, series: SeriesKey(name: MetricName.filesystemUsagePercent, labels: [MetricLabel("mountpoint", "/")]), bucketStarts: points)
        #expect(trend.points.first?.milliseconds == start + 1_800_000)
        #expect(trend.projectedFull?.rfc3339 == "2024-01-03T22:43:20.000000000+00:00")
        #expect(trend.projectedFull?.millisecondsSinceEpoch == 1_704_321_800_000)
        let slope = try #require(trend.slopePercentPerDay)
        #expect(abs(slope - 1) < 1e-9)
        #expect(trend.currentPercent == 50 + 47.0 / 24)
    }

    @Test func aFallingOrFlatResourceHasNoDateAndAFullOneIsFullNow() {
        let start: Int64 = 1_700_000_000_000
        let falling = (0..<10).map { HistoryPoint(milliseconds: start + Int64($0) * 3_600_000, value: 80 - Double($0)) }
        #expect(CapacityForecast.trend(resource: .memory, series: SeriesKey(name: MetricName.memoryUsagePercent, labels: []), bucketStarts: falling).projectedFull == nil)
        let flat = (0..<10).map { HistoryPoint(milliseconds: start + Int64($0) * 3_600_000, value: 42) }
        #expect(CapacityForecast.trend(resource: .memory, series: SeriesKey(name: MetricName.memoryUsagePercent, labels: []), bucketStarts: flat).projectedFull == nil)
        // Already past 100 % on the line: full at the last point, not in the past.
        let full = (0..<10).map { HistoryPoint(milliseconds: start + Int64($0) * 3_600_000, value: 95 + Double($0)) }
        let trend = CapacityForecast.trend(resource: .memory, series: SeriesKey(name: MetricName.memoryUsagePercent, labels: []), bucketStarts: full)
        #expect(trend.projectedFull?.millisecondsSinceEpoch == start + 9 * 3_600_000 + 1_800_000)
        let one = CapacityForecast.trend(resource: .memory, series: SeriesKey(name: MetricName.memoryUsagePercent, labels: []), bucketStarts: [falling[0]])
        #expect(one.fit == nil && one.projectedFull == nil)
    }
}
