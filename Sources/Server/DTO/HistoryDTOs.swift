//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

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
            try o(.one_minute, values[MetricName.load1].map { rounded($0) })
            try o(.five_minutes, values[MetricName.load5].map { rounded($0) })
            try o(.fifteen_minutes, values[MetricName.load15].map { rounded($0) })
        }
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.timestamp, Timestamp(millisecondsSinceEpoch: milliseconds).rfc3339)
        try o(.cpu_usage_percent, values[MetricName.cpuUsagePercent].map { rounded($0) })
        try o(.memory_usage_percent, values[MetricName.memoryUsagePercent].map { rounded($0) })
        try o(.disk_usage_percent, values[MetricName.diskUsagePercent].map { rounded($0) })
        try o(.load_average, LoadPointDTO(values: values))
        try o(.temperature, values[MetricName.cpuTemperatureCelsius].map { rounded($0) })
        try o(.uptime_seconds, values[MetricName.uptimeSeconds].map { rounded($0, 0) })
    }

    /// The series of each field (host-wide series carry no labels).
    static let metricNames = [
        MetricName.cpuUsagePercent, MetricName.memoryUsagePercent, MetricName.diskUsagePercent, MetricName.load1, MetricName.load5, MetricName.load15,
        MetricName.cpuTemperatureCelsius, MetricName.uptimeSeconds,
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
