//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Dispatch
import Synchronization

/// A blocking `statvfs`-like call; injectable so tests can simulate a hung NFS mount.
public typealias StatfsFunction = @Sendable (String) -> StatfsResult

/// Runs blocking `statvfs` calls off the cooperative thread pool, each raced against a timeout.
///
/// A call that times out keeps its thread until the kernel answers; while it is stuck, no second
/// call is issued for the same path (the path answers `.timedOut` at once), so a dead NFS server
/// costs one blocked thread, not one more per collection.
final class StatfsGuard: Sendable {
    private let inFlight = Mutex<Set<String>>([])
    private let queue = DispatchQueue(label: "viworks.collectors.statfs", attributes: .concurrent)
    private let function: StatfsFunction

    init(function: @escaping StatfsFunction) {
        self.function = function
    }

    /// Paths whose call is still running.
    var pending: Set<String> { inFlight.withLock { $0 } }

    func stat(_ path: String, timeout: Duration) async -> StatfsResult {
        guard inFlight.withLock({ $0.insert(path).inserted }) else { return .timedOut }
        let function = self.function
        return await withCheckedContinuation { (continuation: CheckedContinuation<StatfsResult, Never>) in
            let once = ResumeOnce(continuation)
            queue.async {
                let result = function(path)
                self.inFlight.withLock { _ = $0.remove(path) }
                once.resume(result)
            }
            let nanoseconds = Int(min(max(timeout.secondsDouble, 0), 86_400) * 1e9)
            queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { once.resume(.timedOut) }
        }
    }
}

/// Resumes a continuation with whichever result comes first.
private final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<StatfsResult, Never>?>

    init(_ continuation: CheckedContinuation<StatfsResult, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ result: StatfsResult) {
        let waiting = continuation.withLock { value -> CheckedContinuation<StatfsResult, Never>? in
            defer { value = nil }
            return value
        }
        waiting?.resume(returning: result)
    }
}
