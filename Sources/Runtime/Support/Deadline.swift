//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import Synchronization

/// Runs `operation` but gives up after `timeout` on `clock`, throwing ``CollectorError/timedOut(_:)``.
///
/// Unlike a task group, this does not wait for the operation to finish once the deadline passed: a
/// collector stuck in an uninterruptible syscall is cancelled and abandoned, so its caller (and the
/// supervisor behind it) keeps going. The abandoned work ends whenever the syscall returns.
public func withDeadline<T: Sendable, C: Clock<Duration>>(
    _ timeout: Duration,
    clock: C,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let state = Mutex<CheckedContinuation<T, any Error>?>(nil)
    let resume: @Sendable (Result<T, any Error>) -> Void = { result in
        let continuation = state.withLock { value -> CheckedContinuation<T, any Error>? in
            defer { value = nil }
            return value
        }
        continuation?.resume(with: result)
    }
    // The operation task, for the timer and for the caller's cancellation.
    let work = TaskBox()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            state.withLock { $0 = continuation }
            if Task.isCancelled {
                resume(.failure(CancellationError()))
                return
            }
            // Two tasks: the timer cancels the operation when it fires; the operation cancels the timer when it ends.
            let timerTask = Task {
                do {
                    try await clock.sleep(for: timeout)
                } catch {
                    return  // cancelled: the operation finished first or the caller was cancelled
                }
                resume(.failure(CollectorError.timedOut(timeout)))
                work.cancel()
            }
            let operationTask = Task {
                do { resume(.success(try await operation())) } catch { resume(.failure(error)) }
                timerTask.cancel()
            }
            work.set(operationTask)
        }
    } onCancel: {
        work.cancel()  // the operation; it cancels the timer when it ends
        resume(.failure(CancellationError()))
    }
}

/// Holds the operation's task so the timer and the caller's cancellation handler can cancel it.
private final class TaskBox: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)

    func set(_ value: Task<Void, Never>) { task.withLock { $0 = value } }

    func cancel() { task.withLock { $0 }?.cancel() }
}
