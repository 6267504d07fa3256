//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AgentRuntime
import Synchronization

/// A blocking `statvfs`-like call; injectable so tests can simulate a hung NFS mount.
public typealias StatfsFunction = @Sendable (String) -> StatfsResult

/// Runs blocking `statvfs` calls on their own short-lived threads, each raced against a timeout.
///
/// Each call gets a detached pthread (64 KiB stack) rather than a Dispatch worker: libdispatch on
/// Linux only adds workers slowly once its pool (one per core) is blocked, so a few dead NFS mounts
/// would delay every later `statvfs`. The timeout runs on the Swift concurrency clock, independent
/// of those threads.
///
/// A call that times out keeps its thread until the kernel answers; while it is stuck, no second
/// call is issued for the same path (the path answers `.timedOut` at once), so a dead NFS server
/// costs one blocked thread, not one more per collection.
final class StatfsGuard: Sendable {
    private let inFlight = Mutex<Set<String>>([])
    private let function: StatfsFunction

    init(function: @escaping StatfsFunction) {
        self.function = function
    }

    func stat(_ path: String, timeout: Duration) async -> StatfsResult {
        await stat([path], timeout: timeout)[0]
    }

    /// Calls `statvfs` for every path at once, each on its own thread, under one deadline for all of them:
    /// a path that has not answered when `timeout` has passed is `.timedOut`.
    func stat(_ paths: [String], timeout: Duration) async -> [StatfsResult] {
        let function = self.function
        var pending: [(index: Int, result: FirstResult)] = []
        var results = [StatfsResult](repeating: .timedOut, count: paths.count)
        for (index, path) in paths.enumerated() {
            guard inFlight.withLock({ $0.insert(path).inserted }) else { continue }  // still stuck from before
            let once = FirstResult()
            let started = spawnDetachedThread { [self] in
                let result = function(path)
                self.inFlight.withLock { _ = $0.remove(path) }
                once.offer(result)
            }
            if started {
                pending.append((index, once))
            } else {
                inFlight.withLock { _ = $0.remove(path) }
                results[index] = .failed(EAGAIN)
            }
        }
        guard !pending.isEmpty else { return results }
        let waiting = pending.map(\.result)
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { for once in waiting { once.offer(.timedOut) } }
        }
        for (index, once) in pending {
            results[index] = await withCheckedContinuation { once.attach($0) }
        }
        timer.cancel()
        return results
    }
}

/// Hands the first offered result to the continuation, whether it arrives before or after `attach`.
private final class FirstResult: Sendable {
    private struct State {
        var continuation: CheckedContinuation<StatfsResult, Never>?
        var result: StatfsResult?
        var delivered = false
    }

    private let state = Mutex(State())

    func attach(_ continuation: CheckedContinuation<StatfsResult, Never>) {
        let ready = state.withLock { state -> StatfsResult? in
            guard let result = state.result, !state.delivered else {
                state.continuation = continuation
                return nil
            }
            state.delivered = true
            return result
        }
        if let ready { continuation.resume(returning: ready) }
    }

    func offer(_ result: StatfsResult) {
        let waiting = state.withLock { state -> CheckedContinuation<StatfsResult, Never>? in
            guard state.result == nil else { return nil }
            state.result = result
            guard let continuation = state.continuation else { return nil }
            state.continuation = nil
            state.delivered = true
            return continuation
        }
        waiting?.resume(returning: result)
    }
}

