//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The last report a plugin made about one service (`{"type":"service",…}`).
public struct PluginServiceState: Sendable, Hashable {
    public var name: String
    /// `active`, `inactive`, `failed`, `activating`, `deactivating` or `unknown`.
    public var state: String
    public var message: String?
    public var reportedAt: Timestamp

    public init(name: String, state: String, message: String?, reportedAt: Timestamp) {
        self.name = name
        self.state = state
        self.message = message
        self.reportedAt = reportedAt
    }
}

/// What the API shows about one plugin: its manifest, its supervisor state and its wire statistics.
public struct PluginState: Sendable, Hashable {
    public var name: String
    /// `starting`, `running`, `restarting`, `disabled` or `stopped`.
    public var status: String
    /// Why it is disabled: by its manifest, at its own request, refused, or after a crash loop.
    public var disabledReason: String?
    public var manifest: String
    public var command: [String]
    /// `poll` or `stream`.
    public var mode: String
    public var intervalSeconds: Double
    public var timeoutSeconds: Double
    public var restarts: Int
    public var consecutiveFailures: Int
    public var lastError: String?
    public var lastErrorAt: Timestamp?
    public var startedAt: Timestamp?
    public var nextRestartAt: Timestamp?
    /// How the last run ended.
    public var lastExit: String?
    public var protocolVersion: Int?
    public var pluginVersion: String?
    public var processID: Int32?
    public var validLines: UInt64
    /// Rejected lines by reason.
    public var badLines: [String: UInt64]
    /// Every malformed line, whatever the reason.
    public var badLinesTotal: UInt64 { badLines.values.reduce(0, +) }
    /// Samples dropped from valid messages, by reason.
    public var rejectedSamples: [String: UInt64]
    public var ignoredFields: UInt64
    public var ignoredMessages: UInt64
    public var logRateLimited: UInt64
    public var samples: UInt64
    public var batches: UInt64
    public var samplesPerSecond: Double?
    public var lastSampleAt: Timestamp?
    /// Distinct series reported within the series idle timeout, and the manifest's `max_series`.
    public var series: Int
    public var maxSeries: Int?
    /// Poll mode: the last collect's round trip.
    public var lastCollectionAt: Timestamp?
    public var lastDurationSeconds: Double?
    public var collections: UInt64
    public var timeouts: UInt64
    public var recentRejections: [String]
    public var services: [PluginServiceState]

    public init(name: String, status: String, manifest: String, command: [String], mode: String, intervalSeconds: Double, timeoutSeconds: Double) {
        self.name = name
        self.status = status
        self.manifest = manifest
        self.command = command
        self.mode = mode
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
        self.restarts = 0
        self.consecutiveFailures = 0
        self.validLines = 0
        self.badLines = [:]
        self.rejectedSamples = [:]
        self.ignoredFields = 0
        self.ignoredMessages = 0
        self.logRateLimited = 0
        self.samples = 0
        self.batches = 0
        self.series = 0
        self.collections = 0
        self.timeouts = 0
        self.recentRejections = []
        self.services = []
    }
}

/// A manifest that did not load, for the API.
public struct PluginManifestProblem: Sendable, Hashable {
    public var file: String
    public var line: Int?
    public var key: String
    public var message: String

    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }
}

/// What a rescan of the plugins directory did.
public struct PluginReloadResult: Sendable, Hashable {
    public var added: [String] = []
    public var removed: [String] = []
    public var changed: [String] = []
    public var unchanged: [String] = []
    public var problems: [PluginManifestProblem] = []

    public init() {}
}

/// Why a plugin command of the API failed.
public enum PluginCommandError: Error, Sendable, Hashable {
    case notFound(String)
    /// Enable of a plugin that is starting, running or waiting to restart: nothing to do (409 `already_running`).
    case alreadyRunning(name: String, status: String)
    /// Enable of a plugin whose manifest says `enabled = false` (409 `disabled_in_manifest`): the manifest decides.
    case disabledInManifest(name: String, manifest: String)
}

/// The plugin registry as the API sees it. Declared here so the server does not import the plugins module;
/// the executable injects the implementation.
public protocol PluginRegistryView: Sendable {
    /// Every plugin, in name order; cheap (no actor hop).
    func plugins() -> [PluginState]
    /// Changes whenever anything ``plugins()`` would report changes; cheaper than calling it (a cache key).
    func generation() -> UInt64
    /// Manifests that did not load at the last scan.
    func manifestProblems() -> [PluginManifestProblem]
    /// Clears `disabled` (crash loop, the plugin's own request, a refusal) and starts the plugin again; refuses a
    /// plugin that is not disabled and one that its manifest disables.
    func enable(_ name: String) async throws(PluginCommandError) -> PluginState
    /// Rescans the plugins directory: added plugins start, removed ones stop, changed ones restart.
    func reload() async -> PluginReloadResult
}
