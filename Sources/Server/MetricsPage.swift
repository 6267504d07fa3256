//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// `/metrics`: every collected sample plus the agent's own health, in Prometheus text format 0.0.4.
enum MetricsPage {
    static func render(snapshot: AgentSnapshot, states: [ChildState], bus: BusStatistics, dependencies: APIDependencies) -> [UInt8] {
        var samples: [MetricSample] = []
        for source in snapshot.batches.keys.sorted() {
            if let batch = snapshot.batches[source] { samples += batch.samples }
        }
        samples += selfMetrics(states: states, bus: bus, dependencies: dependencies)
        samples += pluginMetrics(dependencies.plugins?.plugins() ?? [])
        samples += dependencies.containers.map { ContainerMetrics.samples($0.view) } ?? []
        let result = PrometheusExposition.render(samples)
        var text = result.text
        if !result.rejected.isEmpty {
            let line = "# HELP viworks_exposition_rejected_samples Samples left out of this page because they conflict with another sample of the same name.\n"
                + "# TYPE viworks_exposition_rejected_samples gauge\nviworks_exposition_rejected_samples \(result.rejected.count)\n"
            text += Array(line.utf8)
        }
        return text
    }

    /// Health counters of each plugin (label `plugin`); the plugins' own samples come through the snapshot.
    static func pluginMetrics(_ plugins: [PluginState]) -> [MetricSample] {
        var samples: [MetricSample] = []
        for plugin in plugins {
            let labels = [MetricLabel("plugin", plugin.name)]
            samples.append(
                MetricSample("viworks_plugin_up", .gauge, plugin.status == "running" ? 1 : 0, labels: labels, help: "1 when the plugin is running."))
            samples.append(
                MetricSample(
                    "viworks_plugin_disabled", .gauge, plugin.status == "disabled" ? 1 : 0, labels: labels,
                    help: "1 when the plugin is disabled (manifest, crash loop, refused protocol or its own request)."))
            samples.append(
                MetricSample("viworks_plugin_restarts_total", .counter, Double(plugin.restarts), labels: labels, help: "Restarts of the plugin."))
            samples.append(
                MetricSample(
                    "viworks_plugin_samples_total", .counter, Double(plugin.samples), labels: labels, help: "Samples the plugin delivered."))
            samples.append(
                MetricSample(
                    "viworks_plugin_valid_lines_total", .counter, Double(plugin.validLines), labels: labels,
                    help: "Lines of plugin output that decoded to a message."))
            for (reason, count) in plugin.badLines.sorted(by: { $0.key < $1.key }) {
                samples.append(
                    MetricSample(
                        "viworks_plugin_bad_lines_total", .counter, Double(count), labels: labels + [MetricLabel("reason", reason)],
                        help: "Rejected lines of plugin output, by reason."))
            }
            for (reason, count) in plugin.rejectedSamples.sorted(by: { $0.key < $1.key }) {
                samples.append(
                    MetricSample(
                        "viworks_plugin_rejected_samples_total", .counter, Double(count), labels: labels + [MetricLabel("reason", reason)],
                        help: "Samples dropped from valid metrics messages, by reason."))
            }
            if let last = plugin.lastSampleAt {
                samples.append(
                    MetricSample(
                        "viworks_plugin_last_sample_timestamp_seconds", .gauge, last.secondsSinceEpoch, labels: labels,
                        help: "When the plugin last delivered samples, in seconds since the Unix epoch."))
            }
            for service in plugin.services {
                samples.append(
                    MetricSample(
                        "viworks_plugin_service_up", .gauge, service.state == "active" ? 1 : 0,
                        labels: labels + [MetricLabel("service", service.name)], help: "1 when a service a plugin reports is active."))
            }
        }
        return samples
    }

    static func selfMetrics(states: [ChildState], bus: BusStatistics, dependencies: APIDependencies) -> [MetricSample] {
        var samples: [MetricSample] = []
        for state in states where state.status != .disabled {
            let labels = [MetricLabel(state.kind, state.name)]
            samples.append(
                MetricSample(
                    "viworks_\(state.kind)_up", .gauge, state.status == .running ? 1 : 0, labels: labels,
                    help: "1 when the \(state.kind) is running, 0 when restarting or failed."))
            samples.append(
                MetricSample(
                    "viworks_\(state.kind)_failed", .gauge, state.status == .failed ? 1 : 0, labels: labels,
                    help: "1 when the supervisor gave up on the \(state.kind) after a crash loop."))
            samples.append(
                MetricSample(
                    "viworks_\(state.kind)_restarts_total", .counter, Double(state.restarts), labels: labels,
                    help: "Restarts of the \(state.kind) by the supervisor."))
            guard state.kind == "collector" else { continue }
            if let duration = state.lastDurationSeconds {
                samples.append(
                    MetricSample("viworks_collector_duration_seconds", .gauge, duration, labels: labels, help: "Wall time of the last collection, from the collector's start to its result (a timed-out one: at least the timeout)."))
            }
            if let success = state.lastSuccess {
                samples.append(
                    MetricSample(
                        "viworks_collector_success", .gauge, success ? 1 : 0, labels: labels, help: "1 when the last collection succeeded."))
            }
            samples.append(
                MetricSample(
                    "viworks_collector_collections_total", .counter, Double(state.collections), labels: labels,
                    help: "Collections that succeeded."))
            samples.append(
                MetricSample(
                    "viworks_collector_failures_total", .counter, Double(state.failures), labels: labels,
                    help: "Collections that failed or timed out."))
            samples.append(
                MetricSample(
                    "viworks_collector_timeouts_total", .counter, Double(state.timeouts), labels: labels,
                    help: "Collections abandoned at their deadline."))
        }
        samples.append(
            MetricSample("viworks_bus_published_batches_total", .counter, Double(bus.published), help: "Batches published on the metrics bus."))
        for (subscriber, dropped) in bus.dropped.sorted(by: { $0.key < $1.key }) {
            samples.append(
                MetricSample(
                    "viworks_bus_dropped_batches_total", .counter, Double(dropped), labels: [MetricLabel("subscriber", subscriber)],
                    help: "Batches a slow bus subscriber lost (its buffer was full)."))
        }
        if let buffer = dependencies.historyWriter?.retryBuffer {
            samples.append(
                MetricSample(
                    "viworks_history_buffered_samples", .gauge, Double(buffer.pendingSamples),
                    help: "Samples of sealed blocks waiting for the next history flush (after failed flushes)."))
            samples.append(
                MetricSample(
                    "viworks_history_dropped_samples_total", .counter, Double(buffer.droppedSamples),
                    help: "Samples dropped because history flushes kept failing and the retry buffer was full."))
        }
        if let history = dependencies.historyWriter?.statistics {
            samples.append(
                MetricSample(
                    "viworks_history_open_series", .gauge, Double(history.openSeries),
                    help: "Series the history writer holds in memory (at most [history] max_series)."))
            for (reason, count) in [("out_of_order", history.outOfOrderSamples), ("series_limit", history.refusedSeriesSamples)] {
                samples.append(
                    MetricSample(
                        "viworks_history_refused_samples_total", .counter, Double(count), labels: [MetricLabel("reason", reason)],
                        help: "Samples history did not store: older than their series' newest, or of a new series beyond [history] max_series."))
            }
            samples.append(
                MetricSample(
                    "viworks_history_released_series_total", .counter, Double(history.evictedSeries),
                    help: "Series let go from memory after [history] series_idle_timeout without a sample."))
            samples.append(
                MetricSample("viworks_history_flush_failures_total", .counter, Double(history.flushFailures), help: "History flushes that failed."))
        }
        for output in dependencies.outputs?.all ?? [] where output.enabled {
            let labels = [MetricLabel("output", output.name)]
            samples.append(
                MetricSample(MetricName.outputUp, .gauge, output.status == .ok ? 1 : 0, labels: labels, help: "1 when the push output is ok, 0 when retrying or failing."))
            samples.append(
                MetricSample(
                    MetricName.outputRowsSentTotal, .counter, Double(output.rowsSent), labels: labels,
                    help: "Rows the output's database acknowledged (committed) since the agent started."))
            samples.append(
                MetricSample(
                    MetricName.outputRetriesTotal, .counter, Double(output.retries), labels: labels, help: "Push attempts that failed and were retried."))
            samples.append(
                MetricSample(MetricName.outputBacklogRows, .gauge, Double(output.backlogRows), labels: labels, help: "Rows waiting in the output's outbox."))
            samples.append(
                MetricSample(
                    MetricName.outputDroppedRowsTotal, .counter, Double(output.droppedRows), labels: labels,
                    help: "Rows dropped from the outbox, oldest first, by max_backlog_rows or max_backlog_age."))
        }
        for (component, condition) in dependencies.storage?.all ?? [] {
            samples.append(
                MetricSample(
                    "viworks_storage_ok", .gauge, condition.isProblem ? 0 : 1, labels: [MetricLabel("database", component.rawValue)],
                    help: "1 when the database works, 0 when it is degraded (writes fail) or unavailable."))
        }
        samples.append(
            MetricSample(
                "viworks_agent_info", .gauge, 1, labels: [MetricLabel("version", dependencies.version)], help: "The agent's version, as a label."))
        samples.append(
            MetricSample(
                "viworks_agent_start_time_seconds", .gauge, dependencies.startTimestamp.secondsSinceEpoch,
                help: "When the agent started, in seconds since the Unix epoch."))
        return samples
    }
}
