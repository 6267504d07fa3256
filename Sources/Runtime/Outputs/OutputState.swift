//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import Synchronization

/// The condition of a push output, as `/api/v1/status` `outputs[].status` reports it.
public enum OutputStatus: String, Sendable, Hashable, CaseIterable {
    /// The last push succeeded (or none failed yet).
    case ok
    /// The last push failed; fewer than ``OutputState/failingAfterAttempts`` attempts in a row failed.
    case retrying
    /// At least ``OutputState/failingAfterAttempts`` attempts in a row failed: `status-simple` is degraded (never health).
    case failing
    /// Not enabled in the configuration.
    case disabled
}

/// One push output's state: what `/api/v1/status` `outputs`, `/metrics` `viworks_output_*` and `status-simple` show.
public struct OutputState: Sendable, Hashable {
    /// Consecutive failed attempts from which an output is ``OutputStatus/failing`` rather than retrying: one failed
    /// attempt is a hiccup, three in a row (with backoff between them) an outage someone should look at.
    public static let failingAfterAttempts = 3

    /// The output's name, e.g. `postgresql`.
    public var name: String
    public var enabled: Bool
    /// Failed attempts since the last success.
    public var consecutiveFailures = 0
    /// Rows waiting in the outbox.
    public var backlogRows = 0
    /// Collection time of the oldest waiting row.
    public var oldestBacklogAt: Timestamp?
    /// End of the last successful push.
    public var lastSuccessAt: Timestamp?
    /// The last failure's reason (kept after a success, with ``lastErrorAt``, until the next failure replaces it).
    public var lastError: String?
    public var lastErrorAt: Timestamp?
    /// Rows the database acknowledged (committed), since the agent started.
    public var rowsSent: UInt64 = 0
    /// Failed attempts, each followed by a retry, since the agent started.
    public var retries: UInt64 = 0
    /// Rows dropped from the outbox by `max_backlog_rows` or `max_backlog_age`, since the agent started.
    public var droppedRows: UInt64 = 0

    public init(name: String, enabled: Bool) {
        self.name = name
        self.enabled = enabled
    }

    /// The decision: disabled when off, ok after a success (or before the first attempt), retrying after a failure,
    /// failing from ``failingAfterAttempts`` failures in a row.
    public var status: OutputStatus {
        guard enabled else { return .disabled }
        if consecutiveFailures == 0 { return .ok }
        return consecutiveFailures >= Self.failingAfterAttempts ? .failing : .retrying
    }

    /// The `status-simple` reason of a failing output, nil otherwise.
    public var degradedReason: String? {
        guard status == .failing else { return nil }
        return "output \(name) failing: \(lastError ?? "unknown error")"
    }
}

/// The states of every push output, shared by the outputs (which write them) and the API (which reads them). A change
/// bumps ``generation`` (response caches key on it).
public final class OutputBoard: Sendable {
    private let states: Mutex<[OutputState]>
    private let changes = Atomic<UInt64>(0)

    /// - Parameter outputs: every output the agent knows, in the order status lists them.
    public init(_ outputs: [OutputState]) {
        self.states = Mutex(outputs)
    }

    /// Every output, in order.
    public var all: [OutputState] { states.withLock { $0 } }

    /// The output named `name`, if any.
    public func state(_ name: String) -> OutputState? { states.withLock { $0.first { $0.name == name } } }

    /// Changes `name`'s state; bumps ``generation`` when it changed.
    public func update(_ name: String, _ change: (inout OutputState) -> Void) {
        let changed = states.withLock { states -> Bool in
            guard let index = states.firstIndex(where: { $0.name == name }) else { return false }
            let before = states[index]
            change(&states[index])
            return states[index] != before
        }
        if changed { changes.add(1, ordering: .relaxed) }
    }

    /// Changes with every change of state.
    public var generation: UInt64 { changes.load(ordering: .relaxed) }
}
