//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// A straight line fitted by ordinary least squares: `value = intercept + slope · x`.
public struct LinearFit: Sendable, Hashable {
    /// Value units per x unit.
    public var slope: Double
    /// The value at x = 0.
    public var intercept: Double

    /// The least-squares line through `points`; nil with fewer than two distinct x values (no line is defined).
    public static func leastSquares(_ points: [(x: Double, y: Double)]) -> LinearFit? {
        guard points.count >= 2 else { return nil }
        let n = Double(points.count)
        // Centred sums: numerically stable with x in milliseconds since the epoch.
        let meanX = points.reduce(0) { $0 + $1.x } / n
        let meanY = points.reduce(0) { $0 + $1.y } / n
        var sxx = 0.0
        var sxy = 0.0
        for point in points {
            let dx = point.x - meanX
            sxx += dx * dx
            sxy += dx * (point.y - meanY)
        }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        return LinearFit(slope: slope, intercept: meanY - slope * meanX)
    }

    public func value(at x: Double) -> Double { intercept + slope * x }

    /// The x where the line reaches `level`; nil when it never does going forward (slope 0 or negative).
    public func reaching(_ level: Double) -> Double? {
        guard slope > 0 else { return nil }
        return (level - intercept) / slope
    }
}

/// The capacity trend of one resource: hourly averages over a window and the date the least-squares line through them
/// reaches 100 %.
public struct CapacityTrend: Sendable, Hashable {
    public enum Resource: String, Sendable {
        case filesystem
        case memory
    }

    public var resource: Resource
    /// The series (``MetricName/filesystemUsagePercent`` with its labels, or ``MetricName/memoryUsagePercent``).
    public var series: SeriesKey
    /// Hourly averages in percent, each at the middle of its hour (milliseconds since the epoch).
    public var points: [HistoryPoint]
    /// The fitted line, x in milliseconds since the epoch; nil with fewer than two hours of data.
    public var fit: LinearFit?
    /// When the line reaches 100 %, to the second: nil when it is flat or falling, or without a fit. Never before the last point:
    /// a resource already at or above 100 % is full now (the last point's time).
    public var projectedFull: Timestamp?

    /// The growth in percentage points per day.
    public var slopePercentPerDay: Double? { fit.map { $0.slope * 86_400_000 } }
    /// The newest hourly average.
    public var currentPercent: Double? { points.last?.value }
}

/// Capacity planning from stored history: per filesystem and for memory, the least-squares trend of the usage percent
/// over a window (7 or 30 days) and the projected date of reaching 100 %. The fit is computed here, not by clients, so
/// that the API, the reports and the dashboard agree.
public enum CapacityForecast {
    /// The width of the averaged buckets the line is fitted through.
    public static let bucketSeconds: Int64 = 3600

    /// The trend of one series from its points (bucket starts); each bucket is placed at its middle.
    public static func trend(resource: CapacityTrend.Resource, series: SeriesKey, bucketStarts: [HistoryPoint]) -> CapacityTrend {
        let half = bucketSeconds * 500
        let points = bucketStarts.map { HistoryPoint(milliseconds: $0.milliseconds + half, value: $0.value) }
        let fit = LinearFit.leastSquares(points.map { (Double($0.milliseconds), $0.value) })
        var projected: Timestamp?
        if let fit, let last = points.last, let x = fit.reaching(100) {
            let at = max(x, Double(last.milliseconds))
            // Beyond what a timestamp can hold (a nearly flat line) means no date within reach.
            if at < Double(Timestamp.acceptedRange.upperBound.millisecondsSinceEpoch) {
                projected = Timestamp(millisecondsSinceEpoch: Int64((at / 1000).rounded()) * 1000)
            }
        }
        return CapacityTrend(resource: resource, series: series, points: points, fit: fit, projectedFull: projected)
    }

    /// Every filesystem's and memory's trend over `[from, to]` (milliseconds), read from `store` in hourly averages.
    public static func trends(store: HistoryStore, settings: HistorySettings, from: Int64, to: Int64, now: Int64) async throws -> [CapacityTrend] {
        let query = HistoryQuery(from: from, to: to, step: bucketSeconds, function: .avg)
        let plan = HistoryPlanner.plan(query, now: now, settings: settings)
        let reader = HistoryReader(store: store, settings: settings)
        var result: [CapacityTrend] = []
        let filesystems = try await store.series(named: MetricName.filesystemUsagePercent).sorted { $0.key < $1.key }
        for series in filesystems {
            let points = try await reader.points(series: series.id, query: query, plan: plan)
            guard !points.isEmpty else { continue }
            result.append(trend(resource: .filesystem, series: series.key, bucketStarts: points))
        }
        if let memory = try await store.series(named: MetricName.memoryUsagePercent).first(where: { $0.key.labels.isEmpty }) {
            let points = try await reader.points(series: memory.id, query: query, plan: plan)
            if !points.isEmpty { result.append(trend(resource: .memory, series: memory.key, bucketStarts: points)) }
        }
        return result
    }
}
