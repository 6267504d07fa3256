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

    enum Keys: String, CodingKey { case timestamp, system_health, services, containers, system_info, collectors, plugins, alerts }

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

/// Thresholds of `status-simple`, from the specification's alert defaults (disk: 85 / 95).
enum HeadlineThresholds {
    static let cpu = (warning: 80.0, critical: 95.0)
    static let memory = (warning: 85.0, critical: 95.0)
    static let disk = (warning: 85.0, critical: 95.0)
    static let load = (warning: 2.0, critical: 5.0)
}

/// `GET /api/v1/status-simple`: `status` is `critical` when a figure is at or above its critical threshold or a
/// core collector failed, `degraded` when a figure is at or above its warning threshold or a collector is
/// restarting or failed, `starting` before the first collection, else `healthy`; `reasons` says why.
struct SimpleStatusDTO: Encodable {
    var snapshot: AgentSnapshot
    var collectors: [ChildState]

    enum Keys: String, CodingKey {
        case status, timestamp, cpu_usage_percent, memory_usage_percent, disk_usage_percent, load_percent, reasons
    }

    /// 1-minute load per CPU, in percent (100 = every CPU busy on average).
    var loadPercent: Double? {
        guard let load = snapshot.load, let cores = snapshot.cpu?.cores, cores > 0 else { return nil }
        return rounded(load.oneMinute / Double(cores) * 100)
    }

    func evaluate() -> (String, [String]) {
        var critical: [String] = []
        var warning: [String] = []
        func check(_ name: String, _ value: Double?, _ limits: (warning: Double, critical: Double)) {
            guard let value else { return }
            if value >= limits.critical {
                critical.append("\(name) \(value) >= \(limits.critical)")
            } else if value >= limits.warning {
                warning.append("\(name) \(value) >= \(limits.warning)")
            }
        }
        check("cpu_usage_percent", snapshot.cpu?.usagePercent, HeadlineThresholds.cpu)
        check("memory_usage_percent", snapshot.memory?.usagePercent, HeadlineThresholds.memory)
        check("disk_usage_percent", snapshot.disk?.rootUsagePercent, HeadlineThresholds.disk)
        check("load_average.one_minute", snapshot.load?.oneMinute, HeadlineThresholds.load)
        for state in collectors {
            if state.status == .failed {
                if state.core { critical.append("collector \(state.name) failed") } else { warning.append("collector \(state.name) failed") }
            } else if state.status == .restarting {
                warning.append("collector \(state.name) restarting")
            }
        }
        if !critical.isEmpty { return ("critical", critical + warning) }
        if !warning.isEmpty { return ("degraded", warning) }
        if snapshot.updatedAt == nil { return ("starting", []) }
        return ("healthy", [])
    }

    func encode(to encoder: any Encoder) throws {
        let (status, reasons) = evaluate()
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.status, status)
        try o(.timestamp, (snapshot.updatedAt ?? .now()).rfc3339)
        try o(.cpu_usage_percent, snapshot.cpu?.usagePercent)
        try o(.memory_usage_percent, snapshot.memory?.usagePercent)
        try o(.disk_usage_percent, snapshot.disk?.rootUsagePercent)
        try o(.load_percent, loadPercent)
        try o(.reasons, reasons)
    }
}
