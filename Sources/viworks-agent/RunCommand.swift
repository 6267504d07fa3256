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
            logger.warning("\(warning.message)", metadata: ["key": "\(warning.key)", "source": "\(warning.source)\(warning.line.map { ":\($0)" } ?? "")"])
        }
        let security: SecuritySetup
        do {
            security = try await SecuritySetup(configuration: configuration, logger: logger)
        } catch {
            printError("error: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
        let command = self
        let agent = await Agent.build(
            configuration: configuration, security: security, load: { () throws(ConfigError) in try command.loadConfiguration().configuration },
            logLevel: levelControl, logger: logger)
        logger.info(
            "starting viworks-agent \(AgentCommand.version)",
            metadata: [
                "collectors": "\(agent.collectors.map(\.descriptor.id).joined(separator: ","))",
                "proc": "\(configuration.paths.procRoot)", "sys": "\(configuration.paths.sysRoot)", "rootfs": "\(configuration.paths.rootfs)",
            ]
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: agent.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            // Typically the listen address: a host that does not resolve, a port in use, no permission.
            let listen = configuration.server.listen
            let message = Self.describe(error, listen: listen, listening: agent.serverListening.isOpen)
            logger.critical("the agent stopped on an error", metadata: ["error": "\(message)", "listen": "\(listen)"])
            printError("error: \(message)")
            await agent.shutdown()
            throw ExitCode(1)
        }
        await agent.shutdown()
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
