//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// The keys of `[history]`, `[alerts]`, `[alerts.<rule>]` and `[notifications]`.

extension ConfigLoader {
    /// Rule tables under `[alerts]`.
    static let alertRuleTables = ["cpu", "memory", "load", "disk", "services"]

    static let historyKeys: [String: Setter] = [
        "history.enabled": { config, raw throws(ValueError) in config.history.enabled = try bool(raw) },
        "history.path": { config, raw throws(ValueError) in config.history.path = try absolutePath(raw) },
        "history.retention": { config, raw throws(ValueError) in config.history.retention = try retention(raw) },
        "history.minute_retention": { config, raw throws(ValueError) in config.history.minuteRetention = try retention(raw) },
        "history.hour_retention": { config, raw throws(ValueError) in config.history.hourRetention = try retention(raw) },
        "history.flush_interval": { config, raw throws(ValueError) in config.history.flushInterval = try flushInterval(raw) },
        "history.max_points": { config, raw throws(ValueError) in config.history.maxPoints = try int(raw, in: 10...10_000_000) },
        "history.max_series": { config, raw throws(ValueError) in config.history.maxSeries = try int(raw, in: 100...10_000_000) },
        "history.series_idle_timeout": { config, raw throws(ValueError) in
            let value = try duration(raw, min: .seconds(60))
            guard value <= .seconds(7 * 86_400) else { throw ValueError(message: "must be at most 7d") }
            config.history.seriesIdleTimeout = value
        },
        "alerts.enabled": { config, raw throws(ValueError) in config.alerts.enabled = try bool(raw) },
        "alerts.for": { config, raw throws(ValueError) in config.alerts.holdFor = try holdDuration(raw) },
        "alerts.load.per_core": { config, raw throws(ValueError) in config.alerts.loadPerCore = try bool(raw) },
        "alerts.services.enabled": { config, raw throws(ValueError) in config.alerts.servicesEnabled = try bool(raw) },
        "alerts.services.for": { config, raw throws(ValueError) in config.alerts.servicesHoldFor = try holdDuration(raw) },
        "notifications.journald": { config, raw throws(ValueError) in config.notifications.journald = try bool(raw) },
        "notifications.webhook_urls": { config, raw throws(ValueError) in config.notifications.webhookURLs = try webhookURLs(raw) },
        "notifications.webhook_secret": { config, raw throws(ValueError) in config.notifications.webhookSecret = try string(raw) },
        "notifications.webhook_timeout": { config, raw throws(ValueError) in config.notifications.webhookTimeout = try duration(raw, min: .milliseconds(10)) },
        "notifications.webhook_max_attempts": { config, raw throws(ValueError) in config.notifications.webhookMaxAttempts = try int(raw, in: 1...20) },
        "notifications.webhook_backoff": { config, raw throws(ValueError) in config.notifications.webhookBackoff = try duration(raw, min: .milliseconds(1)) },
        "notifications.webhook_rate_limit": { config, raw throws(ValueError) in config.notifications.webhookRateLimit = try int(raw, in: 1...10_000) },
        "alerts.cpu.enabled": { config, raw throws(ValueError) in config.alerts.cpu.enabled = try bool(raw) },
        "alerts.cpu.warning": { config, raw throws(ValueError) in config.alerts.cpu.warning = try percent(raw) },
        "alerts.cpu.critical": { config, raw throws(ValueError) in config.alerts.cpu.critical = try percent(raw) },
        "alerts.cpu.warning_clear": { config, raw throws(ValueError) in config.alerts.cpu.warningClear = try percent(raw) },
        "alerts.cpu.critical_clear": { config, raw throws(ValueError) in config.alerts.cpu.criticalClear = try percent(raw) },
        "alerts.cpu.for": { config, raw throws(ValueError) in config.alerts.cpu.holdFor = try holdDuration(raw) },
        "alerts.memory.enabled": { config, raw throws(ValueError) in config.alerts.memory.enabled = try bool(raw) },
        "alerts.memory.warning": { config, raw throws(ValueError) in config.alerts.memory.warning = try percent(raw) },
        "alerts.memory.critical": { config, raw throws(ValueError) in config.alerts.memory.critical = try percent(raw) },
        "alerts.memory.warning_clear": { config, raw throws(ValueError) in config.alerts.memory.warningClear = try percent(raw) },
        "alerts.memory.critical_clear": { config, raw throws(ValueError) in config.alerts.memory.criticalClear = try percent(raw) },
        "alerts.memory.for": { config, raw throws(ValueError) in config.alerts.memory.holdFor = try holdDuration(raw) },
        "alerts.load.enabled": { config, raw throws(ValueError) in config.alerts.load.enabled = try bool(raw) },
        "alerts.load.warning": { config, raw throws(ValueError) in config.alerts.load.warning = try nonNegative(raw) },
        "alerts.load.critical": { config, raw throws(ValueError) in config.alerts.load.critical = try nonNegative(raw) },
        "alerts.load.warning_clear": { config, raw throws(ValueError) in config.alerts.load.warningClear = try nonNegative(raw) },
        "alerts.load.critical_clear": { config, raw throws(ValueError) in config.alerts.load.criticalClear = try nonNegative(raw) },
        "alerts.load.for": { config, raw throws(ValueError) in config.alerts.load.holdFor = try holdDuration(raw) },
        "alerts.disk.enabled": { config, raw throws(ValueError) in config.alerts.disk.enabled = try bool(raw) },
        "alerts.disk.warning": { config, raw throws(ValueError) in config.alerts.disk.warning = try percent(raw) },
        "alerts.disk.critical": { config, raw throws(ValueError) in config.alerts.disk.critical = try percent(raw) },
        "alerts.disk.warning_clear": { config, raw throws(ValueError) in config.alerts.disk.warningClear = try percent(raw) },
        "alerts.disk.critical_clear": { config, raw throws(ValueError) in config.alerts.disk.criticalClear = try percent(raw) },
        "alerts.disk.for": { config, raw throws(ValueError) in config.alerts.disk.holdFor = try holdDuration(raw) },
    ]

    static func flushInterval(_ raw: Raw) throws(ValueError) -> Duration {
        let value = try duration(raw, min: .milliseconds(100))
        guard value <= .seconds(3600) else { throw ValueError(message: "must be at most 1h") }
        return value
    }

    static func webhookURLs(_ raw: Raw) throws(ValueError) -> [String] {
        try checkEach(try strings(raw)) { url in
            url.hasPrefix("http://") || url.hasPrefix("https://") ? nil : "expected http:// or https:// URLs, got \"\(url)\""
        }
    }

    /// A finite number (integer or float).
    static func number(_ raw: Raw) throws(ValueError) -> Double {
        let value: Double?
        switch raw {
        case .int(let v): value = Double(v)
        case .double(let v): value = v
        case .text(let text): value = Double(text.trimmingASCIIWhitespace())
        default: value = nil
        }
        guard let value, value.isFinite else { throw ValueError(message: "expected a number, got \(describe(raw))") }
        return value
    }

    /// A percentage threshold: 0 to 100.
    static func percent(_ raw: Raw) throws(ValueError) -> Double {
        let value = try number(raw)
        guard (0...100).contains(value) else { throw ValueError(message: "a percentage must be between 0 and 100, got \(describe(raw))") }
        return value
    }

    /// A load threshold: 0 or more.
    static func nonNegative(_ raw: Raw) throws(ValueError) -> Double {
        let value = try number(raw)
        guard value >= 0 else { throw ValueError(message: "must be 0 or more, got \(describe(raw))") }
        return value
    }

    /// A retention: at least an hour; `"30d"`, `"90d"`, `"2y"` is written `"730d"`.
    static func retention(_ raw: Raw) throws(ValueError) -> Duration {
        let value = try duration(raw, min: .seconds(3600))
        return value
    }

    /// A hold (`for`) duration: 0 to a day.
    static func holdDuration(_ raw: Raw) throws(ValueError) -> Duration {
        let value = try duration(raw, min: .zero)
        guard value <= .seconds(86_400) else { throw ValueError(message: "must be at most 24h") }
        return value
    }

    /// Cross-key checks of the history and alert keys.
    func validateHistory(_ configuration: AgentConfiguration, file: String, locator: TOMLKeyLocator? = nil) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        let history = configuration.history
        if history.minuteRetention < history.retention {
            issues.append(
                ConfigIssue(
                    source: file, line: Self.line(locator, "history.minute_retention", "history.retention"), key: "history.minute_retention",
                    message: "must not be shorter than history.retention"))
        }
        if history.hourRetention < history.minuteRetention {
            issues.append(
                ConfigIssue(
                    source: file, line: Self.line(locator, "history.hour_retention", "history.minute_retention"), key: "history.hour_retention",
                    message: "must not be shorter than history.minute_retention"))
        }
        let rules: [(String, AlertRuleSettings)] = [
            ("cpu", configuration.alerts.cpu), ("memory", configuration.alerts.memory), ("load", configuration.alerts.load),
            ("disk", configuration.alerts.disk),
        ]
        for (name, rule) in rules {
            let key = "alerts.\(name)"
            if rule.critical < rule.warning {
                issues.append(
                    ConfigIssue(source: file, line: Self.line(locator, key + ".critical", key + ".warning"), key: key + ".critical", message: "must not be below \(key).warning"))
            }
            if rule.effectiveWarningClear > rule.warning {
                issues.append(
                    ConfigIssue(
                        source: file, line: Self.line(locator, key + ".warning_clear", key + ".warning"), key: key + ".warning_clear",
                        message: "must not be above \(key).warning"))
            }
            if rule.effectiveCriticalClear > rule.critical {
                issues.append(
                    ConfigIssue(
                        source: file, line: Self.line(locator, key + ".critical_clear", key + ".critical"), key: key + ".critical_clear",
                        message: "must not be above \(key).critical"))
            }
        }
        return issues
    }
}
