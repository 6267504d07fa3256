//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Whether the agent itself works, as `GET /api/v1/health` reports it (a liveness check, unlike ``AgentCondition``,
/// which judges the host): `unhealthy` when a core collector failed, `starting` before the first collection, else
/// `healthy`. The one place that decides it.
public struct AgentHealth: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case healthy, starting, unhealthy
    }

    public var status: Status
    /// Names of the core collectors that failed (their restarts are exhausted), in supervisor order.
    public var failedCollectors: [String]
    /// The state databases that do not work (``StorageHealth/problems``: a full disk, a damaged file): the agent keeps
    /// serving, so they do not change ``status``, but health says why history or commands are refused.
    public var storageProblems: [String]

    public init(status: Status, failedCollectors: [String] = [], storageProblems: [String] = []) {
        self.status = status
        self.failedCollectors = failedCollectors
        self.storageProblems = storageProblems
    }

    /// True when the agent serves its purpose: health answers 200, else 503.
    public var isHealthy: Bool { status == .healthy }

    /// - Parameters:
    ///   - collectors: the supervisor's states (``Supervisor/states``).
    ///   - firstCollectionDone: ``SnapshotStore/isReady``: every core collector reported once.
    ///   - storage: the state databases' conditions, reported in ``storageProblems``.
    public static func evaluate(collectors: [ChildState], firstCollectionDone: Bool, storage: StorageHealth? = nil) -> AgentHealth {
        let failed = failedCoreCollectors(collectors)
        let problems = storage?.problems ?? []
        if !failed.isEmpty { return AgentHealth(status: .unhealthy, failedCollectors: failed, storageProblems: problems) }
        if !firstCollectionDone { return AgentHealth(status: .starting, storageProblems: problems) }
        return AgentHealth(status: .healthy, storageProblems: problems)
    }

    /// The core collectors that failed: what makes the agent unhealthy, and its condition critical.
    public static func failedCoreCollectors(_ collectors: [ChildState]) -> [String] {
        collectors.filter { $0.core && $0.status == .failed }.map(\.name)
    }
}
