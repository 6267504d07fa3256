//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// `GET /api/v1/status-simple`: the headline figures of a snapshot and the agent's ``AgentCondition`` judged on them.
public struct SimpleStatus: Sendable, Hashable {
    public var condition: AgentCondition
    /// When the snapshot was last updated; nil before the first collection.
    public var updatedAt: Timestamp?
    /// 0–100, all CPUs.
    public var cpuUsagePercent: Double?
    /// 0–100, RAM.
    public var memoryUsagePercent: Double?
    /// 0–100, the root filesystem.
    public var diskUsagePercent: Double?
    /// 1-minute load per CPU in percent (100 = every CPU busy on average); nil without load or a CPU count.
    public var loadPercent: Double?

    public init(
        condition: AgentCondition, updatedAt: Timestamp?, cpuUsagePercent: Double?, memoryUsagePercent: Double?, diskUsagePercent: Double?,
        loadPercent: Double?
    ) {
        self.condition = condition
        self.updatedAt = updatedAt
        self.cpuUsagePercent = cpuUsagePercent
        self.memoryUsagePercent = memoryUsagePercent
        self.diskUsagePercent = diskUsagePercent
        self.loadPercent = loadPercent
    }

    /// The figures of `snapshot` and the condition ``AgentCondition/evaluate(snapshot:collectors:storage:thresholds:outputs:)`` gives.
    public static func evaluate(
        snapshot: AgentSnapshot, collectors: [ChildState], storage: StorageHealth? = nil, thresholds: AgentCondition.Thresholds = .init(),
        outputs: [OutputState] = []
    ) -> SimpleStatus {
        SimpleStatus(
            condition: AgentCondition.evaluate(snapshot: snapshot, collectors: collectors, storage: storage, thresholds: thresholds, outputs: outputs),
            updatedAt: snapshot.updatedAt, cpuUsagePercent: snapshot.cpu?.usagePercent, memoryUsagePercent: snapshot.memory?.usagePercent,
            diskUsagePercent: snapshot.disk?.rootUsagePercent, loadPercent: loadPercent(snapshot))
    }

    /// 1-minute load / online CPUs × 100; nil without a load report, a CPU report or with 0 CPUs.
    public static func loadPercent(_ snapshot: AgentSnapshot) -> Double? {
        guard let load = snapshot.load, let cores = snapshot.cpu?.cores, cores > 0 else { return nil }
        return load.oneMinute / Double(cores) * 100
    }
}
