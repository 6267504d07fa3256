//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// `GET /api/v1/status`.
struct StatusDTO: Encodable {
    var snapshot: AgentSnapshot
    var collectors: [ChildState]
    /// Every plugin of plugins.d, in name order.
    var plugins: [PluginState] = []
    /// The alert engine's counts; disabled when there is no engine.
    var alerts = AlertSummary(enabled: false)
    /// The databases' condition; nil when not wired (both reported ok).
    var storage: StorageHealth? = nil
    /// The containers and the engine (``ContainerStatusSource/view``); nil when not wired (engine disabled).
    var containers: ContainersView? = nil
    /// The push outputs, in the board's order.
    var outputs: [OutputState] = []
    /// ``AgentIdentity``, shown in `system_info.system.agent_id`.
    var agentID: String? = nil

    enum Keys: String, CodingKey {
        case timestamp, system_health, services, containers, engine, system_info, collectors, plugins, alerts, storage, outputs
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.timestamp, (snapshot.updatedAt ?? .now()).rfc3339)
        try o(.system_health, SystemHealthDTO(snapshot: snapshot))
        try o(.services, (snapshot.services?.services ?? []).map(ServiceDTO.init))
        let containers = containers ?? ContainersView(engine: ContainerEngineStatus(status: .disabled, reason: "containers are not wired"))
        try o(.containers, containers.containers)
        try o(.engine, containers.engine)
        try o(.system_info, SystemInfoDTO(snapshot: snapshot, agentID: agentID))
        try o(.collectors, collectors.map(CollectorDTO.init))
        try o(.plugins, plugins.map(PluginSummaryDTO.init))
        try o(.alerts, AlertSummaryDTO(summary: alerts))
        try o(.storage, StorageDTO(storage: storage))
        try o(.outputs, outputs.map(OutputDTO.init))
    }
}

/// One push output in status's `outputs`: ``OutputState`` with the status the runtime decided.
struct OutputDTO: Encodable {
    var state: OutputState

    enum Keys: String, CodingKey { case name, status, backlog_rows, oldest_backlog_at, last_success_at, last_error, last_error_at }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, state.name)
        try o(.status, state.status.rawValue)
        try o(.backlog_rows, state.backlogRows)
        try o(.oldest_backlog_at, state.oldestBacklogAt?.rfc3339)
        try o(.last_success_at, state.lastSuccessAt?.rfc3339)
        try o(.last_error, state.lastError)
        try o(.last_error_at, state.lastErrorAt?.rfc3339)
    }
}

/// The `storage` section of status: `{"history": {"status", "reason"}, "audit": {…}}`.
struct StorageDTO: Encodable {
    var storage: StorageHealth?

    struct ConditionDTO: Encodable {
        var condition: StorageCondition

        enum Keys: String, CodingKey { case status, reason }

        func encode(to encoder: any Encoder) throws {
            var o = JSONObject(encoder, keyedBy: Keys.self)
            try o(.status, condition.status.rawValue)
            try o(.reason, condition.reason)
        }
    }

    enum Keys: String, CodingKey { case history, audit }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.history, ConditionDTO(condition: storage?.condition(.history) ?? .ok))
        try o(.audit, ConditionDTO(condition: storage?.condition(.audit) ?? .ok))
    }
}

/// `GET /api/v1/collectors`.
struct CollectorsDTO: Encodable {
    var states: [ChildState]

    enum Keys: String, CodingKey { case collectors }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.collectors, states.map(CollectorDTO.init))
    }
}

/// One supervised child in `/api/v1/collectors` and `/api/v1/status`'s `collectors`.
struct CollectorDTO: Encodable {
    var state: ChildState

    enum Keys: String, CodingKey {
        case name, kind, core, status, restarts, consecutive_failures, last_error, last_error_at, started_at, next_restart_at
        case interval_seconds, timeout_seconds, last_collection_at, last_duration_seconds, last_success, collections, failures, timeouts
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, state.name)
        try o(.kind, state.kind)
        try o(.core, state.core)
        try o(.status, state.status.rawValue)
        try o(.restarts, state.restarts)
        try o(.consecutive_failures, state.consecutiveFailures)
        try o(.last_error, state.lastError)
        try o(.last_error_at, state.lastErrorAt?.rfc3339)
        try o(.started_at, state.startedAt?.rfc3339)
        try o(.next_restart_at, state.nextRestartAt?.rfc3339)
        try o(.interval_seconds, state.intervalSeconds)
        try o(.timeout_seconds, state.timeoutSeconds)
        try o(.last_collection_at, state.lastCollectionAt?.rfc3339)
        try o(.last_duration_seconds, state.lastDurationSeconds.map { rounded($0, 6) })
        try o(.last_success, state.lastSuccess)
        try o(.collections, state.collections)
        try o(.failures, state.failures)
        try o(.timeouts, state.timeouts)
    }
}

/// `GET /api/v1/health`: ``AgentHealth`` (decided in the runtime) and the agent's identity.
struct HealthDTO: Encodable {
    var health: AgentHealth
    var timestamp: Timestamp
    var version: String
    var uptime: Int?
    var agentUptimeSeconds: Double

    enum Keys: String, CodingKey { case status, timestamp, version, uptime, agent_uptime_seconds, failed_collectors, storage_problems }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.status, health.status.rawValue)
        try o(.timestamp, timestamp.rfc3339)
        try o(.version, version)
        try o(.uptime, uptime)
        try o(.agent_uptime_seconds, agentUptimeSeconds)
        try o(.failed_collectors, health.failedCollectors)
        try o(.storage_problems, health.storageProblems)
    }
}

/// `GET /api/v1/status-simple`: ``SimpleStatus`` (figures, status and reasons, decided in the runtime).
struct SimpleStatusDTO: Encodable {
    var status: SimpleStatus

    enum Keys: String, CodingKey {
        case status, timestamp, cpu_usage_percent, memory_usage_percent, disk_usage_percent, load_percent, reasons
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.status, status.condition.status.rawValue)
        try o(.timestamp, (status.updatedAt ?? .now()).rfc3339)
        try o(.cpu_usage_percent, status.cpuUsagePercent)
        try o(.memory_usage_percent, status.memoryUsagePercent)
        try o(.disk_usage_percent, status.diskUsagePercent)
        try o(.load_percent, status.loadPercent.map { rounded($0) })
        try o(.reasons, status.condition.reasons)
    }
}
