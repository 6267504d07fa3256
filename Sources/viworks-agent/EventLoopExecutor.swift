//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@_spi(ExperimentalCustomExecutors) @_spi(ExperimentalScheduling) import _Concurrency
import NIOCore
import NIOPosix

/// Swift concurrency's default (global) executor on NIO's shared event loop: every task of the agent that is not
/// isolated to an actor with an executor of its own runs on that one loop thread, together with the HTTP server and the
/// clients, whatever the number of CPUs.
///
/// Without it, the runtime's default executor is libdispatch's cooperative pool, which starts one thread per online
/// CPU (libdispatch reads the online CPUs and ignores the affinity mask and the cgroup): 64 threads on a 64-core host.
/// NIO's own take-over (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()`)
/// replaces only the runtime's enqueue hook: it needs `dlsym` to find the hook, which a statically linked binary
/// without an exported dynamic symbol table does not allow, and since Swift 6.2 `Task.sleep` bypasses that hook
/// (it schedules on the default executor directly), so every timer fired on a libdispatch thread anyway.
///
/// Here the runtime's executor factory (Swift 6.3, `ExecutorFactory`) is given an executor that enqueues jobs on the
/// loop and schedules delayed jobs (`Task.sleep`, `clock.sleep`) with the loop's timers. Blocking work must stay off
/// the loop: it runs on threads of its own (disk's `statvfs`, the journal reader), serial Dispatch queues (sd-bus,
/// GRDB's database queues) or NIO's blocking pool.
final class EventLoopTaskExecutor: TaskExecutor, SchedulingExecutor {
    /// The loop every job runs on.
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        schedule(UnownedJob(job), in: .zero)
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C) {
        if let instant = instant as? ContinuousClock.Instant {
            schedule(UnownedJob(job), in: ContinuousClock.now.duration(to: instant))
        } else if let instant = instant as? SuspendingClock.Instant {
            schedule(UnownedJob(job), in: SuspendingClock.now.duration(to: instant))
        } else {
            // A clock of someone else's: its instants mean nothing to the loop's timers, so its own executor decides.
            Self.fallback(job, at: instant, tolerance: tolerance, clock: clock)
        }
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C) {
        if let delay = delay as? Duration, clock is ContinuousClock || clock is SuspendingClock {
            schedule(UnownedJob(job), in: delay)
        } else {
            Self.fallback(job, at: clock.now.advanced(by: delay), tolerance: tolerance, clock: clock)
        }
    }

    /// Runs `job` on the loop once `delay` has passed (at once when it is zero or negative).
    ///
    /// A job runs as the runtime's own default executor runs it: on the generic executor (no isolation), with this
    /// executor as its task executor. Run as isolated to the loop's serial executor instead (as NIO's take-over does),
    /// the task was never on the generic executor, so a switch to it (into nonisolated async code) went to the end of
    /// the loop's queue, behind every other job, instead of going on at once: under HTTP load 9 % of the agent's CPU was
    /// that re-queueing. A switch to an actor is still queued on the actor.
    private func schedule(_ job: UnownedJob, in delay: Duration) {
        let (seconds, attoseconds) = delay.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let total = nanoseconds.overflow ? Int64.max : nanoseconds.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
        let executor = asUnownedTaskExecutor()
        if total <= 0 {
            loop.execute { job.runSynchronously(on: executor) }
            return
        }
        loop.scheduleTask(in: .nanoseconds(total)) { job.runSynchronously(on: executor) }
    }

    private static func fallback<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C) {
        if let platform = PlatformExecutorFactory.defaultExecutor as? any SchedulingExecutor {
            platform.enqueue(job, at: instant, tolerance: tolerance, clock: clock)
        } else {
            PlatformExecutorFactory.defaultExecutor.enqueue(job)
        }
    }
}

/// The executors the runtime uses: the main thread's as usual, the default one on NIO's event loop.
struct AgentExecutorFactory: ExecutorFactory {
    static var mainExecutor: any MainExecutor { PlatformExecutorFactory.mainExecutor }
    static var defaultExecutor: any TaskExecutor { shared }

    private static let shared = EventLoopTaskExecutor(loop: MultiThreadedEventLoopGroup.singleton.next())

    /// Pins NIO's shared event loop group to one loop and its blocking pool to two threads (both follow the core count
    /// by default: 2 × 64 threads on a 64-core host), then makes the loop the default executor. Call it first in
    /// `main`, before any task is started: jobs enqueued earlier stay with the platform's executor.
    static func install() {
        NIOSingletons.groupLoopCountSuggestion = 1
        NIOSingletons.blockingPoolThreadCountSuggestion = 2
        _createExecutors(factory: AgentExecutorFactory.self)
    }
}
