//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
public import ServiceLifecycle
import Synchronization

/// What the systemd integration reads from the rest of the agent. The executable fills it from the
/// HTTP server's start callback, the ``SnapshotStore``, the ``Supervisor`` and the ``MetricsBus``;
/// tests fill it with controllable values.
public struct AgentHealthProbes: Sendable {
    /// True once the HTTP server listens.
    public var serverListening: @Sendable () -> Bool
    /// True once the first collection finished (``SnapshotStore/isReady``).
    public var firstCollectionDone: @Sendable () -> Bool
    /// ``Supervisor/heartbeatAge()``.
    public var heartbeatAge: @Sendable () -> Duration?
    /// ``Supervisor/heartbeatInterval``.
    public var heartbeatInterval: Duration
    /// ``MetricsBus/publishedCount()``.
    public var publishedCount: @Sendable () async -> UInt64
    /// ``Supervisor/states``: collectors and plugins.
    public var children: @Sendable () -> [ChildState]
    /// The shortest interval of the enabled collectors; nil when none is enabled.
    public var shortestCollectorInterval: Duration?

    public init(
        serverListening: @escaping @Sendable () -> Bool, firstCollectionDone: @escaping @Sendable () -> Bool,
        heartbeatAge: @escaping @Sendable () -> Duration?, heartbeatInterval: Duration, publishedCount: @escaping @Sendable () async -> UInt64,
        children: @escaping @Sendable () -> [ChildState], shortestCollectorInterval: Duration?
    ) {
        self.serverListening = serverListening
        self.firstCollectionDone = firstCollectionDone
        self.heartbeatAge = heartbeatAge
        self.heartbeatInterval = heartbeatInterval
        self.publishedCount = publishedCount
        self.children = children
        self.shortestCollectorInterval = shortestCollectorInterval
    }
}

/// A flag opened once, e.g. by the HTTP server's "listening" callback.
public final class StartupGate: Sendable {
    private let state = Mutex(false)

    public init() {}

    public var isOpen: Bool { state.withLock { $0 } }

    public func open() { state.withLock { $0 = true } }
}

/// Tells systemd (`Type=notify`) what the agent is doing: `READY=1` only when it really serves,
/// `STATUS=` kept current, `WATCHDOG=1` only while healthy, `RELOADING=1`/`READY=1` around a reload and
/// `STOPPING=1` on shutdown.
///
/// Messages, in the order they can be sent:
/// - at start, `STATUS=starting: waiting for …` naming the gates still closed;
/// - `READY=1` with `STATUS=<summary>` once **both** the HTTP server listens and the first collection of every
///   core collector has finished (polled every `readinessPollInterval`, 100 ms);
/// - `STATUS=<summary>` whenever the one-line summary changes (checked every `statusInterval`, 1 s), such as
///   `8 collectors ok` or `7 collectors ok, 1 failed: temperature` (see ``statusSummary(_:)``);
/// - `WATCHDOG=1` every `WATCHDOG_USEC / 2`, from start, when `sd_watchdog_enabled(3)` says the watchdog is on
///   for this process, and only while ``WatchdogMonitor`` finds the agent healthy (the conditions that
///   withhold the ping are documented there); a withheld ping is logged as a warning with the reason;
/// - `RELOADING=1` with `MONOTONIC_USEC=` on ``reloadStarted()``, `READY=1` on ``reloadFinished()``;
/// - `STOPPING=1` when the service group shuts down (this service is last in the group, so it stops first).
///
/// When `NOTIFY_SOCKET` is unset, nothing is sent and the service only waits for shutdown.
///
/// Unlike swift-systemd's `SystemdService`, READY does not go out when this service starts, and the watchdog
/// does not ping on a bare timer.
public final class SystemdService<C: Clock<Duration>>: Service, Sendable {
    private struct State {
        var ready = false
        var reloading = false
        var lastStatus: String?
    }

    private let notifier: SystemdNotifier
    private let probes: AgentHealthProbes
    private let clock: C
    private let readinessPollInterval: Duration
    private let statusInterval: Duration
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameters:
    ///   - notifier: where messages go; it sends nothing when `NOTIFY_SOCKET` is unset.
    ///   - probes: readiness gates, health and status sources.
    ///   - clock: the clock of every tick; tests inject a manual clock.
    ///   - readinessPollInterval: how often the readiness gates are checked before READY.
    ///   - statusInterval: how often the status summary is recomputed after READY (sent only when it changed).
    ///   - logger: where transitions (ready, withheld pings, stopping) are logged.
    public init(
        notifier: SystemdNotifier = SystemdNotifier(), probes: AgentHealthProbes, clock: C, readinessPollInterval: Duration = .milliseconds(100),
        statusInterval: Duration = .seconds(1), logger: Logger
    ) {
        self.notifier = notifier
        self.probes = probes
        self.clock = clock
        self.readinessPollInterval = readinessPollInterval
        self.statusInterval = statusInterval
        self.logger = logger
    }

    /// True once `READY=1` was sent.
    public var isReady: Bool { state.withLock { $0.ready } }

    public func run() async throws {
        guard notifier.isEnabled else {
            logger.debug("NOTIFY_SOCKET is not set: no systemd notifications")
            try? await gracefulShutdown()
            return
        }
        let pingInterval = notifier.watchdogTimeout().map { $0 / 2 }
        if let pingInterval {
            logger.info("systemd watchdog enabled", metadata: ["ping_interval_seconds": "\(pingInterval.secondsDouble)"])
        }
        await cancelWhenGracefulShutdown {
            await self.loop(pingInterval: pingInterval)
        }
        notifier.notify("STOPPING=1", "STATUS=stopping")
        logger.info("notified systemd: stopping")
    }

    // MARK: - Reload

    /// Sends `RELOADING=1` (with `MONOTONIC_USEC=`) and holds status updates until ``reloadFinished()``.
    public func reloadStarted() {
        state.withLock { $0.reloading = true }
        notifier.notify("RELOADING=1", "MONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())", "STATUS=reloading configuration")
    }

    /// Sends `READY=1` with the current summary if the agent was ready before the reload; before that, the
    /// readiness gates still decide.
    public func reloadFinished() {
        let summary = Self.statusSummary(probes.children())
        let wasReady = state.withLock { state -> Bool in
            state.reloading = false
            if state.ready { state.lastStatus = summary }
            return state.ready
        }
        if wasReady {
            notifier.notify("READY=1", "STATUS=\(summary)")
        } else {
            state.withLock { $0.lastStatus = nil }
        }
    }

    // MARK: - The loop

    private func loop(pingInterval: Duration?) async {
        let start = clock.now
        var monitor = pingInterval.map {
            WatchdogMonitor(
                start: start, pingInterval: $0, heartbeatInterval: probes.heartbeatInterval,
                shortestCollectorInterval: probes.shortestCollectorInterval
            )
        }
        var nextPoll = start
        var nextPing: C.Instant? = pingInterval == nil ? nil : start
        var withheld = false
        while !Task.isCancelled {
            let now = clock.now
            if now >= nextPoll {
                let ready = updateStatus()
                nextPoll = now.advanced(by: ready ? statusInterval : readinessPollInterval)
            }
            if let due = nextPing, let pingInterval, now >= due, var current = monitor {
                let verdict = current.check(
                    now: now, heartbeatAge: probes.heartbeatAge(), publishedCount: await probes.publishedCount(),
                    childRunning: probes.children().contains { $0.status == .running }
                )
                monitor = current
                if verdict.isHealthy {
                    notifier.notify("WATCHDOG=1")
                    if withheld { logger.info("agent healthy again: watchdog pings resumed") }
                    withheld = false
                } else if !withheld {
                    logger.warning("withholding the systemd watchdog ping", metadata: ["reason": "\(verdict)"])
                    withheld = true
                }
                let next = due.advanced(by: pingInterval)
                nextPing = next < clock.now ? clock.now.advanced(by: pingInterval) : next
            }
            let wake = nextPing.map { min($0, nextPoll) } ?? nextPoll
            do { try await clock.sleep(until: wake, tolerance: nil) } catch { return }
        }
    }

    /// Sends READY once both gates are open, then STATUS whenever the summary changes. Returns whether READY was sent.
    private func updateStatus() -> Bool {
        let (ready, reloading) = state.withLock { ($0.ready, $0.reloading) }
        if reloading { return ready }
        if !ready {
            let listening = probes.serverListening()
            let collected = probes.firstCollectionDone()
            if listening && collected {
                let summary = Self.statusSummary(probes.children())
                state.withLock {
                    $0.ready = true
                    $0.lastStatus = summary
                }
                notifier.notify("READY=1", "STATUS=\(summary)")
                logger.info("notified systemd: ready", metadata: ["status": "\(summary)"])
                return true
            }
            var waiting: [String] = []
            if !listening { waiting.append("the HTTP server") }
            if !collected { waiting.append("the first collection") }
            send(status: "starting: waiting for \(waiting.joined(separator: " and "))")
            return false
        }
        send(status: Self.statusSummary(probes.children()))
        return true
    }

    private func send(status: String) {
        let changed = state.withLock { state -> Bool in
            guard state.lastStatus != status else { return false }
            state.lastStatus = status
            return true
        }
        if changed { notifier.notify("STATUS=\(status)") }
    }

    // MARK: - Summary

    /// The one-line `STATUS=` text: healthy collectors and plugins, then the ones restarting or failed, by name.
    ///
    /// `8 collectors ok`, `7 collectors ok, 1 failed: temperature`,
    /// `11 collectors ok, 2 plugins ok, 1 restarting: disk, 1 failed: nginx`. Disabled and stopped children
    /// are left out; `starting` and `running` ones count as ok. At most five names are listed per state.
    public static func statusSummary(_ states: [ChildState]) -> String {
        func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
        func names(_ list: [String]) -> String {
            list.count <= 5 ? list.joined(separator: ", ") : list.prefix(5).joined(separator: ", ") + " and \(list.count - 5) more"
        }
        let healthy: Set<ChildStatus> = [.starting, .running]
        let collectors = states.filter { $0.kind != "plugin" }
        let plugins = states.filter { $0.kind == "plugin" }
        var parts = ["\(plural(collectors.filter { healthy.contains($0.status) }.count, "collector")) ok"]
        if !plugins.isEmpty {
            parts.append("\(plural(plugins.filter { healthy.contains($0.status) }.count, "plugin")) ok")
        }
        let restarting = states.filter { $0.status == .restarting }.map(\.name)
        if !restarting.isEmpty { parts.append("\(restarting.count) restarting: \(names(restarting))") }
        let failed = states.filter { $0.status == .failed }.map(\.name)
        if !failed.isEmpty { parts.append("\(failed.count) failed: \(names(failed))") }
        return parts.joined(separator: ", ")
    }
}
