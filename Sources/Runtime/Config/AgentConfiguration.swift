//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The whole configuration of the agent. Every key is documented in `examples/agent.toml`;
/// ``ConfigLoader`` builds it from built-in defaults, a TOML file and `VIWORKS_*` environment variables.
public struct AgentConfiguration: Sendable, Hashable {
    /// `[agent] interval`: default collection interval of every collector (the spec's 30 s).
    public var interval: Duration = .seconds(30)
    /// `[agent] state_directory`: where the agent keeps its state.
    public var stateDirectory: String = "/var/lib/viworks-agent"
    /// `[agent] release_startup_memory`: once ready, drop the code only start-up used from RSS (see `StartupMemoryRelease`).
    public var releaseStartupMemory = true
    /// `[paths]`: host roots, like node_exporter's `--path.procfs`.
    public var paths = HostPaths()
    /// `[server]`.
    public var server = ServerSettings()
    /// `[log]`.
    public var log = LogSettings()
    /// `[supervisor]`.
    public var supervisor = SupervisorSettings()
    /// `[collectors.<id>]`: per-collector enable, interval and timeout overrides, by collector id.
    public var collectors: [String: CollectorSettings] = [:]
    /// `[collectors.<id>]` options of the collectors that have any (``options(_:for:)``).
    public var collectorOptions = CollectorOptionsStore()
    /// `[plugins]`.
    public var plugins = PluginSettings()
    /// `server.allow_insecure`, `[tls]`, `[auth]`, `[access]`, `[rate_limit]`, `[limits]` (see `SecuritySettings`).
    public var security = SecuritySettings()
    /// `[history]`: the embedded time-series store (History/).
    public var history = HistorySettings()
    /// `[alerts]` and `[alerts.<rule>]`: threshold alerts and incidents (Alerts/).
    public var alerts = AlertSettings()
    /// `[notifications]`: where alert transitions go.
    public var notifications = NotificationSettings()
    /// `[services]` and `[services.<name>]`.
    public var services = ServicesSettings()
    /// `[commands]` and `[commands.<id>]`.
    public var commands = CommandSettings()
    /// `[logs]`.
    public var logs = LogSettingsForAPI()
    /// `[containers]` and `[containers.templates.<name>]`: user sessions in containers on a Docker engine.
    public var containers = ContainerSettings()
    /// `[outputs.<name>]`: where collections are pushed (Outputs/).
    public var outputs = OutputSettings()
    /// `[dashboard]`: the web dashboard at `/`.
    public var dashboard = DashboardSettings()
    /// `[stream]`: `GET /api/v1/stream`.
    public var stream = StreamSettings()
    /// `[reports]`: the time zone of the daily, weekly and monthly reports.
    public var reports = ReportSettings()

    public init() {}

    /// The settings of one collector, with defaults for the keys not set.
    public func settings(for id: String) -> CollectorSettings {
        collectors[id] ?? CollectorSettings()
    }

    /// The options of collector `id` (`[collectors.<id>]`), defaults for the keys not set.
    public func options<Options: CollectorOptions>(_ type: Options.Type, for id: String) -> Options {
        collectorOptions.values[id] as? Options ?? Options()
    }

    /// Every fixed table of the file and its keys. `[services.<name>]`, `[commands.<id>]`, `[collectors.<id>]`,
    /// `[containers.templates.<name>]` and `[[auth.api_keys]]` are tables of sections, resolved by ``ConfigLoader`` with
    /// the keys of ``ServiceDefinition``, ``CommandDefinition``, ``CollectorSettings`` (plus the collector's options),
    /// ``SessionTemplate`` and ``APIKeyEntry``.
    static let tables: [ConfigTable] = [
        ConfigTable(
            "agent",
            keys: [
                .duration("interval", \.interval, min: .milliseconds(100), max: "24h"),
                .absolutePath("state_directory", \.stateDirectory),
                .bool("release_startup_memory", \.releaseStartupMemory),
            ]),
        ConfigTable("paths", \.paths, HostPaths.keys),
        ConfigTable("server", \.server, ServerSettings.keys, extra: [.bool("allow_insecure", \.security.allowInsecure)]),
        ConfigTable("log", \.log, LogSettings.keys),
        ConfigTable("supervisor", \.supervisor, SupervisorSettings.keys),
        ConfigTable("collectors", keys: []),
        ConfigTable("plugins", \.plugins, PluginSettings.keys),
        ConfigTable("services", \.services, ServicesSettings.keys),
        ConfigTable("commands", \.commands, CommandSettings.keys),
        ConfigTable("logs", \.logs, LogSettingsForAPI.keys),
        ConfigTable("containers", \.containers, ContainerSettings.keys),
        ConfigTable("history", \.history, HistorySettings.keys),
        ConfigTable("dashboard", \.dashboard, DashboardSettings.keys),
        ConfigTable("stream", \.stream, StreamSettings.keys),
        ConfigTable("reports", \.reports, ReportSettings.keys),
        ConfigTable("alerts", \.alerts, AlertSettings.keys),
        ConfigTable("alerts.cpu", \.alerts.cpu, AlertRuleSettings.percentKeys),
        ConfigTable("alerts.memory", \.alerts.memory, AlertRuleSettings.percentKeys),
        ConfigTable("alerts.load", \.alerts.load, AlertRuleSettings.loadKeys, extra: [.bool("per_core", \.alerts.loadPerCore)]),
        ConfigTable("alerts.disk", \.alerts.disk, AlertRuleSettings.percentKeys),
        ConfigTable(
            "alerts.services", keys: [.bool("enabled", \.alerts.servicesEnabled), .duration("for", \.alerts.servicesHoldFor, min: .zero, max: "24h")]),
        ConfigTable("notifications", \.notifications, NotificationSettings.keys),
        ConfigTable("outputs", keys: []),
        ConfigTable("outputs.postgresql", \.outputs.postgresql, PostgreSQLOutputSettings.keys),
        ConfigTable("tls", \.security.tls, TLSSettings.keys),
        ConfigTable("auth", \.security.auth, AuthSettings.keys),
        ConfigTable("auth.jwt", \.security.auth.jwt, JWTSettings.keys),
        ConfigTable("access", \.security.access, AccessListSettings.keys),
        ConfigTable("rate_limit", \.security.rateLimit, RateLimitSettings.keys),
        ConfigTable("limits", \.security.limits, RequestLimitSettings.keys),
    ]
}

/// `[server]`.
public struct ServerSettings: Sendable, Hashable {
    /// `listen`: `host:port` (IPv6 as `[::1]:9740`).
    public var host: String = "127.0.0.1"
    public var port: Int = 9740
    /// `event_loop_threads`: NIO event loop threads; one is plenty for an agent.
    public var eventLoopThreads: Int = 1

    public init() {}

    /// The listen address as written in logs and messages (`127.0.0.1:9740`, `[::1]:9740`).
    public var listen: String { HostName.endpoint(host, port) }
}

/// `[log]`.
public struct LogSettings: Sendable, Hashable {
    /// `level`: trace, debug, info, notice, warning, error, critical.
    public var level: String = "info"
    /// `format`: auto (journald when stderr is the journal, else logfmt), journald, logfmt, json.
    public var format: String = "auto"

    public init() {}
}

/// `[supervisor]`: restart policy of collectors.
public struct SupervisorSettings: Sendable, Hashable {
    /// `backoff_initial`: first restart delay.
    public var backoffInitial: Duration = .seconds(1)
    /// `backoff_max`: the delay never grows past this.
    public var backoffMax: Duration = .seconds(60)
    /// `stable_after`: a child that ran this long without failing has its restart count reset.
    public var stableAfter: Duration = .seconds(120)
    /// `max_restarts`: consecutive restarts (without a stable run between them) before the child is `failed`.
    public var maxRestarts: Int = 5

    public init() {}
}

/// `[collectors.<id>]`.
public struct CollectorSettings: Sendable, Hashable {
    /// `enabled`; nil keeps the collector's default.
    public var enabled: Bool?
    /// `interval`; nil uses `[agent] interval`.
    public var interval: Duration?
    /// `timeout`; nil uses the collector's default (never longer than its interval).
    public var timeout: Duration?

    public init(enabled: Bool? = nil, interval: Duration? = nil, timeout: Duration? = nil) {
        self.enabled = enabled
        self.interval = interval
        self.timeout = timeout
    }
}

/// `[plugins]`: external collectors declared in `plugins.d/*.toml` (docs/plugin-protocol.md).
public struct PluginSettings: Sendable, Hashable {
    /// The default plugins directory.
    public static let defaultDirectory = "/etc/viworks-agent/plugins.d"
    /// `enabled`: false runs no plugin at all.
    public var enabled: Bool = true
    /// `directory`: where the manifests are; a missing directory means no plugins.
    public var directory: String = PluginSettings.defaultDirectory
    /// `max_series_per_plugin`: the `max_series` of a manifest that does not set its own.
    public var maxSeriesPerPlugin = 1000

    public init() {}
}

extension ServerSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .custom("listen") { server, raw throws(ConfigValueError) in (server.host, server.port) = try listenAddress(raw.string()) },
        .int("event_loop_threads", \.eventLoopThreads, in: 1...64),
    ]

    /// `host:port` or `[v6]:port`, port 0...65535.
    static func listenAddress(_ text: String) throws(ConfigValueError) -> (String, Int) {
        guard let (host, portText) = HostName.splitEndpoint(text[...]) else {
            throw ConfigValueError(message: "expected host:port such as \"127.0.0.1:9740\" or \"[::1]:9740\", got \"\(text)\"")
        }
        guard !host.isEmpty, let port = HostName.port(portText, in: 0...65535) else {
            throw ConfigValueError(message: "expected host:port with a port in 0...65535, got \"\(text)\"")
        }
        switch HostName.normalized(host) {
        case .success(let name): return (name, port)
        case .failure(let problem): throw ConfigValueError(message: "expected host:port, got \"\(text)\": the host \(problem.reason)")
        }
    }
}

extension LogSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .oneOf("level", \.level, ["trace", "debug", "info", "notice", "warning", "error", "critical"]),
        .oneOf("format", \.format, ["auto", "journald", "logfmt", "json"]),
    ]
}

extension SupervisorSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .duration("backoff_initial", \.backoffInitial, min: .milliseconds(10)),
        .duration("backoff_max", \.backoffMax, min: .milliseconds(10)),
        .duration("stable_after", \.stableAfter, min: .seconds(1)),
        .int("max_restarts", \.maxRestarts, in: 0...1000),
    ]
}

extension CollectorSettings: ConfigSection {
    /// The keys every `[collectors.<id>]` table has, besides the collector's own options.
    public static let keys: [ConfigKey<Self>] = [
        .bool("enabled", \.enabled),
        .duration("interval", \.interval, min: .milliseconds(100), max: "24h"),
        .duration("timeout", \.timeout, min: .milliseconds(10)),
    ]
}

extension PluginSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .bool("enabled", \.enabled),
        .absolutePath("directory", \.directory),
        .int("max_series_per_plugin", \.maxSeriesPerPlugin, in: 1...100_000),
    ]
}

extension HostPaths: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .absolutePath("proc", \.procRoot),
        .absolutePath("sys", \.sysRoot),
        .absolutePath("rootfs", \.rootfs),
    ]
}
