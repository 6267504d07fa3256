//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The agent's overall condition, as `status-simple` reports it: the one place that decides whether the agent is
/// healthy, degraded or critical, and why.
///
/// `critical` when a headline figure is at or above its critical threshold or a core collector failed; `degraded` when
/// a figure is at or above its warning threshold, a collector is restarting or failed, or a database is degraded or
/// unavailable (history not stored, or commands refused for want of an audit log); `starting` before the first
/// collection; else `healthy`. `reasons` lists every cause, critical ones first.
public struct AgentCondition: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case healthy, degraded, critical, starting
    }

    public var status: Status
    public var reasons: [String]

    /// Thresholds of the headline figures, from the specification's alert defaults (disk: 85 / 95).
    public enum HeadlineThresholds {
        public static let cpu = (warning: 80.0, critical: 95.0)
        public static let memory = (warning: 85.0, critical: 95.0)
        public static let disk = (warning: 85.0, critical: 95.0)
        public static let load = (warning: 2.0, critical: 5.0)
    }

    public static func evaluate(snapshot: AgentSnapshot, collectors: [ChildState], storage: StorageHealth? = nil) -> AgentCondition {
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
        for (component, condition) in storage?.all ?? [] where condition.isProblem {
            warning.append("\(component.rawValue) storage \(condition.status.rawValue): \(condition.reason ?? "unknown")")
        }
        if !critical.isEmpty { return AgentCondition(status: .critical, reasons: critical + warning) }
        if !warning.isEmpty { return AgentCondition(status: .degraded, reasons: warning) }
        if snapshot.updatedAt == nil { return AgentCondition(status: .starting, reasons: []) }
        return AgentCondition(status: .healthy, reasons: [])
    }
}
