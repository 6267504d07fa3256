//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentContainers
import AgentOutputs
import AgentPlugins
import AgentRuntime
import AgentServer
import Logging
import NIOCore

/// A built-in collector that runs, with its interval and timeout.
struct EnabledCollector {
    let collector: any Collector
    let interval: Duration
    let timeout: Duration

    var descriptor: CollectorDescriptor { collector.descriptor }
}

/// The history parts of the agent.
struct AgentHistory {
    /// nil when both history and alerts are disabled.
    let database: HistoryDatabase?
    /// nil when `[history] enabled = false`.
    let writer: HistoryWriter<ContinuousClock>?
    let context: HistoryContext
}

// The parts ``Agent/build(configuration:security:load:logLevel:logger:)`` puts together, one function each.
extension Agent {
    // MARK: - Collection

    /// The built-in collectors the configuration enables, with their interval (`[collectors.X] interval`, else the
    /// agent's) and timeout (`[collectors.X] timeout`, else the collector's default capped at the interval).
    static func enabledCollectors(_ configuration: AgentConfiguration) -> [EnabledCollector] {
        CollectorCatalog.builtins(configuration: configuration).compactMap { collector in
            let descriptor = collector.descriptor
            let settings = configuration.settings(for: descriptor.id)
            guard settings.enabled ?? descriptor.enabledByDefault else { return nil }
            let interval = settings.interval ?? configuration.interval
            return EnabledCollector(collector: collector, interval: interval, timeout: settings.timeout ?? min(descriptor.defaultTimeout, interval))
        }
    }

    /// The supervisor of the enabled collectors (the others are listed as disabled), with the configured restart policy.
    static func makeSupervisor(
        _ collectors: [EnabledCollector], configuration: AgentConfiguration, bus: MetricsBus, logger: Logger
    ) -> Supervisor<ContinuousClock> {
        let enabled = Set(collectors.map(\.descriptor.id))
        let disabled = CollectorCatalog.builtins(configuration: configuration).map(\.descriptor.id).filter { !enabled.contains($0) }
        let policy = ExponentialJitterRestartPolicy(
            initial: configuration.supervisor.backoffInitial, maximum: configuration.supervisor.backoffMax,
            maxAttempts: configuration.supervisor.maxRestarts, stableAfter: configuration.supervisor.stableAfter
        )
        let children = collectors.map { entry in
            let runner = CollectorRunner(
                collector: entry.collector, interval: entry.interval, timeout: entry.timeout, paths: configuration.paths, bus: bus,
                clock: ContinuousClock(), logger: logger
            )
            return SupervisedChild(name: entry.descriptor.id, kind: "collector", isCore: entry.descriptor.isCore, policy: policy) { handle in
                try await runner.run(handle: handle)
            }
        }
        return Supervisor(children: children, disabled: disabled.map { ($0, "collector") }, clock: ContinuousClock(), logger: logger)
    }

    /// Interval and restart policy of manifests that do not set them: the agent's own.
    static func pluginDefaults(_ configuration: AgentConfiguration) -> PluginDefaults {
        PluginDefaults(
            interval: configuration.interval, restart: PluginRestartSettings(configuration.supervisor), maxSeries: configuration.plugins.maxSeriesPerPlugin,
            seriesIdleTimeout: configuration.history.seriesIdleTimeout, maxTimestampAge: configuration.history.retention)
    }

    // MARK: - History

    /// The database under the state directory and the history writer. A damaged database is moved aside and replaced at
    /// once; one that cannot be opened (permissions, a full disk) is retried at the next access, meanwhile the history
    /// routes answer 503 `storage_unavailable` with the reason, and the `storage` section of status says why.
    static func makeHistory(_ configuration: AgentConfiguration, bus: MetricsBus, storage: StorageHealth, logger: Logger) -> AgentHistory {
        let path = configuration.history.databasePath(stateDirectory: configuration.stateDirectory)
        var database: HistoryDatabase?
        if configuration.history.enabled || configuration.alerts.enabled {
            database = HistoryDatabase(recovering: path, health: storage, logger: logger)
            logger.info("history database", metadata: ["history.path": "\(path)", "status": "\(storage.condition(.history).status.rawValue)"])
        } else {
            storage.set(.history, StorageCondition(status: .disabled, reason: "[history] enabled = false and [alerts] enabled = false"))
        }
        let store = database.map(HistoryStore.init)
        guard configuration.history.enabled, let store else {
            return AgentHistory(
                database: database, writer: nil,
                context: HistoryContext(store: nil, settings: configuration.history, reports: configuration.reports, unavailableReason: "history is disabled ([history] enabled = false)"))
        }
        return AgentHistory(
            database: database, writer: HistoryWriter(store: store, bus: bus, settings: configuration.history, clock: ContinuousClock(), logger: logger),
            context: HistoryContext(store: store, settings: configuration.history, reports: configuration.reports))
    }

    // MARK: - Outputs

    /// `[outputs.postgresql]`, or nil when disabled. An outbox that cannot be opened leaves the output failing (in status
    /// and `status-simple`) while the rest of the agent runs.
    static func makePostgreSQLOutput(
        _ configuration: AgentConfiguration, agentID: String?, bus: MetricsBus, board: OutputBoard, eventLoopGroup: any EventLoopGroup,
        sessions: SessionManager?, logger: Logger
    ) -> PostgreSQLOutput? {
        guard configuration.outputs.postgresql.enabled else { return nil }
        func fail(_ reason: String) -> PostgreSQLOutput? {
            logger.error("outputs.\(PostgreSQLOutput.name) does not run", metadata: ["error": "\(reason)"])
            board.update(PostgreSQLOutput.name) { state in
                state.consecutiveFailures = OutputState.failingAfterAttempts
                state.lastError = reason
                state.lastErrorAt = .now()
            }
            return nil
        }
        guard let agentID else { return fail("no agent_id: set [outputs.postgresql] agent_id") }
        do {
            var records: (@Sendable () async -> [SessionRecord])?
            if let sessions { records = { await sessionRecords(sessions) } }
            return try PostgreSQLOutput.make(
                configuration, agentID: agentID, bus: bus, board: board, eventLoopGroup: eventLoopGroup, sessions: records, logger: logger)
        } catch {
            return fail("cannot open the outbox: \(error)")
        }
    }

    /// The sessions of `manager` as the backend's `container_sessions` keeps them.
    static func sessionRecords(_ manager: SessionManager) async -> [SessionRecord] {
        await manager.list().map { session in
            SessionRecord(
                sessionID: session.sessionID, containerID: session.containerID, username: session.username, port: session.port,
                status: session.status.rawValue, createdAt: session.createdAt, stoppedAt: session.stoppedAt)
        }
    }

    // MARK: - Operations

    /// `<state_directory>/audit.sqlite`.
    static func auditPath(_ configuration: AgentConfiguration) -> String { configuration.stateDirectory + "/audit.sqlite" }

    /// The privileged operations (commands, service control, audit log), or nil when `[commands] enabled = false` or the
    /// audit log cannot be opened (then nothing privileged runs: no action without its audit record).
    static func makeOperations(_ configuration: AgentConfiguration, snapshots: SnapshotStore, storage: StorageHealth, logger: Logger) -> Operations? {
        guard configuration.commands.enabled else {
            storage.set(.audit, StorageCondition(status: .disabled, reason: "[commands] enabled = false"))
            return nil
        }
        do {
            try HostFile.makeDirectories(configuration.stateDirectory)
        } catch {
            storage.set(.audit, StorageCondition(status: .unavailable, reason: "\(error)"))
            logger.error("the audit log cannot be opened: commands and service control are refused", metadata: ["error": "\(error)"])
            return nil
        }
        // A damaged log is moved aside and a new one started; one that cannot be opened leaves nothing privileged to run.
        guard let audit = AuditLog.open(path: auditPath(configuration), retention: configuration.commands.auditRetention, health: storage, logger: logger)
        else { return nil }
        let definitions = CommandCatalog.builtins() + configuration.commands.definitions
        let services = configuration.services
        let unitOfService: @Sendable (String) -> String? = { name in
            unit(of: name, services: services, snapshot: snapshots.current)
        }
        let catalog: @Sendable () -> CommandCatalog = {
            var units: [String: String] = [:]
            for definition in services.enabledDefinitions { units[definition.name] = unitOfService(definition.name) }
            return CommandCatalog(definitions: definitions, serviceUnits: units)
        }
        let systemd = SystemdBus.isBooted(rootfs: configuration.paths.rootfs)
            ? SystemdBus(rootfs: configuration.paths.rootfs, timeout: max(configuration.services.busTimeout, .seconds(5))) : nil
        return Operations(
            audit: audit, catalog: catalog, unitOfService: unitOfService, systemd: systemd, maximumRunning: configuration.commands.maxRunning, logger: logger)
    }

    /// The unit of a tracked service: the one the services collector reported, else its first configured unit without a glob.
    static func unit(of name: String, services: ServicesSettings, snapshot: AgentSnapshot) -> String? {
        guard let definition = services.enabledDefinitions.first(where: { $0.name == name }) else {
            return snapshot.services?.services.first { $0.name == name && $0.discovered }?.unit
        }
        if let reported = snapshot.services?.services.first(where: { $0.name == name })?.unit { return reported }
        return definition.units.first { !$0.contains("*") && !$0.contains("?") }
    }

    /// Units whose journal may be read: the tracked services', the agent's own, `[logs] units`.
    static func logUnits(configuration: AgentConfiguration, snapshots: SnapshotStore) -> @Sendable () -> [String] {
        let services = configuration.services
        let extra = configuration.logs.units
        return {
            let snapshot = snapshots.current
            var units: [String] = ["viworks-agent.service"]
            for definition in services.enabledDefinitions {
                if let unit = unit(of: definition.name, services: services, snapshot: snapshot) { units.append(unit) }
            }
            for service in snapshot.services?.services ?? [] where service.discovered { if let unit = service.unit { units.append(unit) } }
            units += extra.map { $0.contains(".") ? $0 : $0 + ".service" }
            var seen = Set<String>()
            return units.filter { seen.insert($0).inserted }
        }
    }
}
