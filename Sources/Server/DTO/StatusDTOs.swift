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

    enum Keys: String, CodingKey { case timestamp, system_health, services, containers, system_info, collectors, plugins, alerts, storage }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.timestamp, (snapshot.updatedAt ?? .now()).rfc3339)
        try o(.system_health, SystemHealthDTO(snapshot: snapshot))
        try o(.services, (snapshot.services?.services ?? []).map(ServiceDTO.init))
        // Filled by the containers collector once it exists.
        try o(.containers, [String]())
        try o(.system_info, SystemInfoDTO(snapshot: snapshot))
        try o(.collectors, collectors.map(CollectorDTO.init))
        try o(.plugins, plugins.map(PluginSummaryDTO.init))
        try o(.alerts, AlertSummaryDTO(summary: alerts))
        try o(.storage, StorageDTO(storage: storage))
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

/// `GET /api/v1/health`.
struct HealthDTO: Encodable {
    var status: String
    var timestamp: Timestamp
    var version: String
    var uptime: Int?
    var agentUptimeSeconds: Double
    var failedCollectors: [String]

    enum Keys: String, CodingKey { case status, timestamp, version, uptime, agent_uptime_seconds, failed_collectors }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.status, status)
        try o(.timestamp, timestamp.rfc3339)
        try o(.version, version)
        try o(.uptime, uptime)
        try o(.agent_uptime_seconds, agentUptimeSeconds)
        try o(.failed_collectors, failedCollectors)
    }
}

/// `GET /api/v1/status-simple`: the figures and ``AgentCondition`` (status and reasons, decided in the runtime).
struct SimpleStatusDTO: Encodable {
    var snapshot: AgentSnapshot
    var condition: AgentCondition

    enum Keys: String, CodingKey {
        case status, timestamp, cpu_usage_percent, memory_usage_percent, disk_usage_percent, load_percent, reasons
    }

    /// 1-minute load per CPU, in percent (100 = every CPU busy on average).
    var loadPercent: Double? {
        guard let load = snapshot.load, let cores = snapshot.cpu?.cores, cores > 0 else { return nil }
        return rounded(load.oneMinute / Double(cores) * 100)
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.status, condition.status.rawValue)
        try o(.timestamp, (snapshot.updatedAt ?? .now()).rfc3339)
        try o(.cpu_usage_percent, snapshot.cpu?.usagePercent)
        try o(.memory_usage_percent, snapshot.memory?.usagePercent)
        try o(.disk_usage_percent, snapshot.disk?.rootUsagePercent)
        try o(.load_percent, loadPercent)
        try o(.reasons, condition.reasons)
    }
}
