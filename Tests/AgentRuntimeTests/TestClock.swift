//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import Synchronization

/// A manual clock: time moves only when a test calls ``advance(by:)``; sleepers wake when their deadline passes.
final class TestClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var id: Int
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextID = 0
        var passAfterNextRead: Duration?
    }

    private let state = Mutex(State())

    var now: Instant {
        state.withLock { state in
            let now = state.now
            if let passing = state.passAfterNextRead {
                state.now = now.advanced(by: passing)
                state.passAfterNextRead = nil
            }
            return now
        }
    }

    /// Lets `duration` pass right after the next read of ``now``: the reader sees time that went by without it, as a
    /// task does that waits for a busy executor.
    func passAfterNextRead(_ duration: Duration) {
        state.withLock { $0.passAfterNextRead = duration }
    }
    var minimumResolution: Duration { .zero }

    /// Tasks currently sleeping on this clock.
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if deadline <= state.now { return true }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Moves time forward and wakes every sleeper whose deadline has passed.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let due = state.sleepers.filter { $0.deadline <= state.now }
            state.sleepers.removeAll { $0.deadline <= state.now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}

/// Waits (in real time, bounded) until `condition` holds; returns whether it did. The bound is generous: it is only
/// reached when a test fails, and a loaded two-core machine can keep the cooperative pool busy for seconds.
@discardableResult
func eventually(within seconds: Double = 30, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return await condition()
}

/// Lets woken tasks run until they sleep again: waits until the clock's sleeper count is stable.
func settle(_ clock: TestClock) async {
    var last = -1
    var stable = 0
    for _ in 0..<2000 {
        await Task.yield()
        try? await Task.sleep(for: .microseconds(300))
        let count = clock.sleeperCount
        if count == last { stable += 1 } else { stable = 0 }
        last = count
        if stable >= 5 { return }
    }
}

/// Simulates work stuck in an uninterruptible syscall: `wait()` ignores cancellation until `release()`.
final class Hang: Sendable {
    private let waiters = Mutex<[CheckedContinuation<Void, Never>]>([])

    func wait() async {
        await withCheckedContinuation { continuation in waiters.withLock { $0.append(continuation) } }
    }

    func release() {
        for waiter in waiters.withLock({ state in defer { state = [] }; return state }) { waiter.resume() }
    }
}
