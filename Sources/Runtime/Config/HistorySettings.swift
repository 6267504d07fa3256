//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import FoundationEssentials

/// `[history]`: every collected series stored in compressed blocks, plus per-minute and per-hour rollups.
public struct HistorySettings: Sendable, Hashable {
    /// `enabled`: false stores nothing and the history routes answer 503.
    public var enabled = true
    /// `path`: the SQLite database; empty means `<[agent] state_directory>/history.db`.
    public var path = ""
    /// `retention`: raw samples (tier 0) are kept this long (the spec's 30 days).
    public var retention: Duration = .seconds(30 * 86_400)
    /// `minute_retention`: per-minute rollups.
    public var minuteRetention: Duration = .seconds(90 * 86_400)
    /// `hour_retention`: per-hour rollups.
    public var hourRetention: Duration = .seconds(730 * 86_400)
    /// `flush_interval`: buffered samples are written at least this often; a crash loses at most this much.
    public var flushInterval: Duration = .seconds(30)
    /// `max_points`: the most points one history response may carry (a larger query is a 400).
    public var maxPoints = 100_000
    /// `max_series`: the most series held open in memory at once; samples of further new series are dropped
    /// (and counted) until an idle series is let go.
    public var maxSeries = 20_000
    /// `series_idle_timeout`: a series without a sample for this long has its open block let go from memory (it is
    /// already stored) and stops counting against `max_series` and a plugin's `max_series`.
    public var seriesIdleTimeout: Duration = .seconds(15 * 60)

    public init() {}

    /// The database file for a state directory.
    public func databasePath(stateDirectory: String) -> String {
        path.isEmpty ? (stateDirectory.hasSuffix("/") ? stateDirectory : stateDirectory + "/") + "history.db" : path
    }
}

/// One threshold rule of `[alerts.<name>]`.
public struct AlertRuleSettings: Sendable, Hashable {
    /// `enabled`.
    public var enabled = true
    /// `warning`: the value at or above which the rule becomes warning.
    public var warning: Double
    /// `critical`: at or above, critical.
    public var critical: Double
    /// `warning_clear`: a warning clears only below this (hysteresis); default `warning` − 5 % of it.
    public var warningClear: Double?
    /// `critical_clear`: a critical alert drops back only below this; default `critical` − 5 % of it.
    public var criticalClear: Double?
    /// `for`: the value must stay at or above a threshold this long before the state rises; nil uses `[alerts] for`.
    public var holdFor: Duration?

    public init(warning: Double, critical: Double, warningClear: Double? = nil, criticalClear: Double? = nil, holdFor: Duration? = nil) {
        self.warning = warning
        self.critical = critical
        self.warningClear = warningClear
        self.criticalClear = criticalClear
        self.holdFor = holdFor
    }

    /// The clear threshold of warning: explicit, or 5 % below the threshold.
    public var effectiveWarningClear: Double { warningClear ?? warning - abs(warning) * 0.05 }
    public var effectiveCriticalClear: Double { criticalClear ?? critical - abs(critical) * 0.05 }
}

/// `[alerts]`.
public struct AlertSettings: Sendable, Hashable {
    /// `enabled`: false evaluates no rule (the alert routes then list nothing).
    public var enabled = true
    /// `for`: default hold time of every rule, so that a 30-second spike does not raise an alert.
    public var holdFor: Duration = .seconds(120)
    /// `[alerts.cpu]`: `system_health.cpu_usage_percent` (spec: 80 / 95).
    public var cpu = AlertRuleSettings(warning: 80, critical: 95)
    /// `[alerts.memory]`: `memory_usage_percent` (spec: 85 / 95).
    public var memory = AlertRuleSettings(warning: 85, critical: 95)
    /// `[alerts.load]`: the 1-minute load average (spec: 2 / 5), or per core with `per_core`.
    public var load = AlertRuleSettings(warning: 2, critical: 5)
    /// `[alerts.load] per_core`: compare load1 / online CPUs with the thresholds instead of load1.
    public var loadPerCore = false
    /// `[alerts.disk]`: every reported filesystem's usage percent (85 / 95, like status-simple).
    public var disk = AlertRuleSettings(warning: 85, critical: 95)
    /// `[alerts.services] enabled`: alert on services that are stopped, in error or unresponsive (critical
    /// services raise critical, other monitored services warning).
    public var servicesEnabled = true
    /// `[alerts.services] for`: hold time of the service rule; nil uses `[alerts] for`.
    public var servicesHoldFor: Duration?

    public init() {}
}

/// `[notifications]`: journald entries and webhooks for every alert transition.
public struct NotificationSettings: Sendable, Hashable {
    /// `journald`: one journal entry (with its own MESSAGE_ID) per transition.
    public var journald = true
    /// `webhook_urls`: http(s) URLs that receive a JSON POST per transition.
    public var webhookURLs: [String] = []
    /// `webhook_secret`: HMAC-SHA256 key of the `X-ViWorks-Signature` header; empty sends no signature.
    public var webhookSecret = ""
    /// `webhook_timeout`: per attempt.
    public var webhookTimeout: Duration = .seconds(5)
    /// `webhook_max_attempts`: attempts per notification (first try included).
    public var webhookMaxAttempts = 5
    /// `webhook_backoff`: delay before the second attempt; doubles per attempt.
    public var webhookBackoff: Duration = .seconds(1)
    /// `webhook_rate_limit`: notifications per minute and destination; more are dropped and counted.
    public var webhookRateLimit = 30

    public init() {}
}

extension HistorySettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .bool("enabled", \.enabled),
        .absolutePath("path", \.path),
        .duration("retention", \.retention, min: .seconds(3600)),
        .duration("minute_retention", \.minuteRetention, min: .seconds(3600)),
        .duration("hour_retention", \.hourRetention, min: .seconds(3600)),
        .duration("flush_interval", \.flushInterval, min: .milliseconds(100), max: "1h"),
        .int("max_points", \.maxPoints, in: 10...10_000_000),
        .int("max_series", \.maxSeries, in: 100...10_000_000),
        .duration("series_idle_timeout", \.seriesIdleTimeout, min: .seconds(60), max: "7d"),
    ]
}

extension AlertRuleSettings {
    /// The keys of every `[alerts.<rule>]` table; `threshold` checks `warning`, `critical` and their clear levels.
    static func keys(threshold: @escaping @Sendable (ConfigValue) throws(ConfigValueError) -> Double) -> [ConfigKey<Self>] {
        [
            .bool("enabled", \.enabled),
            .value("warning", \.warning, threshold),
            .value("critical", \.critical, threshold),
            .value("warning_clear", \.warningClear, threshold),
            .value("critical_clear", \.criticalClear, threshold),
            .duration("for", \.holdFor, min: .zero, max: "24h"),
        ]
    }

    /// `[alerts.cpu]`, `[alerts.memory]`, `[alerts.disk]`: percentages.
    static let percentKeys = keys { raw throws(ConfigValueError) in try raw.percent() }
    /// `[alerts.load]`: a load average, 0 or more.
    static let loadKeys = keys { raw throws(ConfigValueError) in try raw.nonNegative() }
}

extension AlertSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .bool("enabled", \.enabled),
        .duration("for", \.holdFor, min: .zero, max: "24h"),
    ]
}

extension NotificationSettings {
    /// Why the HTTP client could not post to `url`, or nil when it can: the client parses it with Foundation's `URL`
    /// (a host name that is not ASCII is mapped to its IDNA form) and needs the scheme `http` or `https`, a host and a
    /// port that fits a TCP port (a larger one stopped the agent at the first alert: NIO's socket address traps).
    /// A URL it cannot use would fail every delivery of every alert, so it is refused when the configuration is read.
    static func webhookURLProblem(_ url: String) -> String? {
        let expected = "expected http:// or https:// URLs"
        guard let parsed = URL(string: url) else { return "\(expected), got \"\(url)\", which is not a URL" }
        guard let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return "\(expected), got \"\(url)\""
        }
        guard let host = parsed.host, !host.isEmpty else { return "\(expected), got \"\(url)\", which has no host" }
        if let port = parsed.port, !(1...65_535).contains(port) {
            return "\(expected), got \"\(url)\", whose port \(port) is not between 1 and 65535"
        }
        return nil
    }
}

extension NotificationSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .bool("journald", \.journald),
        .strings("webhook_urls", \.webhookURLs, check: NotificationSettings.webhookURLProblem),
        .string("webhook_secret", \.webhookSecret),
        .duration("webhook_timeout", \.webhookTimeout, min: .milliseconds(10)),
        .int("webhook_max_attempts", \.webhookMaxAttempts, in: 1...20),
        .duration("webhook_backoff", \.webhookBackoff, min: .milliseconds(1)),
        .int("webhook_rate_limit", \.webhookRateLimit, in: 1...10_000),
    ]
}
