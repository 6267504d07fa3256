//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
public import ServiceLifecycle
import Synchronization

/// A child the ``Supervisor`` keeps running.
public struct SupervisedChild: Sendable {
    public var name: String
    public var kind: String
    public var isCore: Bool
    public var policy: any RestartPolicy
    /// Runs the child until it fails (throws) or is cancelled. Returning normally counts as an exit
    /// and is restarted like a failure.
    public var run: @Sendable (ChildHandle) async throws -> Void

    public init(
        name: String, kind: String = "collector", isCore: Bool = false, policy: any RestartPolicy,
        run: @escaping @Sendable (ChildHandle) async throws -> Void
    ) {
        self.name = name
        self.kind = kind
        self.isCore = isCore
        self.policy = policy
        self.run = run
    }
}

/// Runs its children in a task group and restarts each one that throws, hangs (its runner's deadline
/// throws) or returns, with the child's ``RestartPolicy``: exponential backoff with jitter, an attempt
/// count reset after a stable run, and `failed` with the reason after a crash loop.
///
/// swift-service-lifecycle never restarts a service; this is the one service in the top-level
/// `ServiceGroup` that owns all collectors, so one collector's failure never cancels the group.
/// While it runs, it beats a heartbeat every ``heartbeatInterval`` that the systemd watchdog checks.
public final class Supervisor<C: Clock<Duration>>: Service, Sendable {
    public let handles: [ChildHandle]
    private let children: [SupervisedChild]
    private let clock: C
    private let logger: Logger
    public let heartbeatInterval: Duration
    private let lastHeartbeat: Mutex<C.Instant?>
    private let disabled: [ChildHandle]

    /// - Parameters:
    ///   - children: the children to run, started together.
    ///   - disabled: names (and kinds) of children that configuration disabled, shown as `disabled`.
    ///   - clock: the clock of backoff sleeps and the heartbeat; tests inject a manual clock.
    public init(
        children: [SupervisedChild], disabled: [(name: String, kind: String)] = [], clock: C, heartbeatInterval: Duration = .seconds(1),
        logger: Logger
    ) {
        self.children = children
        self.handles = children.map { ChildHandle(ChildState(name: $0.name, kind: $0.kind, core: $0.isCore)) }
        self.disabled = disabled.map { ChildHandle(ChildState(name: $0.name, kind: $0.kind, core: false, status: .disabled)) }
        self.clock = clock
        self.heartbeatInterval = heartbeatInterval
        self.logger = logger
        self.lastHeartbeat = Mutex(nil)
    }

    /// Every child's state, running ones first in configuration order, then disabled ones.
    public var states: [ChildState] { (handles + disabled).map(\.snapshot) }

    /// Changes whenever any child's state changes (sum of their change counts): the API's cache key.
    public var generation: UInt64 { handles.reduce(0) { $0 &+ $1.changeCount } }

    /// Time since the supervisor last beat, or nil before its first beat.
    public func heartbeatAge() -> Duration? {
        guard let last = lastHeartbeat.withLock({ $0 }) else { return nil }
        return last.duration(to: clock.now)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for (child, handle) in zip(self.children, self.handles) {
                    group.addTask { await self.supervise(child, handle: handle) }
                }
                group.addTask { await self.beat() }
                await group.waitForAll()
            }
        }
        for handle in handles { handle.update { $0.status = $0.status == .failed ? .failed : .stopped } }
    }

    private func beat() async {
        while !Task.isCancelled {
            lastHeartbeat.withLock { $0 = clock.now }
            do { try await clock.sleep(for: heartbeatInterval) } catch { return }
        }
    }

    private func supervise(_ child: SupervisedChild, handle: ChildHandle) async {
        var logger = self.logger
        logger[metadataKey: "\(child.kind)"] = "\(child.name)"
        var attempt = 0
        while !Task.isCancelled {
            let started = clock.now
            handle.update {
                $0.status = .running
                $0.startedAt = .now()
                $0.nextRestartAt = nil
            }
            var failure: (any Error)?
            do {
                try await child.run(handle)
            } catch {
                failure = error
            }
            if Task.isCancelled { break }
            let ranFor = started.duration(to: clock.now)
            if ranFor >= child.policy.stableAfter { attempt = 0 }
            attempt += 1
            let reason = failure.map { String(describing: $0) } ?? "exited without an error"
            if let stop = failure as? any DeliberateStop {
                handle.update {
                    $0.status = .failed
                    $0.consecutiveFailures = attempt
                    $0.lastError = stop.description
                    $0.lastErrorAt = .now()
                }
                logger.info("\(child.kind) stopped and not restarted: \(stop.description)")
                return
            }
            guard child.policy.shouldRestart(attempt: attempt, error: failure) else {
                handle.update {
                    $0.status = .failed
                    $0.consecutiveFailures = attempt
                    $0.lastError = "crash loop: \(attempt) failures in a row; last: \(reason)"
                    $0.lastErrorAt = .now()
                }
                logger.error(
                    "\(child.kind) failed \(attempt) times in a row; giving up until reload",
                    metadata: ["error": "\(reason)", "attempts": "\(attempt)"]
                )
                return
            }
            let delay = child.policy.backoff(attempt: attempt)
            handle.update {
                $0.status = .restarting
                $0.restarts += 1
                $0.consecutiveFailures = attempt
                $0.lastError = reason
                $0.lastErrorAt = .now()
                $0.nextRestartAt = Timestamp(nanosecondsSinceEpoch: Timestamp.now().nanosecondsSinceEpoch + Int64(delay.secondsDouble * 1e9))
            }
            logger.warning(
                "\(child.kind) failed; restarting",
                metadata: ["error": "\(reason)", "attempt": "\(attempt)", "backoff_seconds": "\(delay.secondsDouble)"]
            )
            do { try await clock.sleep(for: delay) } catch { break }
        }
        handle.update { if $0.status != .failed { $0.status = .stopped } }
    }
}
