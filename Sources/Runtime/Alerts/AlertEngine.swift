//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
public import ServiceLifecycle
import Synchronization

/// One value for one rule and subject, ready to evaluate.
public struct AlertInput: Sendable, Hashable {
    public var rule: String
    public var subject: String
    public var value: Double
    public var thresholds: AlertThresholds

    public init(rule: String, subject: String, value: Double, thresholds: AlertThresholds) {
        self.rule = rule
        self.subject = subject
        self.value = value
        self.thresholds = thresholds
    }
}

/// Evaluates the alert rules on every batch of the bus, records incidents and hands transitions to the notifiers.
///
/// Rules: `cpu` (`cpu_usage_percent`), `memory` (`memory_usage_percent`), `load` (1-minute load, or per CPU),
/// `disk` (each filesystem's usage percent, subject = mount point) and `service` (subject = unit; a critical
/// service stopped, in error or unresponsive is critical, any other monitored service warning). Services come from
/// the services collector's batches (configured services, not discovered units) or, when given, the `services` closure.
public final class AlertEngine: Service, Sendable {
    public static let rules = ["cpu", "memory", "load", "disk", "service"]

    struct Entry: Sendable {
        var state: AlertSubjectState
        var thresholds: AlertThresholds
    }

    struct State: Sendable {
        var entries: [String: [String: Entry]] = [:]
        var generation: UInt64 = 0
        var cores: Int?
        /// Services seen running at least once (for hosts without systemd unit states).
        var seenRunning: Set<String> = []
    }

    private let state = Mutex(State())
    private let settings: AlertSettings
    private let incidents: IncidentStore
    private let bus: MetricsBus?
    private let services: (@Sendable () -> [ServiceAlertInput])?
    private let transitions: AsyncStream<AlertTransition>.Continuation?
    private let logger: Logger

    /// - Parameters:
    ///   - services: the current service states, evaluated with every CPU batch; nil uses the services collector's batches.
    ///   - transitions: where transitions go for notification; nil notifies nobody.
    public init(
        settings: AlertSettings, incidents: IncidentStore, bus: MetricsBus?, services: (@Sendable () -> [ServiceAlertInput])? = nil,
        transitions: AsyncStream<AlertTransition>.Continuation? = nil, logger: Logger
    ) {
        self.settings = settings
        self.incidents = incidents
        self.bus = bus
        self.services = services
        self.transitions = transitions
        self.logger = logger
    }

    // MARK: - Inputs

    /// The inputs a batch yields and the rules it covers completely (subjects of those rules missing from the
    /// inputs have gone: a filesystem unmounted, a service removed).
    public func inputs(for batch: MetricBatch) -> (inputs: [AlertInput], rules: Set<String>) {
        guard settings.enabled else { return ([], []) }
        let hold = settings.holdFor
        var inputs: [AlertInput] = []
        var rules: Set<String> = []
        switch batch.report {
        case .cpu(let report):
            state.withLock { $0.cores = report.cores }
            if settings.cpu.enabled, let usage = report.usagePercent, usage.isFinite {
                inputs.append(AlertInput(rule: "cpu", subject: "", value: usage, thresholds: AlertThresholds(settings.cpu, defaultHold: hold)))
                rules.insert("cpu")
            }
            if settings.servicesEnabled, let services {
                let serviceThresholds = AlertThresholds(warning: 1, critical: 2, warningClear: 1, criticalClear: 2, holdFor: settings.servicesHoldFor ?? hold)
                for service in services() {
                    inputs.append(AlertInput(rule: "service", subject: service.name, value: service.badness, thresholds: serviceThresholds))
                }
                rules.insert("service")
            }
        case .memory(let report):
            if settings.memory.enabled, report.usagePercent.isFinite {
                inputs.append(
                    AlertInput(rule: "memory", subject: "", value: report.usagePercent, thresholds: AlertThresholds(settings.memory, defaultHold: hold)))
                rules.insert("memory")
            }
        case .load(let report):
            if settings.load.enabled {
                var value: Double? = report.oneMinute
                if settings.loadPerCore {
                    let cores = state.withLock { $0.cores }
                    value = cores.flatMap { $0 > 0 ? report.oneMinute / Double($0) : nil }
                }
                if let value, value.isFinite {
                    inputs.append(AlertInput(rule: "load", subject: "", value: value, thresholds: AlertThresholds(settings.load, defaultHold: hold)))
                    rules.insert("load")
                }
            }
        case .services(let report):
            // The services collector's report: configured services only, not discovered units.
            if settings.servicesEnabled, services == nil {
                let thresholds = AlertThresholds(warning: 1, critical: 2, warningClear: 1, criticalClear: 2, holdFor: settings.servicesHoldFor ?? hold)
                // A service that is not installed is not "stopped": with systemd, units that are not found are left out;
                // without it (no unit state), a service counts once it was seen running since the agent started.
                let seen = state.withLock { state -> Set<String> in
                    for service in report.services where service.status == .running { state.seenRunning.insert(service.name) }
                    return state.seenRunning
                }
                for service in report.services where !service.discovered {
                    if let load = service.loadState {
                        guard load != "not-found" else { continue }
                    } else if !seen.contains(service.name) {
                        continue
                    }
                    let input = ServiceAlertInput(name: service.name, status: service.status.rawValue, critical: service.critical)
                    inputs.append(AlertInput(rule: "service", subject: service.name, value: input.badness, thresholds: thresholds))
                }
                rules.insert("service")
            }
        case .disk(let report):
            if settings.disk.enabled {
                let thresholds = AlertThresholds(settings.disk, defaultHold: hold)
                for filesystem in report.filesystems where !filesystem.stale && filesystem.usagePercent.isFinite {
                    inputs.append(AlertInput(rule: "disk", subject: filesystem.mountPoint, value: filesystem.usagePercent, thresholds: thresholds))
                }
                rules.insert("disk")
            }
        default:
            break
        }
        return (inputs, rules)
    }

    // MARK: - Evaluation

    /// Evaluates `inputs` at `now`; subjects of `complete` rules that are not in `inputs` are dropped (ending their
    /// incidents). Records incidents, logs and forwards every transition, and returns them.
    /// - Parameter monotonic: milliseconds of a monotonic clock at `now`, on which the hold (`for`) is measured (the
    ///   running engine passes `CLOCK_BOOTTIME`); nil measures it on `now`.
    @discardableResult
    public func evaluate(_ inputs: [AlertInput], complete: Set<String> = [], at now: Timestamp, monotonic: Int64? = nil) async -> [AlertTransition] {
        let ms = now.nanosecondsSinceEpoch / 1_000_000
        var changes: [(AlertTransition, AlertSubjectState, AlertSubjectState?)] = []
        var peakUpdates: [AlertSubjectState] = []
        var gone: [(rule: String, subject: String, entry: Entry)] = []
        state.withLock { state in
            for input in inputs {
                let previous = state.entries[input.rule]?[input.subject]?.state
                let next = ThresholdEvaluator.next(previous, value: input.value, now: ms, monotonic: monotonic, thresholds: input.thresholds)
                state.entries[input.rule, default: [:]][input.subject] = Entry(state: next, thresholds: input.thresholds)
                let from = previous?.severity ?? .ok
                if next.severity != from {
                    let threshold: Double
                    switch (from < next.severity, next.severity) {
                    case (true, .critical): threshold = input.thresholds.critical
                    case (true, _): threshold = input.thresholds.warning
                    case (false, _): threshold = from == .critical ? input.thresholds.criticalClear : input.thresholds.warningClear
                    }
                    let transition = AlertTransition(
                        rule: input.rule, subject: input.subject, from: from, to: next.severity, value: input.value, threshold: threshold, at: now,
                        incidentID: previous?.incidentID, message: Self.message(rule: input.rule, subject: input.subject, from: from, to: next.severity, value: input.value, threshold: threshold))
                    changes.append((transition, next, previous))
                    state.generation &+= 1
                } else if next.severity != .ok, let previous, next.peakValue != previous.peakValue {
                    peakUpdates.append(next)
                }
            }
            for rule in complete {
                let present = Set(inputs.filter { $0.rule == rule }.map(\.subject))
                for (subject, entry) in state.entries[rule] ?? [:] where !present.contains(subject) {
                    state.entries[rule]?[subject] = nil
                    if entry.state.severity != .ok {
                        gone.append((rule, subject, entry))
                        state.generation &+= 1
                    }
                }
            }
        }
        var result: [AlertTransition] = []
        for (transition, next, previous) in changes {
            var transition = transition
            do {
                if (previous?.severity ?? .ok) == .ok {
                    let id = try await incidents.open(
                        rule: transition.rule, subject: transition.subject, severity: transition.to, at: now, value: transition.value,
                        threshold: transition.threshold, message: transition.message)
                    transition.incidentID = id
                    state.withLock { $0.entries[transition.rule]?[transition.subject]?.state.incidentID = id }
                } else if let id = previous?.incidentID {
                    try await incidents.update(
                        id: id, severity: next.peakSeverity, peakValue: next.peakValue, peakAt: Self.timestamp(next.peakAt), lastValue: transition.value,
                        endedAt: transition.to == .ok ? now : nil, message: transition.message)
                    if transition.to == .ok { state.withLock { $0.entries[transition.rule]?[transition.subject]?.state.incidentID = nil } }
                }
            } catch {
                logger.warning("alerts: recording the incident failed", metadata: ["error": "\(error)", "alert.rule": "\(transition.rule)"])
            }
            log(transition)
            transitions?.yield(transition)
            result.append(transition)
        }
        for next in peakUpdates {
            guard let id = next.incidentID else { continue }
            try? await incidents.update(
                id: id, severity: next.peakSeverity, peakValue: next.peakValue, peakAt: Self.timestamp(next.peakAt), lastValue: next.value, endedAt: nil,
                message: nil)
        }
        for (rule, subject, entry) in gone {
            let message = "\(rule) \(subject): no longer reported; alert ended"
            let transition = AlertTransition(
                rule: rule, subject: subject, from: entry.state.severity, to: .ok, value: entry.state.value, threshold: entry.thresholds.warningClear,
                at: now, incidentID: entry.state.incidentID, message: message)
            if let id = entry.state.incidentID {
                try? await incidents.update(
                    id: id, severity: entry.state.peakSeverity, peakValue: entry.state.peakValue, peakAt: Self.timestamp(entry.state.peakAt),
                    lastValue: entry.state.value, endedAt: now, message: message)
            }
            log(transition)
            transitions?.yield(transition)
            result.append(transition)
        }
        return result
    }

    static func timestamp(_ milliseconds: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: milliseconds) }

    static func message(rule: String, subject: String, from: AlertSeverity, to: AlertSeverity, value: Double, threshold: Double) -> String {
        let what = subject.isEmpty ? rule : "\(rule) \(subject)"
        let shown = (value * 100).rounded() / 100
        if rule == "service" {
            return to == .ok ? "\(what) is running again" : "\(what) is not running (\(to.rawValue))"
        }
        return to > from
            ? "\(what) \(to.rawValue): \(shown) ≥ \(threshold)"
            : "\(what) \(to == .ok ? "back to ok" : "down to \(to.rawValue)"): \(shown) < \(threshold)"
    }

    private func log(_ transition: AlertTransition) {
        let level: Logger.Level = transition.to == .critical ? .warning : (transition.to == .warning ? .notice : .info)
        logger.log(
            level: level, "\(transition.message)",
            metadata: [
                "alert.rule": "\(transition.rule)", "alert.subject": "\(transition.subject)", "alert.from": "\(transition.from.rawValue)",
                "alert.to": "\(transition.to.rawValue)",
            ])
    }

    // MARK: - Views

    /// Every subject that is not ok, by rule then subject.
    public func active() -> [ActiveAlert] {
        state.withLock { state in
            var result: [ActiveAlert] = []
            for rule in state.entries.keys.sorted() {
                guard let subjects = state.entries[rule] else { continue }
                for subject in subjects.keys.sorted() {
                    guard let entry = subjects[subject], entry.state.severity != .ok else { continue }
                    let threshold = entry.state.severity == .critical ? entry.thresholds.critical : entry.thresholds.warning
                    result.append(
                        ActiveAlert(
                            rule: rule, subject: subject, severity: entry.state.severity, value: entry.state.value, threshold: threshold,
                            since: Self.timestamp(entry.state.since), incidentID: entry.state.incidentID))
                }
            }
            return result
        }
    }

    /// Severity of every evaluated subject (tests and reports).
    public func severity(rule: String, subject: String = "") -> AlertSeverity? {
        state.withLock { $0.entries[rule]?[subject]?.state.severity }
    }

    public func summary() -> AlertSummary {
        let active = active()
        let critical = active.filter { $0.severity == .critical }.count
        let warning = active.count - critical
        return AlertSummary(state: critical > 0 ? .critical : (warning > 0 ? .warning : .ok), warning: warning, critical: critical, enabled: settings.enabled)
    }

    /// Changes with every transition (for response caches).
    public var generation: UInt64 { state.withLock { $0.generation } }

    public var isEnabled: Bool { settings.enabled }

    public var incidentStore: IncidentStore { incidents }

    // MARK: - Service

    /// Takes up the incidents a previous run left open (the agent was stopped, restarted or crashed during them): each
    /// one of a rule still enabled becomes its subject's state again, with the incident's severity (the highest it
    /// reached), its original start and its id, so that a value still above the clear threshold continues the alert
    /// with no second notification, and a value below ends it as usual (one "resolved"). The others (their rule is
    /// now off) are ended at `now`.
    /// - Returns: how many incidents were taken up and how many ended.
    /// - Throws: the incidents database's error.
    @discardableResult
    public func resume(at now: Timestamp) async throws -> (resumed: Int, ended: Int) {
        let open = try await incidents.incidents(from: now, to: now, limit: 10_000).filter { $0.endedAt == nil && $0.severity != .ok }
        var resumed: [String: Int64] = [:]
        state.withLock { state in
            // Oldest first: should a subject have two open incidents, the newest one is taken up.
            for incident in open.sorted(by: { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }) where ruleEnabled(incident.rule) {
                let started = incident.startedAt.nanosecondsSinceEpoch / 1_000_000
                var subject = AlertSubjectState(now: started, value: incident.lastValue)
                subject.severity = incident.severity
                subject.incidentID = incident.id
                subject.peakValue = incident.peakValue
                subject.peakAt = incident.peakAt.nanosecondsSinceEpoch / 1_000_000
                subject.peakSeverity = incident.severity
                let t = incident.threshold
                state.entries[incident.rule, default: [:]][incident.subject] = Entry(
                    state: subject, thresholds: AlertThresholds(warning: t, critical: t, warningClear: t, criticalClear: t, holdFor: .zero))
                resumed[incident.rule + "\u{0}" + incident.subject] = incident.id
            }
            state.generation &+= 1
        }
        let ended = try await incidents.closeDangling(at: now, keeping: Set(resumed.values))
        return (resumed.count, ended)
    }

    private func ruleEnabled(_ rule: String) -> Bool {
        guard settings.enabled else { return false }
        switch rule {
        case "cpu": return settings.cpu.enabled
        case "memory": return settings.memory.enabled
        case "load": return settings.load.enabled
        case "disk": return settings.disk.enabled
        case "service": return settings.servicesEnabled
        default: return false
        }
    }

    public func run() async throws {
        do {
            let (resumed, ended) = try await resume(at: .now())
            if resumed > 0 { logger.info("alerts: took up incidents still open from the previous run", metadata: ["count": "\(resumed)"]) }
            if ended > 0 { logger.info("alerts: ended incidents left open by the previous run", metadata: ["count": "\(ended)"]) }
        } catch {
            logger.warning("alerts: cannot take up or end old incidents", metadata: ["error": "\(error)"])
        }
        guard let bus, settings.enabled else {
            // Returning early would end the service group: wait for shutdown, then end the notifier's stream.
            try? await gracefulShutdown()
            transitions?.finish()
            return
        }
        let stream = await bus.subscribe(name: "alerts", bufferingNewest: 256)
        await cancelWhenGracefulShutdown {
            for await batch in stream {
                let (inputs, rules) = self.inputs(for: batch)
                if !inputs.isEmpty || !rules.isEmpty {
                    // The hold runs on CLOCK_BOOTTIME, read as the batch is evaluated (right after its collection).
                    let monotonic = Int64((MonotonicClock.bootTimeSeconds() * 1000).rounded())
                    await self.evaluate(inputs, complete: rules, at: batch.timestamp, monotonic: monotonic)
                }
            }
        }
        transitions?.finish()
    }
}
