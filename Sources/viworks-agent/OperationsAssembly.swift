//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#endif
import AgentRuntime
import ArgumentParser
import Logging
import ServiceLifecycle

/// Builds the privileged operations (commands, service control, audit log, journal access) from a configuration.
enum OperationsAssembly {
    /// `<state_directory>/audit.sqlite`.
    static func auditPath(_ configuration: AgentConfiguration) -> String { configuration.stateDirectory + "/audit.sqlite" }

    /// The operations, or nil when `[commands] enabled = false` or the audit log cannot be opened (then nothing
    /// privileged runs: no action without its audit record).
    static func make(configuration: AgentConfiguration, snapshots: SnapshotStore, storage: StorageHealth, logger: Logger) -> Operations? {
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
            Self.unit(of: name, services: services, snapshot: snapshots.current)
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

/// Removes audit records older than `[commands] audit_retention`, at start and then daily.
struct AuditRetention: Service {
    let audit: AuditLog
    let retention: Duration
    let logger: Logger

    func run() async {
        // Shutdown cancels the sleep: the service then ends normally (an error here would fail the whole agent's exit).
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            // Saturating: a configured retention of centuries means "keep everything", not a trap.
            let cutoff = Timestamp(secondsSinceEpoch: Timestamp.now().secondsSinceEpoch - retention.secondsDouble)
            do {
                let removed = try audit.removeRecords(before: cutoff)
                if removed > 0 { logger.info("audit retention removed old records", metadata: ["removed": "\(removed)"]) }
            } catch {
                logger.warning("audit retention failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(86_400))
        }
    }
}

/// `viworks-agent audit verify`: recomputes the audit log's hash chain.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Inspect the audit log.", subcommands: [AuditVerifyCommand.self])
}

struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the audit log's hash chain; exit 1 and name the first record that does not verify.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "The audit database (default: <state_directory>/audit.sqlite).")
    var file: String?

    func run() async throws {
        let path: String
        if let file {
            path = file
        } else {
            do {
                path = OperationsAssembly.auditPath(try options.load(environment: ProcessEnvironment.current))
            } catch {
                for issue in error.issues { printError("error: \(issue)") }
                throw ExitCode(78)
            }
        }
        guard HostFile.exists(path) else {
            printError("error: \(path) does not exist")
            throw ExitCode(1)
        }
        do {
            let verification = try AuditLog(path: path, journal: false).verify()
            print(verification.description)
            if !verification.isIntact { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("error: cannot read \(path): \(error)")
            throw ExitCode(1)
        }
    }
}
