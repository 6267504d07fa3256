//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
public import ServiceLifecycle

/// `[services.<name>] recovery`: restart a service that is `stopped` or `error`, at most `maxAttempts` times per `window`,
/// waiting `backoff` (doubling) between attempts; then give up loudly until the service runs again.
public struct RecoveryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var window: Duration
    public var backoff: Duration

    public init(maxAttempts: Int = 3, window: Duration = .seconds(600), backoff: Duration = .seconds(10)) {
        self.maxAttempts = maxAttempts
        self.window = window
        self.backoff = backoff
    }
}

/// The state of one service's recovery, exposed for tests and logs.
public struct RecoveryState: Sendable, Hashable {
    /// Monotonic seconds of the attempts still inside the window.
    public var attempts: [Double] = []
    public var nextAllowed: Double = 0
    public var gaveUp = false

    public init() {}
}

/// Decides when to restart; pure, so tests drive it with their own clock.
public struct RecoveryPlanner: Sendable {
    public var policy: RecoveryPolicy
    public private(set) var state = RecoveryState()

    public init(policy: RecoveryPolicy) {
        self.policy = policy
    }

    public enum Decision: Sendable, Hashable {
        case nothing
        case restart(attempt: Int)
        /// The policy is exhausted: say so once.
        case giveUp(attempts: Int)
    }

    /// What to do for a service in `status` at monotonic time `now`.
    public mutating func decide(_ status: ServiceStatus, now: Double) -> Decision {
        let window = policy.window.secondsDouble
        state.attempts.removeAll { now - $0 > window }
        guard status == .stopped || status == .error else {
            // Running again (or unknown: never act on what we cannot see): a later failure starts afresh.
            if status == .running { state = RecoveryState() }
            return .nothing
        }
        if state.attempts.count >= policy.maxAttempts {
            if state.gaveUp { return .nothing }
            state.gaveUp = true
            return .giveUp(attempts: state.attempts.count)
        }
        guard now >= state.nextAllowed else { return .nothing }
        state.attempts.append(now)
        var delay = policy.backoff.secondsDouble
        for _ in 1..<max(1, state.attempts.count) { delay *= 2 }
        state.nextAllowed = now + delay
        return .restart(attempt: state.attempts.count)
    }
}

/// Watches the services collector's reports on the bus and restarts services whose policy says so, through
/// ``Operations/serviceAction(_:service:principal:timeout:event:)`` (so each attempt is audited as `recovery.start` /
/// `recovery.end` and logged).
public final class AutoRecovery: Service, Sendable {
    private let bus: MetricsBus
    private let operations: Operations
    private let policies: [String: RecoveryPolicy]
    private let logger: Logger

    public init(bus: MetricsBus, operations: Operations, policies: [String: RecoveryPolicy], logger: Logger) {
        self.bus = bus
        self.operations = operations
        self.policies = policies
        self.logger = logger
    }

    public func run() async throws {
        guard !policies.isEmpty else { return }
        let stream = await bus.subscribe(name: "auto-recovery", bufferingNewest: 16)
        let policies = self.policies
        await cancelWhenGracefulShutdown {
            var planners = policies.mapValues(RecoveryPlanner.init)
            for await batch in stream {
                guard case .services(let report)? = batch.report else { continue }
                let now = MonotonicClock.bootTimeSeconds()
                for service in report.services {
                    guard var planner = planners[service.name] else { continue }
                    let decision = planner.decide(service.status, now: now)
                    planners[service.name] = planner
                    switch decision {
                    case .nothing:
                        continue
                    case .giveUp(let attempts):
                        self.logger.critical(
                            "auto-recovery gave up: the service is still down after every allowed restart",
                            metadata: ["service": "\(service.name)", "attempts": "\(attempts)", "status": "\(service.status.rawValue)",
                                "window_seconds": "\(planner.policy.window.secondsDouble)"])
                        _ = try? self.operations.record(
                            AuditRecord(time: .now(), event: "recovery.giveup", principal: Requester.agent.name, role: Requester.agent.role,
                                action: "restart \(service.name)", outcome: "gave up after \(attempts) attempts"))
                    case .restart(let attempt):
                        self.logger.warning(
                            "auto-recovery: restarting a service that is down",
                            metadata: ["service": "\(service.name)", "attempt": "\(attempt)", "status": "\(service.status.rawValue)",
                                "reason": "\(service.reason ?? "-")"])
                        do {
                            let result = try await self.operations.serviceAction(.restart, service: service.name, principal: .agent, event: "recovery")
                            self.logger.notice(
                                "auto-recovery: restart done", metadata: ["service": "\(service.name)", "active_state": "\(result.activeState)", "pid": "\(result.mainPID ?? 0)"])
                        } catch {
                            self.logger.error("auto-recovery: restart failed", metadata: ["service": "\(service.name)", "error": "\(error)"])
                        }
                    }
                }
            }
        }
    }
}
