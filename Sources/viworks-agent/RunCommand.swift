//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import AgentServer
import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the agent (the default command).")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Listen address host:port, overriding [server] listen. Default: 127.0.0.1:9740.")
    var listen: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "auto, journald, logfmt or json. auto: journald when stderr is the journal (JOURNAL_STREAM), else logfmt.")
    var logFormat: String?

    /// The file, then the environment, then this command's flags; the same at start and on every SIGHUP reload.
    func loadConfiguration() throws(ConfigError) -> ConfigLoader.Loaded {
        var overrides: [ConfigLoader.Override] = []
        if let listen { overrides.append(.init(flag: "--listen", key: "server.listen", value: listen)) }
        if let logLevel { overrides.append(.init(flag: "--log-level", key: "log.level", value: logLevel)) }
        if let logFormat { overrides.append(.init(flag: "--log-format", key: "log.format", value: logFormat)) }
        return try options.loadWithWarnings(environment: ProcessEnvironment.current, overrides: overrides)
    }

    func run() async throws {
        let loaded: ConfigLoader.Loaded
        do {
            loaded = try loadConfiguration()
        } catch {
            for issue in error.issues { printError("error: \(issue)") }
            throw ExitCode(78)  // EX_CONFIG
        }
        let configuration = loaded.configuration
        let levelControl = LoggingBootstrap.bootstrap(configuration.log)
        let logger = Logger(label: "viworks-agent")
        for warning in loaded.warnings {
            logger.warning("\(warning.message)", metadata: ["variable": "\(warning.key)", "source": "\(warning.source)"])
        }
        let security: SecuritySetup
        do {
            security = try await SecuritySetup(configuration: configuration, logger: logger)
        } catch {
            printError("error: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
        let assembly = AgentAssembly(configuration: configuration, logger: logger)
        let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: configuration.server.eventLoopThreads)
        let bus = assembly.bus
        let supervisor = assembly.supervisor
        let snapshots = assembly.snapshots
        let plugins = assembly.plugins
        let serverListening = StartupGate()
        let storage = StorageHealth()
        let history = HistoryAssembly(configuration: configuration, bus: bus, logger: logger, storage: storage)
        let operations = OperationsAssembly.make(configuration: configuration, snapshots: snapshots, storage: storage, logger: logger)
        var dependencies = APIDependencies(
            snapshots: assembly.snapshots,
            collectorStates: { supervisor.states },
            busStatistics: { BusStatistics(published: await bus.publishedCount(), dropped: await bus.dropCounts()) },
            version: AgentCommand.version, plugins: assembly.plugins, collectorGeneration: { supervisor.generation }
        )
        dependencies.history = history.context
        dependencies.storage = storage
        dependencies.headlineThresholds = AgentCondition.Thresholds(configuration.alerts)
        if let writer = history.writer {
            dependencies.historyRetryBuffer = { writer.retryBuffer }
            dependencies.historyStatistics = { writer.statistics }
        }
        dependencies.alerts = history.engine
        dependencies.operations = operations
        dependencies.journal = JournalReader(directory: configuration.logs.journalDirectory)
        dependencies.logUnits = OperationsAssembly.logUnits(configuration: configuration, snapshots: snapshots)
        var extraServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let audit = operations?.audit {
            extraServices.append(.init(service: AuditRetention(audit: audit, retention: configuration.commands.auditRetention, logger: logger)))
        }
        var recoveryPolicies: [String: RecoveryPolicy] = [:]
        for definition in configuration.services.enabledDefinitions { recoveryPolicies[definition.name] = definition.recovery }
        if let operations, !recoveryPolicies.isEmpty {
            extraServices.append(.init(service: AutoRecovery(bus: bus, operations: operations, policies: recoveryPolicies, logger: logger)))
        }
        let application = APIServer.buildApplication(
            dependencies: dependencies, settings: configuration.server, eventLoopGroup: eventLoopGroup, logger: logger,
            access: security.access, tls: security.tls, requestTimeout: configuration.security.limits.requestTimeout,
            onServerRunning: { channel in
                serverListening.open()
                logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            }
        )
        logger.info(
            "starting viworks-agent \(AgentCommand.version)",
            metadata: [
                "collectors": "\(assembly.enabled.map(\.collector.descriptor.id).joined(separator: ","))",
                "proc": "\(configuration.paths.procRoot)", "sys": "\(configuration.paths.sysRoot)", "rootfs": "\(configuration.paths.rootfs)",
            ]
        )
        let systemd = SystemdService(
            probes: AgentHealthProbes(
                serverListening: { serverListening.isOpen }, firstCollectionDone: { snapshots.isReady },
                heartbeatAge: { supervisor.heartbeatAge() }, heartbeatInterval: supervisor.heartbeatInterval,
                publishedCount: { await bus.publishedCount() }, children: { supervisor.states + AgentAssembly.pluginStates(plugins) },
                shortestCollectorInterval: assembly.enabled.map(\.interval).min()
            ),
            clock: ContinuousClock(), logger: logger
        )
        let command = self
        let reloader = ReloadCoordinator(
            configuration: configuration, load: { () throws(ConfigError) in try command.loadConfiguration().configuration }, logLevel: levelControl,
            willReload: { systemd.reloadStarted() }, didReload: { systemd.reloadFinished() }, logger: logger
        )
        reloader.register("plugins") { configuration in await AgentAssembly.reloadPlugins(plugins, configuration) }
        reloader.register("access") { configuration in try await security.reload(configuration, logger: logger) }
        let tlsWatcher: [ServiceGroupConfiguration.ServiceConfiguration] = security.tls.map { provider in
            [.init(service: TLSReloadService(provider: provider, interval: configuration.security.tls.reloadCheckInterval, logger: logger))]
        } ?? []
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: assembly.snapshots)] + history.services + [
                    .init(service: supervisor), .init(service: assembly.plugins), .init(service: application),
                    .init(service: reloader),
                ] + extraServices + tlsWatcher + [
                    .init(
                        service: StartupMemoryRelease(
                            enabled: configuration.releaseStartupMemory, isReady: { snapshots.isReady && serverListening.isOpen }, logger: logger)),
                    // Last, so that it stops first: STOPPING=1 goes out as soon as shutdown begins.
                    .init(service: systemd),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            // Typically the listen address: a host that does not resolve, a port in use, no permission.
            let host = configuration.server.host
            let listen = host.contains(":") ? "[\(host)]:\(configuration.server.port)" : "\(host):\(configuration.server.port)"
            let message = Self.describe(error, listen: listen, listening: serverListening.isOpen)
            logger.critical("the agent stopped on an error", metadata: ["error": "\(message)", "listen": "\(listen)"])
            printError("error: \(message)")
            try? await eventLoopGroup.shutdownGracefully()
            throw ExitCode(1)
        }
        await bus.finish()
        try await eventLoopGroup.shutdownGracefully()
        logger.info("stopped")
    }

    /// A start-up failure in plain words: the errors of NIO name its internals (`bind(descriptor:ptr:bytes:)`), so
    /// socket errors before the server listens are told as `cannot listen on ADDRESS: address already in use`.
    static func describe(_ error: any Error, listen: String, listening: Bool) -> String {
        if !listening {
            if let error = error as? IOError {
                return "cannot listen on \(listen): \(lowercasedFirst(String(cString: strerror(error.errnoCode))))"
            }
            if error is SocketAddressError || error is SocketAddressError.UnknownHost {
                return "cannot listen on \(listen): the host name does not resolve to an address"
            }
        }
        return "viworks-agent stopped: \(error) (listen address \(listen))"
    }

    static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.lowercased() + text.dropFirst()
    }
}
