//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// `GET /api/v1/capacity`: `{"window", "from", "to", "bucket_seconds", "resources": [...]}`.
struct CapacityDTO: Encodable {
    var window: String
    var from: Int64
    var to: Int64
    var trends: [CapacityTrend]

    enum Keys: String, CodingKey { case window, from, to, bucket_seconds, resources }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.window, window)
        try o(.from, Timestamp(millisecondsSinceEpoch: from).rfc3339)
        try o(.to, Timestamp(millisecondsSinceEpoch: to).rfc3339)
        try o(.bucket_seconds, CapacityForecast.bucketSeconds)
        try o(.resources, trends.map(CapacityTrendDTO.init))
    }
}

/// One resource: `resource` (`filesystem` or `memory`), `mountpoint`, `series`, `labels`, `current_percent`,
/// `slope_percent_per_day`, `projected_full_at` (RFC 3339 or null), `days_to_full`, `fit` (`{start, end}` values of
/// the line at the first and last point) and `points` (`[unix seconds, percent]`, hourly averages at mid-hour).
struct CapacityTrendDTO: Encodable {
    var trend: CapacityTrend

    enum Keys: String, CodingKey {
        case resource, mountpoint, series, labels, current_percent, slope_percent_per_day, projected_full_at, days_to_full, fit, points
    }

    enum FitKeys: String, CodingKey { case start, end }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.resource, trend.resource.rawValue)
        try o(.mountpoint, trend.series.labels.first { $0.name == "mountpoint" }?.value)
        try o(.series, trend.series.name)
        try o(.labels, LabelsDTO(labels: trend.series.labels))
        try o(.current_percent, trend.currentPercent.map { rounded($0, 3) })
        try o(.slope_percent_per_day, trend.slopePercentPerDay.map { rounded($0, 6) })
        try o(.projected_full_at, trend.projectedFull?.rfc3339)
        let last = trend.points.last?.milliseconds
        try o(.days_to_full, trend.projectedFull.flatMap { full in last.map { rounded(Double(full.millisecondsSinceEpoch - $0) / 86_400_000, 3) } })
        if let fit = trend.fit, let first = trend.points.first, let last = trend.points.last {
            var line = o.container.nestedContainer(keyedBy: FitKeys.self, forKey: .fit)
            try line.encode([unixSeconds(first.milliseconds), rounded(fit.value(at: Double(first.milliseconds)), 4)], forKey: .start)
            try line.encode([unixSeconds(last.milliseconds), rounded(fit.value(at: Double(last.milliseconds)), 4)], forKey: .end)
        } else {
            try o(.fit, String?.none)
        }
        try o(.points, trend.points.map { [unixSeconds($0.milliseconds), rounded($0.value, 3)] })
    }
}
