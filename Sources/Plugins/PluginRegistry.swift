//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Logging
public import ServiceLifecycle
import Synchronization

/// Every plugin of the plugins directory: loads the manifests, runs each enabled plugin under its own
/// ``Supervisor`` (restarts with backoff, `failed` after a crash loop), and rescans on reload: added plugins
/// start, removed ones stop, changed ones restart, unchanged ones are not touched.
///
/// It is a `Service`: put it in the agent's `ServiceGroup`; its `run()` owns every plugin's task.
public final class PluginRegistry: Service, PluginRegistryView, Sendable {
    /// One plugin as the registry knows it.
    struct Entry: Sendable {
        var manifest: PluginManifest
        var handle: PluginHandle
        /// Nil when the manifest disables it.
        var supervisor: Supervisor<ContinuousClock>?
        /// Ends the plugin's task.
        var stop: AsyncStream<Void>.Continuation?
        var generation: Int
    }

    private enum Command: Sendable {
        case start(name: String, generation: Int, supervisor: Supervisor<ContinuousClock>, stop: AsyncStream<Void>)
    }

    /// Nil: plugins are switched off (`[plugins] enabled = false`).
    private let directory: Mutex<String?>
    private let loader: Mutex<PluginManifestLoader>
    private let bus: MetricsBus
    private let logger: Logger
    private let agentVersion: String
    private let entries = Mutex<[String: Entry]>([:])
    /// Bumped whenever the set of entries changes (reload, enable).
    private let structureChanges = Atomic<UInt64>(0)
    private let problems = Mutex<[PluginManifestProblem]>([])
    private let commands: AsyncStream<Command>
    private let commandContinuation: AsyncStream<Command>.Continuation
    private let nextGeneration = Atomic<Int>(0)

    /// - Parameters:
    ///   - directory: the plugins directory (`[plugins] directory`); nil runs no plugin.
    ///   - defaults: interval and restart policy for manifests that do not set them.
    public init(directory: String?, defaults: PluginDefaults, bus: MetricsBus, logger: Logger, agentVersion: String = "0.1.0") {
        self.directory = Mutex(directory)
        self.loader = Mutex(PluginManifestLoader(defaults: defaults))
        self.bus = bus
        self.logger = logger
        self.agentVersion = agentVersion
        (commands, commandContinuation) = AsyncStream.makeStream(of: Command.self)
        _ = applyScan()
    }

    public var pluginsDirectory: String? { directory.withLock { $0 } }

    /// Every running plugin as a supervised child (kind `plugin`), for the systemd status line.
    public func childStates() -> [ChildState] {
        entries.withLock { Array($0.values) }.compactMap { $0.supervisor?.handles.first?.snapshot }.sorted { $0.name < $1.name }
    }

    // MARK: - Service

    public func run() async throws {
        PluginHost.ignoreSIGPIPE()
        // Plugins loaded at init start now.
        for (name, entry) in entries.withLock({ $0 }) { startTask(name: name, entry: entry) }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await command in self.commands {
                    switch command {
                    case .start(let name, let generation, let supervisor, let stop):
                        group.addTask {
                            await withTaskGroup(of: Void.self) { inner in
                                inner.addTask { try? await supervisor.run() }
                                inner.addTask { for await _ in stop {} }
                                await inner.next()
                                inner.cancelAll()
                            }
                            self.logger.debug("plugin task ended", metadata: ["plugin": "\(name)", "plugin.generation": "\(generation)"])
                        }
                    }
                }
            }
        }
        commandContinuation.finish()
        for entry in entries.withLock({ Array($0.values) }) { entry.stop?.finish() }
    }

    private func startTask(name: String, entry: Entry) {
        guard let supervisor = entry.supervisor else { return }
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        entries.withLock { $0[name]?.stop = continuation }
        commandContinuation.yield(.start(name: name, generation: entry.generation, supervisor: supervisor, stop: stream))
    }

    // MARK: - Scanning

    private func makeEntry(_ manifest: PluginManifest, handle: PluginHandle?) -> Entry {
        let handle = handle ?? PluginHandle(name: manifest.name)
        let generation = nextGeneration.add(1, ordering: .relaxed).newValue
        var supervisor: Supervisor<ContinuousClock>?
        if manifest.enabled {
            let host = PluginHost(manifest: manifest, bus: bus, logger: logger, agentVersion: agentVersion, handle: handle)
            supervisor = Supervisor(children: [host.supervisedChild()], clock: ContinuousClock(), heartbeatInterval: .seconds(3600), logger: logger)
        }
        return Entry(manifest: manifest, handle: handle, supervisor: supervisor, stop: nil, generation: generation)
    }

    /// Loads the directory and updates the entries; returns what changed and the entries to start.
    private func applyScan() -> (PluginReloadResult, [(String, Entry)]) {
        let (manifests, issues): ([PluginManifest], [ConfigIssue])
        if let directory = self.directory.withLock({ $0 }) {
            (manifests, issues) = loader.withLock { $0 }.loadDirectory(directory)
        } else {
            (manifests, issues) = ([], [])
        }
        var result = PluginReloadResult()
        result.problems = issues.map { PluginManifestProblem(file: $0.source, line: $0.line, key: $0.key, message: $0.message) }
        problems.withLock { $0 = result.problems }
        for issue in issues { logger.error("plugin manifest skipped: \(issue)") }
        var toStart: [(String, Entry)] = []
        var toStop: [Entry] = []
        entries.withLock { entries in
            let wanted = Dictionary(manifests.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for (name, entry) in entries where wanted[name] == nil {
                toStop.append(entry)
                entries[name] = nil
                result.removed.append(name)
            }
            for manifest in manifests {
                if let existing = entries[manifest.name] {
                    if existing.manifest == manifest {
                        result.unchanged.append(manifest.name)
                        continue
                    }
                    toStop.append(existing)
                    existing.handle.update { $0.disabledReason = nil }
                    let entry = makeEntry(manifest, handle: existing.handle)
                    entries[manifest.name] = entry
                    toStart.append((manifest.name, entry))
                    result.changed.append(manifest.name)
                } else {
                    let entry = makeEntry(manifest, handle: nil)
                    entries[manifest.name] = entry
                    toStart.append((manifest.name, entry))
                    result.added.append(manifest.name)
                }
            }
        }
        structureChanges.wrappingAdd(1, ordering: .releasing)
        for entry in toStop { entry.stop?.finish() }
        result.added.sort()
        result.removed.sort()
        result.changed.sort()
        result.unchanged.sort()
        return (result, toStart)
    }

    // MARK: - PluginRegistryView

    public func plugins() -> [PluginState] {
        entries.withLock { Array($0.values) }.sorted { $0.manifest.name < $1.manifest.name }.map(Self.state)
    }

    public func generation() -> UInt64 {
        entries.withLock { entries in
            entries.values.reduce(structureChanges.load(ordering: .acquiring)) { sum, entry in
                sum &+ entry.handle.changeCount &+ (entry.supervisor?.generation ?? 0)
            }
        }
    }

    public func plugin(named name: String) -> PluginState? {
        entries.withLock { $0[name] }.map(Self.state)
    }

    public func manifestProblems() -> [PluginManifestProblem] { problems.withLock { $0 } }

    public func enable(_ name: String) async throws(PluginCommandError) -> PluginState {
        let outcome: Result<Entry, PluginCommandError> = entries.withLock { entries in
            guard let existing = entries[name] else { return .failure(.notFound(name)) }
            guard existing.manifest.enabled else { return .failure(.disabledInManifest(name: name, manifest: existing.manifest.file)) }
            let status = Self.state(existing).status
            guard status == "disabled" || status == "stopped" else { return .failure(.alreadyRunning(name: name, status: status)) }
            existing.stop?.finish()
            existing.handle.update { $0.disabledReason = nil }
            let entry = makeEntry(existing.manifest, handle: existing.handle)
            entries[name] = entry
            return .success(entry)
        }
        let entry = try outcome.get()
        structureChanges.wrappingAdd(1, ordering: .releasing)
        logger.info("plugin enabled through the API", metadata: ["plugin": "\(name)"])
        startTask(name: name, entry: entry)
        return Self.state(entry)
    }

    public func reload() async -> PluginReloadResult {
        let (result, toStart) = applyScan()
        for (name, entry) in toStart { startTask(name: name, entry: entry) }
        logger.info(
            "plugins reloaded",
            metadata: [
                "plugins.added": "\(result.added.joined(separator: ","))", "plugins.removed": "\(result.removed.joined(separator: ","))",
                "plugins.changed": "\(result.changed.joined(separator: ","))", "plugins.unchanged": "\(result.unchanged.count)",
            ])
        return result
    }

    /// Reloads with a new configuration (the SIGHUP handler): directory and defaults may have changed.
    public func reload(directory: String?, defaults: PluginDefaults) async -> PluginReloadResult {
        self.directory.withLock { $0 = directory }
        loader.withLock { $0.defaults = defaults }
        return await reload()
    }

    // MARK: - State

    static func state(_ entry: Entry) -> PluginState {
        let manifest = entry.manifest
        var state = PluginState(
            name: manifest.name, status: "disabled", manifest: manifest.file, command: manifest.command, mode: manifest.mode.rawValue,
            intervalSeconds: manifest.interval.secondsDouble, timeoutSeconds: manifest.timeout.secondsDouble)
        let statistics = entry.handle.snapshot
        if let child = entry.supervisor?.handles.first?.snapshot {
            state.restarts = child.restarts
            state.consecutiveFailures = child.consecutiveFailures
            state.lastError = child.lastError
            state.lastErrorAt = child.lastErrorAt
            state.startedAt = child.startedAt
            state.nextRestartAt = child.nextRestartAt
            state.lastCollectionAt = child.lastCollectionAt
            state.lastDurationSeconds = child.lastDurationSeconds
            state.collections = child.collections
            state.timeouts = child.timeouts
            if let reason = statistics.disabledReason {
                state.status = "disabled"
                state.disabledReason = reason
            } else {
                switch child.status {
                case .starting: state.status = "starting"
                case .running: state.status = "running"
                case .restarting: state.status = "restarting"
                case .failed:
                    state.status = "disabled"
                    state.disabledReason = child.lastError ?? "crash loop"
                case .disabled: state.status = "disabled"
                case .stopped: state.status = "stopped"
                }
            }
        } else {
            state.disabledReason = statistics.disabledReason ?? "enabled = false in \(manifest.file)"
        }
        state.lastExit = statistics.lastExit
        state.protocolVersion = statistics.protocolVersion
        state.pluginVersion = statistics.pluginVersion
        state.processID = statistics.processID
        state.validLines = statistics.validLines
        state.badLines = statistics.badLines
        state.rejectedSamples = statistics.rejectedSamples
        state.ignoredFields = statistics.ignoredFields
        state.ignoredMessages = statistics.ignoredMessages
        state.logRateLimited = statistics.logRateLimited
        state.samples = statistics.samples
        state.batches = statistics.batches
        state.samplesPerSecond = statistics.samplesPerSecond
        state.lastSampleAt = statistics.lastSampleAt
        state.series = statistics.series
        state.maxSeries = manifest.maxSeries
        state.recentRejections = statistics.recentRejections
        state.services = statistics.services.values.sorted { $0.name < $1.name }
        return state
    }
}
