//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Logging
import Synchronization

/// The containers collector: keeps a ``ContainersView`` that requests read without calling the engine, so the cost of
/// a status poll does not grow with the number of containers.
///
/// ``run()`` collects once at start, then every `interval` (`[agent] interval`), and also within `checkEvery` (1 s)
/// of a change of the engine's condition or of a session's status, which it reads from the ``SessionManager`` in
/// memory; a collection lists the containers, inspects each and takes a one-shot stats sample of the running ones
/// (``ContainerReporter``: the first sample of a container has no `cpu_percent`). ``generation`` changes with every
/// new view, for the response cache.
///
/// An engine that cannot be reached is a state, not an error: the view says `unavailable` with the reason (`ENOENT`,
/// `ECONNREFUSED`, `timeout`) and has no containers, and the next collection after the engine returns fills it again.
public final class ContainerMonitor: Sendable {
    private struct Source: Sendable {
        let manager: SessionManager
        let reporter: ContainerReporter
        /// Label filters of the listing: this agent's label, or none with `show_all`.
        let labels: [String]
        let interval: Duration
        let checkEvery: Duration
        let logger: Logger
    }

    private let source: Source?
    private let state: Mutex<(view: ContainersView, generation: UInt64)>

    /// A monitor with nothing to watch: the engine is `disabled` for `reason` (`[containers] enabled = false`).
    public init(disabled reason: String) {
        source = nil
        state = Mutex((ContainersView(engine: ContainerEngineStatus(status: .disabled, reason: reason)), 0))
    }

    /// A monitor with nothing to watch because the containers could not be set up: `unavailable` for `reason` (the
    /// session store cannot be opened).
    public init(unavailable reason: String) {
        source = nil
        state = Mutex((ContainersView(engine: ContainerEngineStatus(status: .unavailable, reason: reason)), 0))
    }

    /// A monitor of `manager`'s engine and sessions.
    /// - Parameters:
    ///   - showAll: list every container of the host, not only this agent's (`[containers] show_all`).
    ///   - interval: how often the containers are collected (`[agent] interval`).
    ///   - checkEvery: how often the engine's condition and the sessions are compared with the last collection.
    public init(manager: SessionManager, showAll: Bool, interval: Duration, checkEvery: Duration = .seconds(1), logger: Logger) {
        source = Source(
            manager: manager, reporter: ContainerReporter(engine: manager.engine), labels: showAll ? [] : [manager.agentLabel], interval: interval,
            checkEvery: checkEvery, logger: logger)
        state = Mutex((ContainersView(engine: ContainerEngineStatus(status: .unavailable, reason: "not connected yet"), sessions: [:]), 0))
    }

    /// The last collected view.
    public var view: ContainersView { state.withLock { $0.view } }

    /// Changes whenever ``view`` does.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Runs until cancelled (returns at once without a session manager).
    public func run() async {
        guard let source else { return }
        let clock = ContinuousClock()
        var lastCollection: ContinuousClock.Instant?
        var seen: (engine: ContainerEngineStatus, sessions: [String: SessionStatus])?
        while !Task.isCancelled {
            let engine = await source.manager.engineStatus
            let sessions = Dictionary(uniqueKeysWithValues: await source.manager.list().map { ($0.sessionID, $0.status) })
            let due = lastCollection.map { clock.now - $0 >= source.interval } ?? true
            if due || seen?.engine != engine || seen?.sessions != sessions {
                lastCollection = clock.now
                await collect(source, engine: engine)
                // The engine as the view shows it: a listing that failed although the manager was connected is tried
                // again at the next check rather than at the next interval.
                seen = (view.engine, sessions)
            }
            do {
                try await Task.sleep(for: source.checkEvery)
            } catch {
                return
            }
        }
    }

    /// Collects once now (``run()`` does it on its schedule).
    public func refresh() async {
        guard let source else { return }
        await collect(source, engine: await source.manager.engineStatus)
    }

    private func collect(_ source: Source, engine: ContainerEngineStatus) async {
        var engine = engine
        var containers: [ContainerReport] = []
        if engine.status == .available {
            do {
                containers = try await source.reporter.reports(labels: source.labels).sorted { ($0.name, $0.id) < ($1.name, $1.id) }
            } catch is CancellationError {
                return
            } catch let error as ContainerEngineError where error.unavailableReason != nil {
                engine = ContainerEngineStatus(status: .unavailable, version: engine.version, apiVersion: engine.apiVersion, reason: error.unavailableReason)
            } catch {
                // The engine answered, but not with a listing: keep what was known and say why in the log.
                source.logger.warning("containers: listing failed", metadata: ["error": "\(error)"])
                containers = view.containers
            }
        }
        var counts: [SessionStatus: Int] = [:]
        for status in SessionStatus.allCases where status.holdsContainer { counts[status] = 0 }
        for session in await source.manager.list() where session.status.holdsContainer { counts[session.status, default: 0] += 1 }
        publish(ContainersView(engine: engine, containers: containers, sessions: counts))
    }

    private func publish(_ view: ContainersView) {
        state.withLock { state in
            guard state.view != view else { return }
            state.view = view
            state.generation &+= 1
        }
    }
}

/// Status and `/metrics` read the monitor through ``ContainerStatusSource`` (declared in the runtime, injected by the
/// executable).
extension ContainerMonitor: ContainerStatusSource {}
