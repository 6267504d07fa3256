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
import Dispatch
import Synchronization

/// A blocking `statvfs`-like call; injectable so tests can simulate a hung NFS mount.
public typealias StatfsFunction = @Sendable (String) -> StatfsResult

/// Runs blocking `statvfs` calls on threads of their own, each call raced against a timeout.
///
/// The calls of one collection are a batch that worker threads take in order: one parked worker wakes for it and makes
/// the calls one after another (a few microseconds each), so a quiet host keeps one thread for its disks instead of
/// starting one per mount per collection. A call that does not return (a dead NFS server) must not delay the others:
/// when calls of the batch wait to be taken and none was answered for ``stallInterval`` (at most a fifth of the
/// timeout), each waiting call gets a worker of its own (a parked one, or a new detached pthread of 64 KiB stack), so
/// five hung mounts end up on five threads and the rest of the batch is answered. Dispatch workers are not used:
/// libdispatch on Linux adds workers only slowly once its pool (one per core) is blocked. After a batch a worker parks
/// for the next one, or ends when ``maximumParked`` already wait. The timeout runs on the Swift concurrency clock,
/// independent of those threads: a call not answered when it has passed is `.timedOut`. A call nobody had taken by then
/// (the check for stalls came late: a busy executor) gets a worker of its own at the deadline and one stall interval
/// more; a call still not taken after that is not made and is `.timedOut` too.
///
/// A call that times out keeps its thread until the kernel answers; while it is stuck, no second call is issued for
/// the same path (the path answers `.timedOut` at once), so a dead NFS server costs one blocked thread, not one more
/// per collection.
final class StatfsGuard: Sendable {
    /// How long a batch may go without an answer while calls of it wait to be taken, before each waiting call gets a
    /// worker of its own (at most a fifth of the timeout).
    let stallInterval: Duration
    /// How many workers wait for the next batch.
    static let maximumParked = 1

    private let inFlight = PathsInFlight()
    private let function: StatfsFunction
    private let workers = StatfsWorkers(maximumParked: StatfsGuard.maximumParked)

    init(function: @escaping StatfsFunction, stallInterval: Duration = .milliseconds(20)) {
        self.function = function
        self.stallInterval = stallInterval
    }

    deinit { workers.stop() }

    func stat(_ path: String, timeout: Duration) async -> StatfsResult {
        await stat([path], timeout: timeout)[0]
    }

    /// Calls `statvfs` for every path, under one deadline for all of them: a path that has not answered when `timeout`
    /// has passed is `.timedOut`.
    func stat(_ paths: [String], timeout: Duration) async -> [StatfsResult] {
        var results = [StatfsResult](repeating: .timedOut, count: paths.count)
        var asked: [(index: Int, path: String)] = []
        for (index, path) in paths.enumerated() where inFlight.paths.withLock({ $0.insert(path).inserted }) {  // else still stuck from before
            asked.append((index, path))
        }
        guard !asked.isEmpty else { return results }
        let batch = StatfsBatch(paths: asked.map(\.path), function: function, inFlight: inFlight)
        guard workers.add(batch) else {
            batch.abandon(answer: .failed(EAGAIN))
            for entry in asked { results[entry.index] = .failed(EAGAIN) }
            return results
        }
        // A fifth of a short timeout, so that the calls behind a hung one still have most of it.
        let stall = min(stallInterval, timeout / 5)
        let watchdog = Task { [workers] in
            let deadline = ContinuousClock.now.advanced(by: timeout)
            var answered = 0
            while ContinuousClock.now < deadline {
                let progress = batch.progress
                // Every call taken: only the deadline is left to wait for.
                let wait = progress.untaken > 0 ? min(stall, ContinuousClock.now.duration(to: deadline)) : ContinuousClock.now.duration(to: deadline)
                do { try await Task.sleep(for: wait) } catch { return }
                let now = batch.progress
                if now.untaken > 0, now.answered == answered {
                    // Stalled: each call not taken yet gets a worker of its own, as any of them may hang too.
                    for _ in 0..<now.untaken { _ = workers.add(batch) }
                }
                answered = now.answered
            }
            // Calls still waiting to be taken at the deadline (this task ran too late to see the stall: a busy
            // executor) are made now, each on a worker of its own, and have one stall interval more to answer.
            let untaken = batch.progress.untaken
            if untaken > 0 {
                for _ in 0..<untaken { _ = workers.add(batch) }
                do { try await Task.sleep(for: stall) } catch { return }
            }
            batch.abandon(answer: .timedOut)
        }
        for (position, entry) in asked.enumerated() {
            results[entry.index] = await withCheckedContinuation { batch.answers[position].attach($0) }
        }
        watchdog.cancel()
        return results
    }
}

/// The paths whose call has not returned yet.
private final class PathsInFlight: Sendable {
    let paths = Mutex<Set<String>>([])
}

/// The calls of one collection, taken in order by the workers that join it.
private final class StatfsBatch: Sendable {
    let paths: [String]
    let answers: [FirstResult]
    private let function: StatfsFunction
    private let inFlight: PathsInFlight
    private let state = Mutex<(next: Int, answered: Int)>((0, 0))

    init(paths: [String], function: @escaping StatfsFunction, inFlight: PathsInFlight) {
        self.paths = paths
        self.answers = paths.map { _ in FirstResult() }
        self.function = function
        self.inFlight = inFlight
    }

    /// Calls answered, and calls no worker has taken yet.
    var progress: (answered: Int, untaken: Int) {
        state.withLock { ($0.answered, paths.count - $0.next) }
    }

    /// Makes the calls nobody has taken, one after another, on the calling thread; `whenDone` runs once none is left,
    /// before the last answer is handed over (so that a worker is parked before its batch's caller asks for the next).
    func work(whenDone: () -> Void) {
        var index = take()
        if index == nil { whenDone() }
        while let current = index {
            let result = function(paths[current])
            inFlight.paths.withLock { _ = $0.remove(paths[current]) }
            state.withLock { $0.answered += 1 }
            index = take()
            if index == nil { whenDone() }
            answers[current].offer(result)
        }
    }

    private func take() -> Int? {
        state.withLock { state -> Int? in
            guard state.next < paths.count else { return nil }
            defer { state.next += 1 }
            return state.next
        }
    }

    /// Ends the batch: calls nobody has taken are not made (`answer` is theirs) and every call not answered yet
    /// answers `answer`; a call in progress keeps its path in flight until it returns.
    func abandon(answer: StatfsResult) {
        let untaken = state.withLock { state -> Range<Int> in
            defer { state.next = paths.count }
            return state.next..<paths.count
        }
        inFlight.paths.withLock { set in for index in untaken { set.remove(paths[index]) } }
        for result in answers { result.offer(answer) }
    }
}

/// The threads that make the calls of ``StatfsBatch``es: each works through a batch, then parks for the next one or
/// ends.
private final class StatfsWorkers: Sendable {
    /// A parked worker: woken with a batch, or without one to end.
    private final class Slot: Sendable {
        let wake = DispatchSemaphore(value: 0)
        let batch = Mutex<StatfsBatch?>(nil)
    }

    private let maximumParked: Int
    private let state = Mutex<(parked: [Slot], stopped: Bool)>(([], false))

    init(maximumParked: Int) {
        self.maximumParked = maximumParked
    }

    /// Puts a worker on `batch`: a parked one, else a new thread. False when no thread could be started.
    func add(_ batch: StatfsBatch) -> Bool {
        if let slot = state.withLock({ $0.parked.popLast() }) {
            slot.batch.withLock { $0 = batch }
            slot.wake.signal()
            return true
        }
        return spawnDetachedThread { [self] in
            var next: StatfsBatch? = batch
            while let current = next {
                var slot: Slot?
                current.work { slot = park() }
                next = slot.flatMap { slot in
                    slot.wake.wait()
                    return slot.batch.withLock { $0 }
                }
            }
        }
    }

    /// Parks the calling worker: the slot it waits on for its next batch, or nil when it is to end instead (enough
    /// parked, or stopped).
    private func park() -> Slot? {
        let slot = Slot()
        return state.withLock { state -> Slot? in
            guard !state.stopped, state.parked.count < maximumParked else { return nil }
            state.parked.append(slot)
            return slot
        }
    }

    /// Ends the parked workers; a worker busy with a call ends once it returns.
    func stop() {
        let parked = state.withLock { state -> [Slot] in
            state.stopped = true
            defer { state.parked = [] }
            return state.parked
        }
        for slot in parked { slot.wake.signal() }
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

