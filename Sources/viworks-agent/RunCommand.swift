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

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the agent (the default command).")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Listen address host:port, overriding [server] listen. Default: 127.0.0.1:9740.")
    var listen: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "auto, logfmt or json (journald arrives with the systemd integration).")
    var logFormat: String?

    func run() async throws {
        var configuration: AgentConfiguration
        do {
            var environment = ProcessEnvironment.current
            if let listen { environment["VIWORKS_SERVER_LISTEN"] = listen }
            if let logLevel { environment["VIWORKS_LOG_LEVEL"] = logLevel }
            if let logFormat { environment["VIWORKS_LOG_FORMAT"] = logFormat }
            configuration = try options.load(environment: environment)
        } catch {
            for issue in error.issues { printError("error: \(issue)") }
            throw ExitCode(78)  // EX_CONFIG
        }
        LoggingBootstrap.bootstrap(configuration.log)
        let logger = Logger(label: "viworks-agent")
        let assembly = AgentAssembly(configuration: configuration, logger: logger)
        let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: configuration.server.eventLoopThreads)
        let bus = assembly.bus
        let supervisor = assembly.supervisor
        let dependencies = APIDependencies(
            snapshots: assembly.snapshots,
            collectorStates: { supervisor.states },
            busStatistics: { BusStatistics(published: await bus.publishedCount(), dropped: await bus.dropCounts()) },
            version: AgentCommand.version
        )
        let application = APIServer.buildApplication(
            dependencies: dependencies, settings: configuration.server, eventLoopGroup: eventLoopGroup, logger: logger,
            onServerRunning: { channel in
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
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: assembly.snapshots), .init(service: supervisor), .init(service: application),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        await bus.finish()
        try await eventLoopGroup.shutdownGracefully()
        logger.info("stopped")
    }
}
