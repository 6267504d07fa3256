//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
public import ServiceLifecycle
import Synchronization
import UnixSignals

/// Reloads the configuration on `SIGHUP` (`systemctl reload viworks-agent`).
///
/// One reload, in this order:
/// 1. ``willReload`` runs (the executable sends systemd `RELOADING=1` through ``SystemdService/reloadStarted()``);
/// 2. the configuration is read again and validated the same way as at start (file, then `VIWORKS_*` environment,
///    then the command line). If it is invalid, every problem is logged as an error with its file, line and key,
///    and the running configuration stays as it is;
/// 3. otherwise the registered reload handlers run in registration order with the new configuration (a handler
///    that throws is logged and does not stop the others), e.g. the plugin registry re-reading `plugins.d`;
/// 4. what can change live is applied: `[log] level`. Every other changed key is logged as taking effect after a
///    restart;
/// 5. ``didReload`` runs (systemd gets `READY=1` again, with the current status).
///
/// Reloads run one at a time; a `SIGHUP` that arrives during a reload starts another one afterwards.
public final class ReloadCoordinator: Service, Sendable {
    /// Applies a new, valid configuration to one part of the agent.
    public typealias Handler = @Sendable (AgentConfiguration) async throws -> Void

    /// What one reload did.
    public enum Outcome: Sendable, Equatable {
        /// The new configuration was valid. `live`: keys applied now; `needRestart`: changed keys that take effect
        /// after a restart; `failedHandlers`: names of reload handlers that threw.
        case applied(live: [String], needRestart: [String], failedHandlers: [String])
        /// The new configuration was invalid; the running one is kept.
        case rejected([ConfigIssue])
    }

    private let load: @Sendable () throws(ConfigError) -> AgentConfiguration
    private let running: Mutex<AgentConfiguration>
    private let handlers = Mutex<[(name: String, handler: Handler)]>([])
    private let logLevel: LogLevelControl?
    private let willReload: @Sendable () -> Void
    private let didReload: @Sendable () -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - configuration: the configuration the agent started with.
    ///   - load: reads and validates the configuration again, exactly as at start.
    ///   - logLevel: the control every logger's level follows; a reload sets it to `[log] level`.
    ///   - willReload: called first (systemd `RELOADING=1`).
    ///   - didReload: called last, whatever the outcome (systemd `READY=1`).
    ///   - logger: where the outcome and the problems are logged.
    public init(
        configuration: AgentConfiguration, load: @escaping @Sendable () throws(ConfigError) -> AgentConfiguration, logLevel: LogLevelControl?,
        willReload: @escaping @Sendable () -> Void = {}, didReload: @escaping @Sendable () -> Void = {}, logger: Logger
    ) {
        self.running = Mutex(configuration)
        self.load = load
        self.logLevel = logLevel
        self.willReload = willReload
        self.didReload = didReload
        self.logger = logger
    }

    /// The configuration in effect: the start configuration with the live changes of later reloads.
    public var configuration: AgentConfiguration { running.withLock { $0 } }

    /// Adds a handler that runs on every valid reload, after those registered before it.
    /// - Parameters:
    ///   - name: names the handler in logs (`reload_handler=`).
    ///   - handler: applies the new configuration; throwing logs the error and lets the reload go on.
    public func register(_ name: String, handler: @escaping Handler) {
        handlers.withLock { $0.append((name, handler)) }
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    /// Performs one reload (what `SIGHUP` triggers).
    @discardableResult
    public func reload() async -> Outcome {
        willReload()
        defer { didReload() }
        logger.info("reloading configuration")
        let new: AgentConfiguration
        do {
            new = try load()
        } catch {
            for issue in error.issues {
                var metadata: Logger.Metadata = ["file": "\(issue.source)", "key": "\(issue.key)"]
                if let line = issue.line { metadata["line"] = "\(line)" }
                logger.error("invalid configuration: \(issue)", metadata: metadata)
            }
            logger.error("configuration reload rejected; the running configuration is kept", metadata: ["problems": "\(error.issues.count)"])
            return .rejected(error.issues)
        }
        var failed: [String] = []
        for (name, handler) in handlers.withLock({ $0 }) {
            do {
                try await handler(new)
            } catch {
                failed.append(name)
                logger.error("reload handler failed", metadata: ["reload_handler": "\(name)", "error": "\(error)"])
            }
        }
        var old = configuration
        var live: [String] = []
        if new.log.level != old.log.level {
            old.log.level = new.log.level
            logLevel?.level = Logger.Level(rawValue: new.log.level) ?? .info
            live.append("log.level")
        }
        if new.security != old.security, !failed.contains("access") {
            // Keys, JWT settings, allowlist, rate and size limits and the certificate are applied by the "access" handler;
            // the request timeout (part of each connection's pipeline), allow_insecure and turning TLS on or off are not.
            var applied = new.security
            applied.limits.requestTimeout = old.security.limits.requestTimeout
            applied.allowInsecure = old.security.allowInsecure
            if old.security.tls.isEnabled != new.security.tls.isEnabled { applied.tls = old.security.tls }
            if applied != old.security { live.append("security") }
            old.security = applied
        }
        running.withLock { $0 = old }
        let needRestart = Self.changedKeys(from: old, to: new)
        if !needRestart.isEmpty {
            logger.notice("some changes take effect after a restart", metadata: ["keys": "\(needRestart.joined(separator: ","))"])
        }
        logger.info(
            "configuration reloaded",
            metadata: ["applied": "\(live.joined(separator: ","))", "handlers": "\(handlers.withLock { $0.count })", "failed_handlers": "\(failed.count)"]
        )
        return .applied(live: live, needRestart: needRestart, failedHandlers: failed)
    }

    /// Sections (or keys) that differ between two configurations.
    static func changedKeys(from old: AgentConfiguration, to new: AgentConfiguration) -> [String] {
        var keys: [String] = []
        if old.interval != new.interval { keys.append("agent.interval") }
        if old.stateDirectory != new.stateDirectory { keys.append("agent.state_directory") }
        if old.paths != new.paths { keys.append("paths") }
        if old.server != new.server { keys.append("server") }
        if old.log.level != new.log.level { keys.append("log.level") }
        if old.log.format != new.log.format { keys.append("log.format") }
        if old.supervisor != new.supervisor { keys.append("supervisor") }
        if old.collectors != new.collectors || old.collectorOptions != new.collectorOptions { keys.append("collectors") }
        if old.security != new.security { keys.append("security") }
        if old.containers != new.containers { keys.append("containers") }
        if old.outputs != new.outputs { keys.append("outputs") }
        if old.reports != new.reports { keys.append("reports") }
        // Anything added to the configuration later and not compared above still shows up.
        if keys.isEmpty, old != new { keys.append("other") }
        return keys
    }
}
