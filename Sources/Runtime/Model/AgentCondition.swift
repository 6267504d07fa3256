//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The agent's overall condition, as `status-simple` reports it: the one place that decides whether the agent is
/// healthy, degraded or critical, and why.
///
/// `critical` when a headline figure is at or above its critical threshold or a core collector failed; `degraded` when
/// a figure is at or above its warning threshold, a collector is restarting or failed, or a database is degraded or
/// unavailable (history not stored, or commands refused for want of an audit log), or a push output is failing
/// (``OutputState/degradedReason``; never health: the agent itself works); `starting` before the first
/// collection; else `healthy`. `reasons` lists every cause, critical ones first.
public struct AgentCondition: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case healthy, degraded, critical, starting
    }

    public var status: Status
    public var reasons: [String]

    /// The headline figures' thresholds: those of the alert rules (`[alerts.cpu]`, `[alerts.memory]`, `[alerts.disk]`,
    /// `[alerts.load]`, whose defaults are the specification's), so that `status-simple` and the alerts agree. A rule
    /// that is switched off is not checked here either.
    public struct Thresholds: Sendable, Hashable {
        public var cpu: AlertRuleSettings?
        public var memory: AlertRuleSettings?
        public var disk: AlertRuleSettings?
        public var load: AlertRuleSettings?
        /// `[alerts.load] per_core`: the load thresholds are per CPU.
        public var loadPerCore: Bool

        public init(_ alerts: AlertSettings = AlertSettings()) {
            cpu = alerts.cpu.enabled ? alerts.cpu : nil
            memory = alerts.memory.enabled ? alerts.memory : nil
            disk = alerts.disk.enabled ? alerts.disk : nil
            load = alerts.load.enabled ? alerts.load : nil
            loadPerCore = alerts.loadPerCore
        }
    }

    public static func evaluate(
        snapshot: AgentSnapshot, collectors: [ChildState], storage: StorageHealth? = nil, thresholds: Thresholds = Thresholds(),
        outputs: [OutputState] = []
    ) -> AgentCondition {
        var critical: [String] = []
        var warning: [String] = []
        func check(_ name: String, _ value: Double?, _ rule: AlertRuleSettings?, scale: Double = 1) {
            guard let value, let rule else { return }
            let limits = (warning: rule.warning * scale, critical: rule.critical * scale)
            if value >= limits.critical {
                critical.append("\(name) \(value) >= \(limits.critical)")
            } else if value >= limits.warning {
                warning.append("\(name) \(value) >= \(limits.warning)")
            }
        }
        check("cpu_usage_percent", snapshot.cpu?.usagePercent, thresholds.cpu)
        check("memory_usage_percent", snapshot.memory?.usagePercent, thresholds.memory)
        check("disk_usage_percent", snapshot.disk?.rootUsagePercent, thresholds.disk)
        let cores = snapshot.cpu.map { Double(max(1, $0.cores)) } ?? 1
        check("load_average.one_minute", snapshot.load?.oneMinute, thresholds.load, scale: thresholds.loadPerCore ? cores : 1)
        // A failed core collector: the rule of ``AgentHealth`` (unhealthy), critical here.
        let failedCore = AgentHealth.failedCoreCollectors(collectors)
        critical += failedCore.map { "collector \($0) failed" }
        for state in collectors where !failedCore.contains(state.name) {
            if state.status == .failed {
                warning.append("collector \(state.name) failed")
            } else if state.status == .restarting {
                warning.append("collector \(state.name) restarting")
            }
        }
        warning += storage?.problems ?? []
        warning += outputs.compactMap(\.degradedReason)
        if !critical.isEmpty { return AgentCondition(status: .critical, reasons: critical + warning) }
        if !warning.isEmpty { return AgentCondition(status: .degraded, reasons: warning) }
        if snapshot.updatedAt == nil { return AgentCondition(status: .starting, reasons: []) }
        return AgentCondition(status: .healthy, reasons: [])
    }
}
