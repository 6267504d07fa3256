//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Logging
import Synchronization
import Testing

/// A collector whose behaviour a test scripts: succeed, throw, or hang.
final class ScriptedCollector: Collector, Sendable {
    enum Behaviour: Sendable {
        case succeed
        case fail
        case hang
    }

    let descriptor: CollectorDescriptor
    let behaviour: Behaviour
    let calls = Mutex(0)
    let hang = Hang()

    init(_ id: String, _ behaviour: Behaviour) {
        descriptor = CollectorDescriptor(id: id, defaultTimeout: .seconds(2))
        self.behaviour = behaviour
    }

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        calls.withLock { $0 += 1 }
        switch behaviour {
        case .succeed:
            return CollectorOutput(samples: [MetricSample("test_value", .gauge, 1)])
        case .fail:
            throw ParseError(file: "/proc/test", line: 3, reason: "scripted failure")
        case .hang:
            // Not cancellable on purpose, like a statvfs on a dead NFS mount: only the deadline saves the runner.
            await hang.wait()
            return CollectorOutput(samples: [])
        }
    }
}

/// A collector that takes `work` of a test clock's time, then does what ``ScriptedCollector`` would.
final class TimedCollector: Collector, Sendable {
    let descriptor: CollectorDescriptor
    let clock: TestClock
    let work: Duration
    let behaviour: ScriptedCollector.Behaviour?

    /// `behaviour` nil: reports no data.
    init(_ id: String, clock: TestClock, work: Duration, behaviour: ScriptedCollector.Behaviour?) {
        descriptor = CollectorDescriptor(id: id, defaultTimeout: .seconds(2))
        self.clock = clock
        self.work = work
        self.behaviour = behaviour
    }

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        clock.advance(by: work)
        switch behaviour {
        case nil: throw CollectorError.noData("no such device")
        case .fail: throw ParseError(file: "/proc/test", line: 3, reason: "scripted failure")
        case .succeed, .hang: return CollectorOutput(samples: [MetricSample("test_value", .gauge, 1)])
        }
    }
}

/// A serial executor that keeps its jobs until the test runs them: an actor on it is busy with other work until then.
final class HeldExecutor: SerialExecutor {
    private let jobs = Mutex<[UnownedJob]>([])

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
    }

    var held: Int { jobs.withLock { $0.count } }

    func runHeld() {
        for job in jobs.withLock({ jobs in defer { jobs = [] }; return jobs }) { job.runSynchronously(on: asUnownedSerialExecutor()) }
    }
}

/// A collector that is an actor (as the CPU, network, processes and services collectors are), on a ``HeldExecutor``;
/// it takes 40 ms of a test clock's time.
actor ActorCollector: Collector {
    nonisolated let descriptor = CollectorDescriptor(id: "actor", defaultTimeout: .seconds(2))
    let clock: TestClock
    let executor: HeldExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(clock: TestClock, executor: HeldExecutor) {
        self.clock = clock
        self.executor = executor
    }

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        clock.advance(by: .milliseconds(40))
        return CollectorOutput(samples: [MetricSample("test_value", .gauge, 1)])
    }
}

struct SupervisorTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// Backoff with jitter fixed at its top (random = 1): 1 s, 2 s, 4 s, … capped at `maximum`.
    func policy(maxAttempts: Int = 3, stableAfter: Duration = .seconds(1000)) -> ExponentialJitterRestartPolicy {
        ExponentialJitterRestartPolicy(initial: .seconds(1), maximum: .seconds(8), maxAttempts: maxAttempts, stableAfter: stableAfter, random: { 1.0 })
    }

    func child(_ collector: ScriptedCollector, interval: Duration, timeout: Duration, bus: MetricsBus, clock: TestClock, policy: any RestartPolicy)
        -> SupervisedChild
    {
        let runner = CollectorRunner(
            collector: collector, interval: interval, timeout: timeout, paths: HostPaths(), bus: bus, clock: clock, logger: logger,
            monotonicSeconds: { 0 }, primingDelay: nil
        )
        return SupervisedChild(name: collector.descriptor.id, isCore: true, policy: policy) { handle in try await runner.run(handle: handle) }
    }

    /// The collectors of a round share one executor thread: a collection that waits 300 ms for it while the others run
    /// and then works 40 ms records 40 ms, whatever its outcome, so the slow collector is the one that shows it.
    @Test(arguments: [ScriptedCollector.Behaviour.succeed, .fail, nil])
    func theRecordedDurationIsTheCollectionsOwnNotItsWaitForTheExecutor(behaviour: ScriptedCollector.Behaviour?) async throws {
        let clock = TestClock()
        let collector = TimedCollector("timed", clock: clock, work: .milliseconds(40), behaviour: behaviour)
        let runner = CollectorRunner(
            collector: collector, interval: .seconds(5), timeout: .seconds(2), paths: HostPaths(), bus: MetricsBus(), clock: clock,
            logger: logger, monotonicSeconds: { 0 }, primingDelay: nil
        )
        let handle = ChildHandle(ChildState(name: "timed", kind: "collector", core: true))
        // The runner starts; 300 ms pass (the other collectors of the round on the thread); the collection takes 40 ms.
        clock.passAfterNextRead(.milliseconds(300))
        var thrown: (any Error)?
        do { try await runner.collectOnce(handle: handle, logger: logger) } catch { thrown = error }
        #expect((thrown is ParseError) == (behaviour == .fail))
        let state = handle.snapshot
        #expect(clock.now.offset == .milliseconds(340))
        #expect(state.lastDurationSeconds == 0.04)
        #expect(state.lastSuccess == (behaviour != .fail))
        #expect(state.collections == (behaviour == .fail ? 0 : 1))
    }

    /// A collector that is an actor waits for its actor (300 ms of others' work), then works 40 ms: it records 40 ms.
    @Test func anActorCollectorIsTimedFromWhenItsActorRunsIt() async throws {
        let clock = TestClock()
        let executor = HeldExecutor()
        let runner = CollectorRunner(
            collector: ActorCollector(clock: clock, executor: executor), interval: .seconds(5), timeout: .seconds(2), paths: HostPaths(),
            bus: MetricsBus(), clock: clock, logger: logger, monotonicSeconds: { 0 }, primingDelay: nil
        )
        let handle = ChildHandle(ChildState(name: "actor", kind: "collector", core: true))
        let collection = Task { try await runner.collectOnce(handle: handle, logger: logger) }
        #expect(await eventually { executor.held > 0 })
        clock.advance(by: .milliseconds(300))
        executor.runHeld()
        try await collection.value
        #expect(clock.now.offset == .milliseconds(340))
        #expect(handle.snapshot.lastDurationSeconds == 0.04)
        #expect(handle.snapshot.collections == 1)
    }

    @Test func backoffGrowsExponentiallyWithJitterAndCaps() {
        let top = ExponentialJitterRestartPolicy(initial: .seconds(1), maximum: .seconds(8), random: { 1.0 })
        #expect((1...6).map { top.backoff(attempt: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
        // Jitter at its bottom halves the delay.
        let bottom = ExponentialJitterRestartPolicy(initial: .seconds(1), maximum: .seconds(8), random: { 0.0 })
        #expect(bottom.backoff(attempt: 3) == .seconds(2))
        #expect(top.shouldRestart(attempt: 5, error: nil))
        #expect(!top.shouldRestart(attempt: 6, error: nil))
    }

    @Test func throwingCollectorIsRestartedWithGrowingBackoffThenFailed() async throws {
        let clock = TestClock()
        let bus = MetricsBus()
        let failing = ScriptedCollector("failing", .fail)
        let supervisor = Supervisor(
            children: [child(failing, interval: .seconds(10), timeout: .seconds(2), bus: bus, clock: clock, policy: policy(maxAttempts: 3))],
            clock: clock, logger: logger
        )
        let task = Task { try await supervisor.run() }
        defer { task.cancel() }
        // Attempt 1 fails at t=0 and waits 1 s; attempt 2 at t=1 waits 2 s; attempt 3 at t=3 waits 4 s; attempt 4 at t=7 fails for good.
        #expect(await eventually { failing.calls.withLock { $0 } == 1 })
        await settle(clock)
        #expect(supervisor.states[0].status == .restarting)
        #expect(supervisor.states[0].restarts == 1)
        clock.advance(by: .milliseconds(999))
        await settle(clock)
        #expect(failing.calls.withLock { $0 } == 1, "restarted before its 1 s backoff")
        clock.advance(by: .milliseconds(1))
        #expect(await eventually { failing.calls.withLock { $0 } == 2 })
        await settle(clock)
        clock.advance(by: .seconds(1))
        await settle(clock)
        #expect(failing.calls.withLock { $0 } == 2, "second backoff must be 2 s")
        clock.advance(by: .seconds(1))
        #expect(await eventually { failing.calls.withLock { $0 } == 3 })
        await settle(clock)
        clock.advance(by: .seconds(4))
        #expect(await eventually { supervisor.states[0].status == .failed })
        let state = supervisor.states[0]
        #expect(failing.calls.withLock { $0 } == 4)
        #expect(state.restarts == 3)
        #expect(state.failures == 4)
        #expect(state.lastError?.contains("crash loop: 4 failures in a row") == true)
        #expect(state.lastError?.contains("/proc/test:3: scripted failure") == true)
        // A failed child stays failed.
        clock.advance(by: .seconds(600))
        await settle(clock)
        #expect(failing.calls.withLock { $0 } == 4)
    }

    @Test func hangingCollectorIsAbandonedAtItsTimeoutWhileOthersKeepTheirCadence() async throws {
        let clock = TestClock()
        let bus = MetricsBus()
        let healthy = ScriptedCollector("healthy", .succeed)
        let hanging = ScriptedCollector("hanging", .hang)
        let failing = ScriptedCollector("failing", .fail)
        let supervisor = Supervisor(
            children: [
                child(healthy, interval: .seconds(5), timeout: .seconds(2), bus: bus, clock: clock, policy: policy(maxAttempts: 100)),
                child(hanging, interval: .seconds(5), timeout: .seconds(2), bus: bus, clock: clock, policy: policy(maxAttempts: 100)),
                child(failing, interval: .seconds(5), timeout: .seconds(2), bus: bus, clock: clock, policy: policy(maxAttempts: 100)),
            ],
            clock: clock, logger: logger
        )
        let stream = await bus.subscribe(name: "test", bufferingNewest: 1000)
        let task = Task { try await supervisor.run() }
        defer { task.cancel() }
        #expect(await eventually { healthy.calls.withLock { $0 } == 1 && hanging.calls.withLock { $0 } == 1 })
        await settle(clock)
        for _ in 0..<60 {
            clock.advance(by: .seconds(1))
            await settle(clock)
        }
        // t = 0, 5, …, 60: 13 collections on schedule, whatever the others did.
        #expect(healthy.calls.withLock { $0 } == 13)
        let states = supervisor.states
        #expect(states[0].collections == 13)
        #expect(states[0].status == .running)
        // The hanging one timed out at t=2 and was restarted after its backoff; each attempt is abandoned at 2 s.
        #expect(states[1].timeouts >= 3)
        #expect(states[1].lastError == "timed out after 2.0 s")
        #expect(states[2].restarts >= 4)
        #expect(hanging.calls.withLock { $0 } == Int(states[1].timeouts) + (states[1].status == .running ? 1 : 0))
        task.cancel()
        hanging.hang.release()
        var published = 0
        for await batch in stream {
            #expect(batch.source == "healthy")
            published += 1
            if published == 13 { break }
        }
        #expect(published == 13)
    }

    @Test func aStableRunResetsTheAttemptCount() async throws {
        let clock = TestClock()
        let runs = Mutex(0)
        let policy = policy(maxAttempts: 1, stableAfter: .seconds(30))
        // Runs 60 s then fails, forever: with a reset after each stable run it never reaches `failed`.
        let child = SupervisedChild(name: "flaky", policy: policy) { _ in
            runs.withLock { $0 += 1 }
            try await clock.sleep(for: .seconds(60))
            throw CollectorError.timedOut(.seconds(1))
        }
        let supervisor = Supervisor(children: [child], clock: clock, logger: logger)
        let task = Task { try await supervisor.run() }
        defer { task.cancel() }
        #expect(await eventually { runs.withLock { $0 } == 1 })
        for _ in 0..<5 {
            await settle(clock)
            clock.advance(by: .seconds(60))
            await settle(clock)
            clock.advance(by: .seconds(1))
        }
        #expect(await eventually { runs.withLock { $0 } == 6 })
        #expect(supervisor.states[0].status != .failed)
        #expect(supervisor.states[0].consecutiveFailures == 1)
    }

    @Test func heartbeatAgeFollowsTheClock() async throws {
        let clock = TestClock()
        let supervisor = Supervisor(children: [], clock: clock, heartbeatInterval: .seconds(1), logger: logger)
        #expect(supervisor.heartbeatAge() == nil)
        let task = Task { try await supervisor.run() }
        defer { task.cancel() }
        #expect(await eventually { supervisor.heartbeatAge() != nil })
        await settle(clock)
        clock.advance(by: .milliseconds(500))
        #expect(supervisor.heartbeatAge() == .milliseconds(500))
        clock.advance(by: .milliseconds(500))
        #expect(await eventually { supervisor.heartbeatAge() == .zero })
    }
}
