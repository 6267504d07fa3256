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
    let work = Mutex<[Task<Void, Never>]>([])
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            state.withLock { $0 = continuation }
            if Task.isCancelled {
                resume(.failure(CancellationError()))
                return
            }
            let operationTask = Task {
                do { resume(.success(try await operation())) } catch { resume(.failure(error)) }
            }
            let timerTask = Task {
                do {
                    try await clock.sleep(for: timeout)
                    resume(.failure(CollectorError.timedOut(timeout)))
                    operationTask.cancel()
                } catch {
                    // Cancelled: the operation finished first or the caller was cancelled.
                }
            }
            work.withLock { $0 = [operationTask, timerTask] }
            Task {
                _ = await operationTask.value
                timerTask.cancel()
            }
        }
    } onCancel: {
        for task in work.withLock({ $0 }) { task.cancel() }
        resume(.failure(CancellationError()))
    }
}
