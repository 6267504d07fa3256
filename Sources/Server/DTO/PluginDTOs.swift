//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// One plugin: `GET /api/v1/plugins/{name}`, items of `GET /api/v1/plugins`, and `POST …/enable`.
struct PluginDTO: Encodable {
    var state: PluginState

    enum Keys: String, CodingKey {
        case name, status, disabled_reason, manifest, command, mode, interval_seconds, timeout_seconds, restarts, consecutive_failures
        case last_error, last_error_at, started_at, next_restart_at, last_exit, protocol_version, plugin_version, pid
        case valid_lines, bad_lines, rejected_samples, ignored_fields, ignored_messages, log_rate_limited
        case samples, batches, samples_per_second, last_sample_at, last_collection_at, last_duration_seconds, collections, timeouts
        case recent_rejections, services, series, max_series
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, state.name)
        try o(.status, state.status)
        try o(.disabled_reason, state.disabledReason)
        try o(.manifest, state.manifest)
        try o(.command, state.command)
        try o(.mode, state.mode)
        try o(.interval_seconds, state.intervalSeconds)
        try o(.timeout_seconds, state.timeoutSeconds)
        try o(.restarts, state.restarts)
        try o(.consecutive_failures, state.consecutiveFailures)
        try o(.last_error, state.lastError)
        try o(.last_error_at, state.lastErrorAt?.rfc3339)
        try o(.started_at, state.startedAt?.rfc3339)
        try o(.next_restart_at, state.nextRestartAt?.rfc3339)
        try o(.last_exit, state.lastExit)
        try o(.protocol_version, state.protocolVersion)
        try o(.plugin_version, state.pluginVersion)
        try o(.pid, state.processID)
        try o(.valid_lines, state.validLines)
        try o(.bad_lines, state.badLines)
        try o(.rejected_samples, state.rejectedSamples)
        try o(.ignored_fields, state.ignoredFields)
        try o(.ignored_messages, state.ignoredMessages)
        try o(.log_rate_limited, state.logRateLimited)
        try o(.samples, state.samples)
        try o(.batches, state.batches)
        try o(.samples_per_second, state.samplesPerSecond.map { rounded($0, 3) })
        try o(.last_sample_at, state.lastSampleAt?.rfc3339)
        try o(.last_collection_at, state.lastCollectionAt?.rfc3339)
        try o(.last_duration_seconds, state.lastDurationSeconds.map { rounded($0, 6) })
        try o(.collections, state.collections)
        try o(.timeouts, state.timeouts)
        try o(.recent_rejections, state.recentRejections)
        try o(.services, state.services.map(PluginServiceDTO.init))
        try o(.series, state.series)
        try o(.max_series, state.maxSeries)
    }
}

struct PluginServiceDTO: Encodable {
    var service: PluginServiceState

    enum Keys: String, CodingKey { case name, state, message, reported_at }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, service.name)
        try o(.state, service.state)
        try o(.message, service.message)
        try o(.reported_at, service.reportedAt.rfc3339)
    }
}

/// The `plugins` section of `/api/v1/status`: a short line per plugin.
struct PluginSummaryDTO: Encodable {
    var state: PluginState

    enum Keys: String, CodingKey { case name, status, disabled_reason, restarts, last_error, samples, bad_lines, last_sample_at }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, state.name)
        try o(.status, state.status)
        try o(.disabled_reason, state.disabledReason)
        try o(.restarts, state.restarts)
        try o(.last_error, state.lastError)
        try o(.samples, state.samples)
        try o(.bad_lines, state.badLinesTotal)
        try o(.last_sample_at, state.lastSampleAt?.rfc3339)
    }
}

struct ManifestProblemDTO: Encodable {
    var problem: PluginManifestProblem

    enum Keys: String, CodingKey { case file, line, key, message }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.file, problem.file)
        try o(.line, problem.line)
        try o(.key, problem.key)
        try o(.message, problem.message)
    }
}

/// `GET /api/v1/plugins`.
struct PluginsDTO: Encodable {
    var plugins: [PluginState]
    var problems: [PluginManifestProblem]

    enum Keys: String, CodingKey { case plugins, manifest_errors }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.plugins, plugins.map(PluginDTO.init))
        try o(.manifest_errors, problems.map(ManifestProblemDTO.init))
    }
}

/// `POST /api/v1/plugins/reload`.
struct PluginReloadDTO: Encodable {
    var result: PluginReloadResult

    enum Keys: String, CodingKey { case added, removed, changed, unchanged, manifest_errors }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.added, result.added)
        try o(.removed, result.removed)
        try o(.changed, result.changed)
        try o(.unchanged, result.unchanged)
        try o(.manifest_errors, result.problems.map(ManifestProblemDTO.init))
    }
}
