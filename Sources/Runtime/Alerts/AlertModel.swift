//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The state of one alert subject.
public enum AlertSeverity: String, Sendable, Hashable, Comparable, CaseIterable {
    case ok, warning, critical

    var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// Raise and clear thresholds of a rule, with its hold time.
public struct AlertThresholds: Sendable, Hashable {
    public var warning: Double
    public var critical: Double
    /// A warning clears only below this (hysteresis).
    public var warningClear: Double
    /// A critical alert drops back only below this.
    public var criticalClear: Double
    /// The value must stay at or above a threshold this long before the state rises.
    public var holdFor: Duration

    public init(warning: Double, critical: Double, warningClear: Double, criticalClear: Double, holdFor: Duration) {
        self.warning = warning
        self.critical = critical
        self.warningClear = warningClear
        self.criticalClear = criticalClear
        self.holdFor = holdFor
    }

    public init(_ settings: AlertRuleSettings, defaultHold: Duration) {
        self.init(
            warning: settings.warning, critical: settings.critical, warningClear: settings.effectiveWarningClear,
            criticalClear: settings.effectiveCriticalClear, holdFor: settings.holdFor ?? defaultHold)
    }
}

/// Where one subject of a rule stands. Times are milliseconds since the epoch, except the hold clocks
/// (`warningHeldFrom`, `criticalHeldFrom`), which are milliseconds of a monotonic clock.
public struct AlertSubjectState: Sendable, Hashable {
    public var severity: AlertSeverity = .ok
    /// Since when the value has been continuously at or above the warning / critical threshold.
    public var aboveWarningSince: Int64?
    public var aboveCriticalSince: Int64?
    /// The same moments on the monotonic clock: the hold (`for`) is measured on it, so that a step of the wall clock
    /// neither raises an alert early (a step forward) nor holds it back (a step back).
    public var warningHeldFrom: Int64?
    public var criticalHeldFrom: Int64?
    /// When the current severity began.
    public var since: Int64
    public var value: Double
    /// The incident while not ok.
    public var incidentID: Int64?
    public var peakValue: Double
    public var peakAt: Int64
    public var peakSeverity: AlertSeverity = .ok

    public init(now: Int64, value: Double) {
        since = now
        self.value = value
        peakValue = value
        peakAt = now
    }
}

/// The pure state machine of a threshold rule:
///
/// - **Raising** needs the value at or above a threshold continuously for `holdFor` (a spike shorter than that
///   raises nothing); critical may be reached directly.
/// - **Clearing** uses hysteresis: critical holds while the value stays at or above `criticalClear`, warning while
///   it stays at or above `warningClear`; below, the state falls at once to what the value still justifies.
public enum ThresholdEvaluator {
    /// - Parameters:
    ///   - now: wall-clock milliseconds since the epoch (the times the state and its incident show).
    ///   - monotonic: milliseconds of a monotonic clock (`CLOCK_BOOTTIME`), on which the hold is measured; `now`
    ///     when nil (callers whose times are all synthetic).
    public static func next(
        _ previous: AlertSubjectState?, value: Double, now: Int64, monotonic: Int64? = nil, thresholds: AlertThresholds
    ) -> AlertSubjectState {
        let tick = monotonic ?? now
        var state = previous ?? AlertSubjectState(now: now, value: value)
        state.value = value
        state.aboveWarningSince = value >= thresholds.warning ? (state.aboveWarningSince ?? now) : nil
        state.aboveCriticalSince = value >= thresholds.critical ? (state.aboveCriticalSince ?? now) : nil
        state.warningHeldFrom = value >= thresholds.warning ? (state.warningHeldFrom ?? tick) : nil
        state.criticalHeldFrom = value >= thresholds.critical ? (state.criticalHeldFrom ?? tick) : nil
        let hold = HistoryStore.milliseconds(thresholds.holdFor)
        var raised = AlertSeverity.ok
        if let from = state.criticalHeldFrom, tick - from >= hold {
            raised = .critical
        } else if let from = state.warningHeldFrom, tick - from >= hold {
            raised = .warning
        }
        var held = AlertSeverity.ok
        if state.severity == .critical, value >= thresholds.criticalClear {
            held = .critical
        } else if state.severity >= .warning, value >= thresholds.warningClear {
            held = .warning
        }
        let severity = max(raised, held)
        if severity != state.severity {
            state.severity = severity
            state.since = now
            if severity != .ok, state.peakSeverity == .ok || previous?.severity == .ok {
                // A new episode.
                state.peakValue = value
                state.peakAt = now
                state.peakSeverity = severity
            }
        }
        if severity != .ok {
            if value > state.peakValue {
                state.peakValue = value
                state.peakAt = now
            }
            state.peakSeverity = max(state.peakSeverity, severity)
        } else {
            state.peakSeverity = .ok
        }
        return state
    }
}

/// A change of severity of one subject.
public struct AlertTransition: Sendable, Hashable {
    public var rule: String
    /// The filesystem, service… the rule looked at; empty for host-wide rules.
    public var subject: String
    public var from: AlertSeverity
    public var to: AlertSeverity
    public var value: Double
    /// The threshold crossed (raise threshold when rising, clear threshold when falling).
    public var threshold: Double
    public var at: Timestamp
    public var incidentID: Int64?
    public var message: String
}

/// One alert that is not ok, for `GET /api/v1/alerts`.
public struct ActiveAlert: Sendable, Hashable {
    public var rule: String
    public var subject: String
    public var severity: AlertSeverity
    public var value: Double
    public var threshold: Double
    public var since: Timestamp
    public var incidentID: Int64?
}

/// Counts of `/api/v1/status`'s `alerts` section.
public struct AlertSummary: Sendable, Hashable {
    /// The worst active severity.
    public var state: AlertSeverity
    public var warning: Int
    public var critical: Int
    public var enabled: Bool

    public init(state: AlertSeverity = .ok, warning: Int = 0, critical: Int = 0, enabled: Bool = true) {
        self.state = state
        self.warning = warning
        self.critical = critical
        self.enabled = enabled
    }
}

/// A recorded incident: one episode of a subject not being ok.
public struct Incident: Sendable, Hashable {
    public var id: Int64
    public var rule: String
    public var subject: String
    /// The highest severity reached.
    public var severity: AlertSeverity
    public var startedAt: Timestamp
    public var endedAt: Timestamp?
    public var peakValue: Double
    public var peakAt: Timestamp
    public var lastValue: Double
    public var threshold: Double
    public var message: String

    /// Seconds from start to end (or to `now` while open).
    /// Computed in floating point: times read back from the incidents database may be anything, and must not trap.
    public func durationSeconds(now: Timestamp) -> Double {
        (Double((endedAt ?? now).nanosecondsSinceEpoch) - Double(startedAt.nanosecondsSinceEpoch)) / 1e9
    }
}

/// The state of one service, as the services collector reports it, for the service rule.
public struct ServiceAlertInput: Sendable, Hashable {
    public var name: String
    /// `running`, `stopped`, `error`, `unresponsive` or `unknown`.
    public var status: String
    /// A critical service raises critical; any other monitored service raises warning.
    public var critical: Bool

    public init(name: String, status: String, critical: Bool) {
        self.name = name
        self.status = status
        self.critical = critical
    }

    /// Statuses the service rule alerts on.
    public static let alertingStatuses: Set<String> = ["stopped", "error", "unresponsive"]

    /// 0 fine, 1 a monitored service down, 2 a critical service down: compared with thresholds 1 and 2.
    var badness: Double {
        guard Self.alertingStatuses.contains(status) else { return 0 }
        return critical ? 2 : 1
    }
}
