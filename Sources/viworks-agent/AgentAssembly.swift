//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentPlugins
import AgentRuntime
import Logging

/// Wires collectors, bus, supervisor and snapshot store from a configuration. The executable owns this
/// because it is the only module that sees collectors and server together.
struct AgentAssembly {
    static var collectorIDs: [String] { CollectorCatalog.builtins(configuration: AgentConfiguration()).map(\.descriptor.id) }

    let configuration: AgentConfiguration
    let bus = MetricsBus()
    let snapshots: SnapshotStore
    let supervisor: Supervisor<ContinuousClock>
    /// The collectors that run, with their interval and timeout.
    let enabled: [(collector: any Collector, interval: Duration, timeout: Duration)]
    /// The plugins of `[plugins] directory` (none when `[plugins] enabled = false`).
    let plugins: PluginRegistry

    init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        var enabled: [(collector: any Collector, interval: Duration, timeout: Duration)] = []
        var disabled: [(name: String, kind: String)] = []
        for collector in CollectorCatalog.builtins(configuration: configuration) {
            let descriptor = collector.descriptor
            let settings = configuration.settings(for: descriptor.id)
            guard settings.enabled ?? descriptor.enabledByDefault else {
                disabled.append((descriptor.id, "collector"))
                continue
            }
            let interval = settings.interval ?? configuration.interval
            let timeout = settings.timeout ?? min(descriptor.defaultTimeout, interval)
            enabled.append((collector, interval, timeout))
        }
        self.enabled = enabled
        self.snapshots = SnapshotStore(bus: bus, requiredSources: Set(enabled.filter { $0.collector.descriptor.isCore }.map { $0.collector.descriptor.id }))
        let policy = ExponentialJitterRestartPolicy(
            initial: configuration.supervisor.backoffInitial, maximum: configuration.supervisor.backoffMax,
            maxAttempts: configuration.supervisor.maxRestarts, stableAfter: configuration.supervisor.stableAfter
        )
        let bus = self.bus
        let children = enabled.map { entry in
            let runner = CollectorRunner(
                collector: entry.collector, interval: entry.interval, timeout: entry.timeout, paths: configuration.paths, bus: bus,
                clock: ContinuousClock(), logger: logger
            )
            return SupervisedChild(name: entry.collector.descriptor.id, kind: "collector", isCore: entry.collector.descriptor.isCore, policy: policy) {
                handle in try await runner.run(handle: handle)
            }
        }
        self.supervisor = Supervisor(children: children, disabled: disabled, clock: ContinuousClock(), logger: logger)
        self.plugins = PluginRegistry(
            directory: configuration.plugins.enabled ? configuration.plugins.directory : nil, defaults: Self.pluginDefaults(configuration), bus: bus,
            logger: logger, agentVersion: AgentCommand.version)
    }

    /// Running plugins as supervised children (kind `plugin`), for the systemd status line and watchdog.
    static func pluginStates(_ plugins: PluginRegistry) -> [ChildState] { plugins.childStates() }

    /// SIGHUP: rescans the plugins directory of the new configuration (added start, removed stop, changed restart).
    static func reloadPlugins(_ plugins: PluginRegistry, _ configuration: AgentConfiguration) async {
        _ = await plugins.reload(
            directory: configuration.plugins.enabled ? configuration.plugins.directory : nil, defaults: pluginDefaults(configuration))
    }

    /// Interval and restart policy of manifests that do not set them: the agent's own.
    static func pluginDefaults(_ configuration: AgentConfiguration) -> PluginDefaults {
        PluginDefaults(
            interval: configuration.interval, restart: PluginRestartSettings(configuration.supervisor), maxSeries: configuration.plugins.maxSeriesPerPlugin,
            seriesIdleTimeout: configuration.history.seriesIdleTimeout, maxTimestampAge: configuration.history.retention)
    }
}
