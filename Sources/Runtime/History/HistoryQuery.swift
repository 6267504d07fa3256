//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Where a query's points come from.
public enum HistoryTier: String, Sendable {
    /// Tier 0: the raw samples of the blocks.
    case raw
    case minute
    case hour

    /// Width of one stored row in seconds (0 for raw samples).
    public var resolution: Int64 {
        switch self {
        case .raw: 0
        case .minute: 60
        case .hour: 3600
        }
    }
}

/// A history query. Times are milliseconds since the epoch; `step` in seconds, nil for raw points.
public struct HistoryQuery: Sendable, Hashable {
    public var from: Int64
    public var to: Int64
    public var step: Int64?
    public var function: AggregateFunction

    /// Times are clamped to ±2^52 ms (about ±142,000 years) and the step to 1 s…2^32 s, so that the planner's bucket
    /// arithmetic cannot overflow whatever a caller passes.
    public init(from: Int64, to: Int64, step: Int64?, function: AggregateFunction = .avg) {
        self.from = min(max(from, -Self.timeLimit), Self.timeLimit)
        self.to = min(max(to, -Self.timeLimit), Self.timeLimit)
        self.step = step.map { min(max($0, 1), Self.stepLimit) }
        self.function = function
    }

    static let timeLimit: Int64 = 1 << 52
    static let stepLimit: Int64 = 1 << 32
}

/// The tier and the effective step chosen for a query.
public struct HistoryPlan: Sendable, Hashable {
    public var tier: HistoryTier
    /// Seconds; nil for raw points.
    public var step: Int64?
    /// Bucket starts of the first and last bucket (milliseconds) when stepped.
    public var firstBucket: Int64
    public var lastBucket: Int64

    /// Points the plan produces at most.
    public var maximumPoints: Int64? {
        guard let step else { return nil }
        return (lastBucket - firstBucket) / (step * 1000) + 1
    }
}

/// One point of a result: bucket start (or sample time) in milliseconds and the aggregated value.
public struct HistoryPoint: Sendable, Hashable {
    public var milliseconds: Int64
    public var value: Double
}

/// The semantics shared by every tier, so that a result never depends on where it came from:
///
/// - Buckets are `[k·step, (k+1)·step)` aligned to the Unix epoch; a query returns every non-empty bucket that
///   intersects `[from, to]`, and each bucket aggregates *all* samples inside it (also those just outside `[from, to]`).
/// - The minute tier serves steps that are multiples of 60 s, the hour tier multiples of 3600 s; the coarsest tier whose
///   resolution divides the step and whose retention still covers the first bucket is used. When only a coarser tier
///   covers the range, the step is rounded up to a multiple of its resolution (the response says which).
/// - min, max, count and last are exact in every tier; avg and sum are equal up to floating-point summation order.
public enum HistoryPlanner {
    /// - Parameters:
    ///   - now: milliseconds since the epoch.
    ///   - settings: the retentions of the tiers.
    public static func plan(_ query: HistoryQuery, now: Int64, settings: HistorySettings) -> HistoryPlan {
        guard let requested = query.step else {
            return HistoryPlan(tier: .raw, step: nil, firstBucket: query.from, lastBucket: query.to)
        }
        let horizons: [(HistoryTier, Int64)] = [
            (.hour, now - HistoryStore.milliseconds(settings.hourRetention)),
            (.minute, now - HistoryStore.milliseconds(settings.minuteRetention)),
            (.raw, now - HistoryStore.milliseconds(settings.retention)),
        ]
        // Coarsest first: the first tier whose resolution divides the step and that covers the first bucket.
        for (tier, horizon) in horizons {
            let resolution = max(tier.resolution, 1)
            guard requested % resolution == 0 else { continue }
            let first = floorDiv(query.from, requested * 1000) * requested * 1000
            if first >= horizon || tier == .hour {
                return HistoryPlan(tier: tier, step: requested, firstBucket: first, lastBucket: floorDiv(query.to, requested * 1000) * requested * 1000)
            }
        }
        // Only a coarser tier covers the range: round the step up to its resolution.
        for (tier, horizon) in horizons.reversed() where tier != .raw {
            let step = (requested + tier.resolution - 1) / tier.resolution * tier.resolution
            let first = floorDiv(query.from, step * 1000) * step * 1000
            if first >= horizon || tier == .hour {
                return HistoryPlan(tier: tier, step: step, firstBucket: first, lastBucket: floorDiv(query.to, step * 1000) * step * 1000)
            }
        }
        let step = (requested + 3599) / 3600 * 3600
        return HistoryPlan(
            tier: .hour, step: step, firstBucket: floorDiv(query.from, step * 1000) * step * 1000, lastBucket: floorDiv(query.to, step * 1000) * step * 1000)
    }

    /// Buckets raw samples by `step` seconds; samples must be in time order.
    public static func bucket(_ samples: [HistorySample], step: Int64) -> [(start: Int64, aggregate: Aggregate)] {
        var result: [(start: Int64, aggregate: Aggregate)] = []
        let width = step * 1000
        for sample in samples {
            let start = floorDiv(sample.milliseconds, width) * width
            if let lastStart = result.last?.start, lastStart == start {
                result[result.count - 1].aggregate.add(sample)
            } else {
                result.append((start, Aggregate(sample)))
            }
        }
        return result
    }

    /// Buckets rollup rows (starts in seconds) by `step` seconds, a multiple of the rows' width.
    public static func bucket(_ rows: [RollupRow], step: Int64) -> [(start: Int64, aggregate: Aggregate)] {
        var result: [(start: Int64, aggregate: Aggregate)] = []
        for row in rows {
            let start = floorDiv(row.start, step) * step * 1000
            if let lastStart = result.last?.start, lastStart == start {
                result[result.count - 1].aggregate.merge(row.aggregate)
            } else {
                result.append((start, row.aggregate))
            }
        }
        return result
    }
}

/// Runs queries against a ``HistoryStore``.
public struct HistoryReader: Sendable {
    public let store: HistoryStore
    public let settings: HistorySettings

    public init(store: HistoryStore, settings: HistorySettings) {
        self.store = store
        self.settings = settings
    }

    /// The points of one series for `query` under `plan`.
    public func points(series: Int64, query: HistoryQuery, plan: HistoryPlan) async throws -> [HistoryPoint] {
        guard let step = plan.step else {
            return try await store.samples(series: series, from: query.from, to: query.to).samples.map {
                HistoryPoint(milliseconds: $0.milliseconds, value: $0.value)
            }
        }
        let end = plan.lastBucket + step * 1000 - 1
        let buckets: [(start: Int64, aggregate: Aggregate)]
        switch plan.tier {
        case .raw:
            buckets = HistoryPlanner.bucket(try await store.samples(series: series, from: plan.firstBucket, to: end).samples, step: step)
        case .minute, .hour:
            let tier: RollupTier = plan.tier == .minute ? .minute : .hour
            let rows = try await store.rollups(tier, series: series, from: plan.firstBucket / 1000, to: end / 1000)
            buckets = HistoryPlanner.bucket(rows, step: step)
        }
        return buckets.map { HistoryPoint(milliseconds: $0.start, value: $0.aggregate.value(query.function)) }
    }

    /// The aggregates per bucket (reports need min/max/avg together).
    public func aggregates(series: Int64, from: Int64, to: Int64, step: Int64, tier: RollupTier) async throws -> [(start: Int64, aggregate: Aggregate)] {
        let rows = try await store.rollups(tier, series: series, from: floorDiv(from, 1000), to: floorDiv(to, 1000))
        return HistoryPlanner.bucket(rows, step: step)
    }
}
