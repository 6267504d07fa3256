//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// Counters of the metrics bus, for `/metrics`.
public struct BusStatistics: Sendable {
    public var published: UInt64
    /// Dropped batches per subscriber.
    public var dropped: [String: UInt64]

    public init(published: UInt64, dropped: [String: UInt64]) {
        self.published = published
        self.dropped = dropped
    }
}

/// What the API reads from the rest of the agent; the executable wires it, tests build their own.
public struct APIDependencies: Sendable {
    public var snapshots: SnapshotStore
    /// The supervisor's view of every collector (and later plugin).
    public var collectorStates: @Sendable () -> [ChildState]
    /// Changes whenever ``collectorStates`` would report something new (``Supervisor/generation``); nil derives it
    /// from the states themselves, which costs a copy and a hash per request.
    public var collectorGeneration: (@Sendable () -> UInt64)?
    public var busStatistics: @Sendable () async -> BusStatistics
    /// The agent's version, e.g. `0.1.0`.
    public var version: String
    /// When the agent started, on the `CLOCK_BOOTTIME` scale.
    public var startedAt: Double
    public var monotonicSeconds: @Sendable () -> Double
    /// Wall-clock start time, for `viworks_agent_start_time_seconds`.
    public var startTimestamp: Timestamp
    /// The plugin registry (`/api/v1/plugins`, the `plugins` section of status); nil when plugins are not wired.
    public var plugins: (any PluginRegistryView)?
    /// History routes (`/api/v1/metrics`, `…/history`, `/api/v1/history/status`, reports); nil answers 503.
    public var history: HistoryContext? = nil
    /// The alert engine (`/api/v1/alerts`, `/api/v1/incidents`, the `alerts` section of status); nil when not wired.
    public var alerts: AlertEngine? = nil
    /// Commands, service control and the audit log; nil when `[commands] enabled = false` (those routes answer 503).
    public var operations: Operations?
    /// The journal for `GET /api/v1/logs`; nil when it cannot be read.
    public var journal: JournalReader?
    /// Units whose journal `GET /api/v1/logs` may read.
    public var logUnits: @Sendable () -> [String] = { [] }
    /// The thresholds `status-simple` judges the headline figures by: the configured alert rules'.
    public var headlineThresholds = AgentCondition.Thresholds()
    /// The condition of the history and audit databases (the `storage` section of status, `status-simple` reasons).
    public var storage: StorageHealth? = nil
    /// The history writer's counters and retry buffer for `/metrics` (`viworks_history_*`); nil without history.
    public var historyWriter: (any HistoryWriterView)? = nil
    /// User sessions in containers (`/api/v1/sessions`): the containers module's session manager, injected by the
    /// executable; nil when `[containers]` is off (those routes answer 503).
    public var sessions: (any SessionControl)? = nil
    /// The containers and the engine as last collected (the `containers` and `engine` sections of status,
    /// `viworks_container_*` in `/metrics`): the containers module's monitor, injected by the executable; nil reports
    /// the engine disabled.
    public var containers: (any ContainerStatusSource)? = nil
    /// The push outputs' states (the `outputs` section of status, `viworks_output_*`, `status-simple` reasons); nil lists none.
    public var outputs: OutputBoard? = nil
    /// The `agent_id` the outputs write (``AgentIdentity``), shown in `/api/v1/system`; nil when none can be derived.
    public var agentID: String? = nil
    /// `[dashboard]`: whether `/` and `/assets/…` serve the web dashboard.
    public var dashboard = DashboardSettings()
    /// The hub of `GET /api/v1/stream`; nil answers 503 `stream_unavailable`.
    public var liveStatus: LiveStatusHub? = nil

    public init(
        snapshots: SnapshotStore, collectorStates: @escaping @Sendable () -> [ChildState],
        busStatistics: @escaping @Sendable () async -> BusStatistics, version: String,
        startedAt: Double = MonotonicClock.bootTimeSeconds(), monotonicSeconds: @escaping @Sendable () -> Double = MonotonicClock.bootTimeSeconds,
        startTimestamp: Timestamp = .now(), plugins: (any PluginRegistryView)? = nil,
        collectorGeneration: (@Sendable () -> UInt64)? = nil
    ) {
        self.snapshots = snapshots
        self.collectorStates = collectorStates
        self.busStatistics = busStatistics
        self.version = version
        self.startedAt = startedAt
        self.monotonicSeconds = monotonicSeconds
        self.startTimestamp = startTimestamp
        self.plugins = plugins
        self.collectorGeneration = collectorGeneration
    }
}

/// What `/metrics` reads from the history writer: its counters and its retry buffer.
public protocol HistoryWriterView: Sendable {
    /// Series held, samples refused by reason, series let go, flushes and their failures.
    var statistics: HistoryWriterStatistics { get }
    /// Samples waiting in the retry buffer after failed flushes, and samples and rollup buckets dropped because it was full.
    var retryBuffer: (pendingSamples: Int, droppedSamples: UInt64, droppedRollupBuckets: UInt64) { get }
}

extension HistoryWriter: HistoryWriterView {}
