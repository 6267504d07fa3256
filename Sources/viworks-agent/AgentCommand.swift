//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import ArgumentParser

/// `viworks-agent`: the ViWorks OS Agent.
@main
struct AgentCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "viworks-agent",
        abstract: "Linux monitoring and operations agent: collects host health and serves it over a REST API.",
        version: version,
        subcommands: [
            RunCommand.self, CheckConfigCommand.self, CollectCommand.self, CaptureCommand.self, VersionCommand.self, DebugCommand.self, PluginCommand.self, AuditCommand.self,
            KeysCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )

    /// Makes NIO's event loop Swift concurrency's default executor before the first task, then parses and runs the command.
    static func main() async {
        AgentExecutorFactory.install()
        await main(nil)
    }
}

/// Options shared by the commands that read the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (TOML). Default: \(ConfigLoader.defaultPath) when it exists, else built-in defaults.")
    var config: String?

    @Option(name: .customLong("proc-root"), help: "procfs mount to read (like node_exporter's --path.procfs). Default: /proc.")
    var procRoot: String?

    @Option(name: .customLong("sys-root"), help: "sysfs mount to read. Default: /sys.")
    var sysRoot: String?

    @Option(name: .customLong("rootfs"), help: "Host root filesystem (os-release, machine-id, mount points). Default: /.")
    var rootfs: String?

    /// Loads the file and the environment, then applies the command-line overrides; prints the warnings (an unknown
    /// `VIWORKS_*` variable) to stderr.
    func load(environment: [String: String]) throws(ConfigError) -> AgentConfiguration {
        let loaded = try loadWithWarnings(environment: environment)
        for warning in loaded.warnings { printError("warning: \(warning)") }
        return loaded.configuration
    }

    /// Loads the file, the environment, then `overrides` (flags of the command, blamed by name when wrong) and the
    /// root paths; the caller reports the warnings.
    func loadWithWarnings(environment: [String: String], overrides: [ConfigLoader.Override] = []) throws(ConfigError) -> ConfigLoader.Loaded {
        let loader = ConfigLoader(collectors: CollectorCatalog.configSchemas)
        var loaded = try loader.loadWithWarnings(path: config, environment: environment, overrides: overrides)
        if let procRoot { loaded.configuration.paths.procRoot = procRoot }
        if let sysRoot { loaded.configuration.paths.sysRoot = sysRoot }
        if let rootfs { loaded.configuration.paths.rootfs = rootfs }
        return loaded
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the agent's version.")

    func run() {
        print("viworks-agent \(AgentCommand.version)")
    }
}

struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration; print each problem as FILE:LINE: KEY: MESSAGE and exit non-zero if there is any."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration: AgentConfiguration
        do {
            configuration = try options.load(environment: ProcessEnvironment.current)
        } catch {
            for issue in error.issues { printError("error: \(issue)") }
            throw ExitCode(1)
        }
        // The keys and certificates themselves: what the agent would refuse at start.
        do {
            _ = try await SecuritySetup(configuration: configuration, logger: nil)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let source = options.config ?? (HostFile.exists(ConfigLoader.defaultPath) ? ConfigLoader.defaultPath : "built-in defaults")
        print("configuration OK (\(source)): listen \(configuration.server.listen), interval \(configuration.interval)")
    }
}
