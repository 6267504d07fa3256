//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import Synchronization

/// Where a supervised child is in its life.
public enum ChildStatus: String, Sendable, Hashable, Codable {
    /// Not started yet.
    case starting
    case running
    /// Failed and waiting for its backoff before the next start.
    case restarting
    /// Failed too often in a row (a crash loop): not restarted until a reload.
    case failed
    /// Disabled by configuration.
    case disabled
    /// Ended with the agent.
    case stopped
}

/// What the API shows about one supervised child (a collector or a plugin).
public struct ChildState: Sendable, Hashable, Codable {
    public var name: String
    /// `collector` or `plugin`.
    public var kind: String
    /// Core collectors make `/api/v1/health` unhealthy when they are `failed`.
    public var core: Bool
    public var status: ChildStatus
    /// Restarts since the agent started.
    public var restarts: Int
    /// Failures in a row without a stable run in between.
    public var consecutiveFailures: Int
    public var lastError: String?
    public var lastErrorAt: Timestamp?
    /// When the child was (re)started last.
    public var startedAt: Timestamp?
    /// When a `restarting` child will be started again.
    public var nextRestartAt: Timestamp?
    /// Collection interval in seconds.
    public var intervalSeconds: Double?
    /// Collection deadline in seconds.
    public var timeoutSeconds: Double?
    public var lastCollectionAt: Timestamp?
    public var lastDurationSeconds: Double?
    public var lastSuccess: Bool?
    /// Collections that succeeded (including `no data`).
    public var collections: UInt64
    /// Collections that threw or timed out.
    public var failures: UInt64
    public var timeouts: UInt64

    public init(name: String, kind: String, core: Bool, status: ChildStatus = .starting) {
        self.name = name
        self.kind = kind
        self.core = core
        self.status = status
        self.restarts = 0
        self.consecutiveFailures = 0
        self.collections = 0
        self.failures = 0
        self.timeouts = 0
    }
}

/// A child's shared, lock-protected state: the child records collections, the supervisor records
/// lifecycle, the API and the watchdog read it without an actor hop.
public final class ChildHandle: Sendable {
    public let name: String
    private let state: Mutex<ChildState>
    private let changes = Atomic<UInt64>(0)

    public init(_ initial: ChildState) {
        self.name = initial.name
        self.state = Mutex(initial)
    }

    /// A copy of the current state.
    public var snapshot: ChildState { state.withLock { $0 } }

    /// Increases on every change of the state: a cheap "has anything changed" check for response caches.
    public var changeCount: UInt64 { changes.load(ordering: .acquiring) }

    public func update(_ body: (inout ChildState) -> Void) {
        state.withLock { body(&$0) }
        changes.wrappingAdd(1, ordering: .releasing)
    }

    /// Records the result of one collection.
    public func recordCollection(at timestamp: Timestamp, duration: Duration, error: (any Error)?) {
        state.withLock { value in
            value.lastCollectionAt = timestamp
            value.lastDurationSeconds = duration.secondsDouble
            value.lastSuccess = error == nil
            if let error {
                value.failures += 1
                if case CollectorError.timedOut = error { value.timeouts += 1 }
                value.lastError = String(describing: error)
                value.lastErrorAt = timestamp
            } else {
                value.collections += 1
            }
        }
        changes.wrappingAdd(1, ordering: .releasing)
    }
}
