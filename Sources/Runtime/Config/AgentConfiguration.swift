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
    /// `[collectors.disk]` options.
    public var disk = DiskSettings()
    /// `[collectors.network]` options.
    public var network = NetworkSettings()
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
    /// `[collectors.processes]` options.
    public var processes = ProcessesSettings()
    /// `[commands]` and `[commands.<id>]`.
    public var commands = CommandSettings()
    /// `[logs]`.
    public var logs = LogSettingsForAPI()

    public init() {}

    /// The settings of one collector, with defaults for the keys not set.
    public func settings(for id: String) -> CollectorSettings {
        collectors[id] ?? CollectorSettings()
    }
}

/// `[server]`.
public struct ServerSettings: Sendable, Hashable {
    /// `listen`: `host:port` (IPv6 as `[::1]:9740`).
    public var host: String = "127.0.0.1"
    public var port: Int = 9740
    /// `event_loop_threads`: NIO event loop threads; one is plenty for an agent.
    public var eventLoopThreads: Int = 1

    public init() {}
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

/// `[collectors.disk]`.
public struct DiskSettings: Sendable, Hashable {
    /// `exclude_fs_types`: pseudo and virtual filesystems, never reported unless listed in `include_fs_types`.
    public var excludeFSTypes: [String] = DiskSettings.defaultExcludedFSTypes
    /// `include_fs_types`: when not empty, only these types are reported.
    public var includeFSTypes: [String] = []
    /// `exclude_mount_points`: mount points to skip; an entry ending in `/*` skips everything below it.
    public var excludeMountPoints: [String] = ["/proc/*", "/sys/*", "/dev/*", "/run/credentials/*"]
    /// `statfs_timeout`: a `statvfs` that takes longer (dead NFS server) marks the mount `stale`.
    public var statfsTimeout: Duration = .seconds(2)

    public init() {}

    public static let defaultExcludedFSTypes = [
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "efivarfs",
        "fuse.lxcfs", "fuse.portal", "fusectl", "hugetlbfs", "mqueue", "nsfs", "overlay", "proc", "procfs", "pstore",
        "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs", "nfsd", "rootfs",
    ]
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

/// `[collectors.network]`.
public struct NetworkSettings: Sendable, Hashable {
    /// `exclude_interfaces`: interface names not reported at all (exact names; a trailing `*` matches a prefix).
    public var excludeInterfaces: [String] = []

    public init() {}
}
