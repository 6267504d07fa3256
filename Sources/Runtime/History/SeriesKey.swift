//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// A series: a metric name and its labels, sorted by label name.
public struct SeriesKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var name: String
    public var labels: [MetricLabel]

    public init(name: String, labels: [MetricLabel]) {
        self.name = name
        self.labels = labels.sorted { $0.name < $1.name }
    }

    /// `name{a="x",b="y"}` (just `name` without labels): unique per series, stored in `series.key`.
    public var description: String {
        guard !labels.isEmpty else { return name }
        return name + "{" + labels.map { "\($0.name)=\(JSONString.quote($0.value))" }.joined(separator: ",") + "}"
    }

    /// The labels as a JSON object, stored in `series.labels`.
    var labelsJSON: String {
        "{" + labels.map { "\(JSONString.quote($0.name)):\(JSONString.quote($0.value))" }.joined(separator: ",") + "}"
    }

    public static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool { lhs.description < rhs.description }
}

/// min, max, sum, count and last of a set of samples: one rollup row, or one bucket of a query.
public struct Aggregate: Sendable, Hashable {
    public var minimum: Double
    public var maximum: Double
    public var sum: Double
    public var count: Int64
    public var last: Double
    /// Time of `last`, milliseconds since the epoch.
    public var lastTime: Int64

    public init(_ sample: HistorySample) {
        minimum = sample.value
        maximum = sample.value
        sum = sample.value
        count = 1
        last = sample.value
        lastTime = sample.milliseconds
    }

    public init(minimum: Double, maximum: Double, sum: Double, count: Int64, last: Double, lastTime: Int64) {
        self.minimum = minimum
        self.maximum = maximum
        self.sum = sum
        self.count = count
        self.last = last
        self.lastTime = lastTime
    }

    public mutating func add(_ sample: HistorySample) {
        merge(Aggregate(sample))
    }

    /// Combines two aggregates of disjoint sample sets; `last` is the newer one's (the later on a tie).
    public mutating func merge(_ other: Aggregate) {
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
        sum += other.sum
        count += other.count
        if other.lastTime >= lastTime {
            last = other.last
            lastTime = other.lastTime
        }
    }

    public var average: Double { sum / Double(count) }

    public func value(_ function: AggregateFunction) -> Double {
        switch function {
        case .avg: average
        case .min: minimum
        case .max: maximum
        case .sum: sum
        case .count: Double(count)
        case .last: last
        }
    }
}

/// The `agg` of a history query.
public enum AggregateFunction: String, Sendable, CaseIterable {
    case avg, min, max, sum, count, last
}
