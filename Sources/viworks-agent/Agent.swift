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
import NIOPosix
import ServiceLifecycle

/// The agent of one configuration: every part built once by ``build(configuration:security:load:logLevel:logger:)``,
/// its services in start order (a ServiceGroup shuts them down in reverse), and the clients they share, which
/// ``shutdown()`` closes after the services stopped. The executable owns the wiring because it is the only module that
/// sees collectors, plugins and server together.
struct Agent {
    /// Start order; shutdown goes in reverse.
    let services: [ServiceGroupConfiguration.ServiceConfiguration]
    /// Opens once the HTTP server listens.
    let serverListening: StartupGate
    /// The collectors that run (for the start-up log line).
    let collectors: [EnabledCollector]
    let bus: MetricsBus
    /// The HTTP server's loops (also the webhook client's).
    let eventLoopGroup: MultiThreadedEventLoopGroup
    /// The webhook client, injected into the alert notifier.
    let webhookTransport: AsyncHTTPClientTransport
    /// The engine client and the session store, closed after the services stopped.
    let containers: AgentContainersPart

    /// Builds every part from `configuration` and lists the services in the order they start.
    /// - Parameters:
    ///   - security: the access control and TLS context (built first: a bad key file stops the start).
    ///   - load: reads the configuration again on SIGHUP, exactly as at start.
    ///   - logLevel: the level every logger follows; a reload sets it.
    static func build(
        configuration: AgentConfiguration, security: SecuritySetup, load: @escaping @Sendable () throws(ConfigError) -> AgentConfiguration,
        logLevel: LogLevelControl?, logger: Logger
    ) async -> Agent {
        let clock = ContinuousClock()
        let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: configuration.server.eventLoopThreads)
        let webhookTransport = AsyncHTTPClientTransport(eventLoopGroup: eventLoopGroup)
        let serverListening = StartupGate()
        let storage = StorageHealth()

        // Collection: collectors under the supervisor, plugins, the bus between them and the snapshot the API reads.
        let bus = MetricsBus()
        let collectors = enabledCollectors(configuration)
        let snapshots = SnapshotStore(
            bus: bus, requiredSources: Set(collectors.filter(\.descriptor.isCore).map(\.descriptor.id)),
            sectionKeys: CollectorCatalog.systemInfoSectionKeys)
        let supervisor = makeSupervisor(collectors, configuration: configuration, bus: bus, logger: logger)
        let plugins = PluginRegistry(
            directory: configuration.plugins.enabled ? configuration.plugins.directory : nil, defaults: pluginDefaults(configuration), bus: bus,
            logger: logger, agentVersion: AgentCommand.version)

        // History and alerts.
        let history = makeHistory(configuration, bus: bus, storage: storage, logger: logger)
        let (transitions, continuation) = AsyncStream.makeStream(of: AlertTransition.self, bufferingPolicy: .bufferingNewest(1000))
        let engine = AlertEngine(
            settings: configuration.alerts, incidents: IncidentStore(database: history.database), bus: bus, services: nil, transitions: continuation,
            logger: logger)
        let notifier = AlertNotifier(
            transitions: transitions, settings: configuration.notifications, clock: clock, logger: logger, transport: webhookTransport)

        // Push outputs: their states for status and metrics, the id their rows carry.
        let agentID = AgentIdentity.resolve(configured: configuration.outputs.postgresql.agentID, paths: configuration.paths)
        let outputs = OutputBoard([OutputState(name: PostgreSQLOutput.name, enabled: configuration.outputs.postgresql.enabled)])

        // Privileged operations and what keeps them: the audit log's retention, auto-recovery of tracked services.
        let operations = makeOperations(configuration, snapshots: snapshots, storage: storage, logger: logger)
        let auditRetention = operations?.audit.map { AuditRetention(audit: $0, retention: configuration.commands.auditRetention, logger: logger) }
        var recoveryPolicies: [String: RecoveryPolicy] = [:]
        for definition in configuration.services.enabledDefinitions { recoveryPolicies[definition.name] = definition.recovery }
        let autoRecovery = operations.flatMap { operations in
            recoveryPolicies.isEmpty ? nil : AutoRecovery(bus: bus, operations: operations, policies: recoveryPolicies, logger: logger)
        }

        // User sessions in containers and the container monitor.
        var auditSessions: (@Sendable (AuditRecord) throws -> AuditRecord?)?
        if let operations { auditSessions = { record in try operations.record(record) } }
        let containers = await makeContainers(configuration, audit: auditSessions, logger: logger)
        let postgresql = makePostgreSQLOutput(
            configuration, agentID: agentID, bus: bus, board: outputs, eventLoopGroup: eventLoopGroup, sessions: containers.manager, logger: logger)

        // The HTTP API.
        var dependencies = APIDependencies(
            snapshots: snapshots, collectorStates: { supervisor.states },
            busStatistics: { BusStatistics(published: await bus.publishedCount(), dropped: await bus.dropCounts()) },
            version: AgentCommand.version, plugins: plugins, collectorGeneration: { supervisor.generation }
        )
        dependencies.history = history.context
        dependencies.historyWriter = history.writer
        dependencies.storage = storage
        dependencies.outputs = outputs
        dependencies.agentID = agentID
        dependencies.headlineThresholds = AgentCondition.Thresholds(configuration.alerts)
        dependencies.alerts = engine
        dependencies.operations = operations
        dependencies.journal = JournalReader(directory: configuration.logs.journalDirectory)
        dependencies.logUnits = logUnits(configuration: configuration, snapshots: snapshots)
        dependencies.sessions = containers.manager
        dependencies.containers = containers.monitor
        dependencies.dashboard = configuration.dashboard
        let liveStatus = LiveStatusHub(dependencies: dependencies, bus: bus, settings: configuration.stream, logger: logger)
        dependencies.liveStatus = liveStatus
        let server = APIServer.buildApplication(
            dependencies: dependencies, settings: configuration.server, eventLoopGroup: eventLoopGroup, logger: logger,
            access: security.access, tls: security.tls, requestTimeout: configuration.security.limits.requestTimeout,
            onServerRunning: { channel in
                serverListening.open()
                logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            }
        )

        // systemd and SIGHUP.
        let systemd = SystemdService(
            probes: AgentHealthProbes(
                serverListening: { serverListening.isOpen }, firstCollectionDone: { snapshots.isReady },
                heartbeatAge: { supervisor.heartbeatAge() }, heartbeatInterval: supervisor.heartbeatInterval,
                publishedCount: { await bus.publishedCount() }, children: { supervisor.states + plugins.childStates() },
                shortestCollectorInterval: collectors.map(\.interval).min()
            ),
            clock: clock, logger: logger
        )
        let reloader = ReloadCoordinator(
            configuration: configuration, load: load, logLevel: logLevel, willReload: { systemd.reloadStarted() },
            didReload: { systemd.reloadFinished() }, logger: logger
        )
        reloader.register("plugins") { configuration in
            _ = await plugins.reload(
                directory: configuration.plugins.enabled ? configuration.plugins.directory : nil, defaults: pluginDefaults(configuration))
        }
        reloader.register("access") { configuration in try await security.reload(configuration, logger: logger) }
        let tlsReload = security.tls.map { TLSReloadService(provider: $0, interval: configuration.security.tls.reloadCheckInterval, logger: logger) }
        let memoryRelease = StartupMemoryRelease(
            enabled: configuration.releaseStartupMemory,
            isReady: { [writer = history.writer] in snapshots.isReady && serverListening.isOpen && writer?.hasAttemptedFlush != false },
            releaseCaches: { [database = history.database, audit = operations?.audit] in
                database?.releaseMemory()
                audit?.releaseMemory()
            },
            logger: logger)

        // The start order. Shutdown runs it backwards: systemd hears STOPPING=1 first; the server stops taking requests
        // before the background jobs it started are cancelled; the collectors and plugins stop before the history
        // writer's last flush and the output's last collection; the alert engine stops before the notifier delivers
        // what is queued.
        let ordered: [(any Service)?] = [
            snapshots,
            notifier,
            engine,
            liveStatus,
            history.writer,
            postgresql,
            operations?.jobs,
            supervisor,
            plugins,
            containers.service,
            server,
            reloader,
            auditRetention,
            autoRecovery,
            tlsReload,
            memoryRelease,
            systemd,
        ]
        return Agent(
            services: ordered.compactMap { $0.map { .init(service: $0) } }, serverListening: serverListening, collectors: collectors, bus: bus,
            eventLoopGroup: eventLoopGroup, webhookTransport: webhookTransport, containers: containers)
    }

    /// Closes what the services shared, once they all stopped: the bus, the webhook client, the engine client and the
    /// session store, the event loops.
    func shutdown() async {
        await bus.finish()
        await containers.close()
        try? await webhookTransport.shutdown()
        try? await eventLoopGroup.shutdownGracefully()
    }
}
