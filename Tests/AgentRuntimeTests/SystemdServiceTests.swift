//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Logging
import ServiceLifecycleTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The parts of the agent the systemd service reads, under the test's control.
final class FakeAgent: Sendable {
    let clock: TestClock
    let listening = Box(false)
    let collected = Box(false)
    /// The supervisor's last beat; tests move it forward to keep the heartbeat fresh.
    let lastBeat: Box<TestClock.Instant?>
    /// When true, every read of the published count sees one more batch (collectors publishing).
    let busMoving = Box(true)
    let published = Box<UInt64>(0)
    let children: Box<[ChildState]>

    init(clock: TestClock, collectors: [String] = ["cpu", "memory", "disk", "load", "uptime", "network", "temperature", "host"]) {
        self.clock = clock
        self.lastBeat = Box(clock.now)
        self.children = Box(collectors.map { ChildState(name: $0, kind: "collector", core: true, status: .running) })
    }

    func probes(heartbeatInterval: Duration = .seconds(1), shortestCollectorInterval: Duration? = .seconds(1)) -> AgentHealthProbes {
        AgentHealthProbes(
            serverListening: { self.listening.get },
            firstCollectionDone: { self.collected.get },
            heartbeatAge: { self.lastBeat.get.map { $0.duration(to: self.clock.now) } },
            heartbeatInterval: heartbeatInterval,
            publishedCount: {
                if self.busMoving.get { self.published.update { $0 += 1 } }
                return self.published.get
            },
            children: { self.children.get },
            shortestCollectorInterval: shortestCollectorInterval
        )
    }

    func setStatus(_ name: String, _ status: ChildStatus) {
        children.update { states in
            for index in states.indices where states[index].name == name { states[index].status = status }
        }
    }
}

/// Drives a ``SystemdService`` on a manual clock and records what reached the notification socket, stamped
/// with the clock's time in milliseconds.
struct NotifyHarness {
    let clock = TestClock()
    let socket: NotifySocket
    let agent: FakeAgent

    init() throws {
        socket = try NotifySocket()
        agent = FakeAgent(clock: clock)
    }

    var milliseconds: Int64 { clock.now.offset.components.seconds * 1000 + clock.now.offset.components.attoseconds / 1_000_000_000_000_000 }

    /// Waits until the service sleeps on the clock again (it has sent everything due), then returns what arrived.
    func collect() async -> [String] {
        await eventually { clock.sleeperCount == 1 }
        return socket.drain()
    }

    /// Advances in `step`s up to `total`; `beating` moves the supervisor heartbeat along with the clock.
    func advance(by total: Duration, step: Duration = .milliseconds(100), beating: Bool = true) async -> [(ms: Int64, message: String)] {
        var received: [(ms: Int64, message: String)] = []
        var elapsed = Duration.zero
        while elapsed < total {
            if beating { agent.lastBeat.set(clock.now) }
            clock.advance(by: step)
            elapsed += step
            for message in await collect() { received.append((milliseconds, message)) }
        }
        return received
    }

    func environment(watchdogUSec: String? = "2000000", watchdogPID: String? = "\(getpid())") -> [String: String?] {
        ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": watchdogUSec, "WATCHDOG_PID": watchdogPID]
    }

    func makeService() -> SystemdService<TestClock> {
        SystemdService(probes: agent.probes(), clock: clock, logger: Logger(label: "test", factory: { _ in SwallowingLogHandler() }))
    }
}

struct SwallowingLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {}
}

/// Runs `service` until `body` returns, then shuts it down gracefully and waits for it.
func withRunningService(_ service: SystemdService<TestClock>, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await testGracefulShutdown { trigger in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            try await body()
            trigger.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

private let starting = "STATUS=starting: waiting for the HTTP server and the first collection"

/// These tests point libsystemd at a socket of their own through the process environment, so they run one at a time.
@Suite(.serialized)
struct SystemdServiceTests {
    @Test func readyOnlyAfterBothGatesThenStatusWatchdogAndStopping() async throws {
        let h = try NotifyHarness()
        let service = h.makeService()
        try await withEnvironment(h.environment()) {
            try await withRunningService(service) {
                // t=0: status while starting, then the first ping (the agent is healthy while it starts).
                #expect(await h.collect() == [starting, "WATCHDOG=1"])
                #expect(await h.advance(by: .milliseconds(200)).isEmpty)
                h.agent.listening.set(true)  // the HTTP server listens; no collection yet
                #expect(await h.advance(by: .milliseconds(100)).map(\.message) == ["STATUS=starting: waiting for the first collection"])
                #expect(!service.isReady)
                h.agent.collected.set(true)
                let ready = await h.advance(by: .milliseconds(100))
                #expect(ready.map(\.ms) == [400])
                #expect(ready.map(\.message) == ["READY=1\nSTATUS=8 collectors ok"])
                #expect(service.isReady)
                // Pings every WATCHDOG_USEC / 2 = 1 s.
                #expect(await h.advance(by: .milliseconds(600)).map { "\($0.ms) \($0.message)" } == ["1000 WATCHDOG=1"])
                // A collector fails for good: STATUS follows at the next status check (1 s after READY).
                h.agent.setStatus("temperature", .failed)
                let changed = await h.advance(by: .milliseconds(1100)).map { "\($0.ms) \($0.message)" }
                #expect(changed == ["1400 STATUS=7 collectors ok, 1 failed: temperature", "2000 WATCHDOG=1"])
                // Unchanged summaries are not repeated.
                #expect(await h.advance(by: .milliseconds(900)).map(\.message) == ["WATCHDOG=1"])
            }
        }
        #expect(h.socket.drain() == ["STOPPING=1\nSTATUS=stopping"])
    }

    @Test func pingsAtHalfOfWatchdogUSec() async throws {
        let h = try NotifyHarness()
        h.agent.listening.set(true)
        h.agent.collected.set(true)
        let service = h.makeService()
        try await withEnvironment(h.environment(watchdogUSec: "3000000")) {
            try await withRunningService(service) {
                #expect(await h.collect() == ["READY=1\nSTATUS=8 collectors ok", "WATCHDOG=1"])
                let pings = await h.advance(by: .seconds(6)).filter { $0.message == "WATCHDOG=1" }.map(\.ms)
                #expect(pings == [1500, 3000, 4500, 6000])
            }
        }
        #expect(h.socket.drain() == ["STOPPING=1\nSTATUS=stopping"])
    }

    @Test func pingsStopWhileTheHeartbeatIsStalledAndResumeAfter() async throws {
        let h = try NotifyHarness()
        h.agent.listening.set(true)
        h.agent.collected.set(true)
        let service = h.makeService()
        try await withEnvironment(h.environment()) {
            try await withRunningService(service) {
                _ = await h.collect()
                #expect(await h.advance(by: .seconds(3)).map(\.ms) == [1000, 2000, 3000])
                // The supervisor beats last at t=2.9 s: the limit is max(ping 1 s, 2 × heartbeat 1 s) = 2 s, so the
                // ping at 4 s (age 1.1 s) still goes out, and none after (5 s: age 2.1 s).
                let stalled = await h.advance(by: .seconds(5), beating: false)
                #expect(stalled.map(\.ms) == [4000])
                // It beats again: pings resume at the next tick.
                #expect(await h.advance(by: .seconds(2)).map { "\($0.ms) \($0.message)" } == ["9000 WATCHDOG=1", "10000 WATCHDOG=1"])
            }
        }
    }

    @Test func pingsStopWhenTheBusStallsWhileCollectorsRun() async throws {
        let h = try NotifyHarness()
        h.agent.listening.set(true)
        h.agent.collected.set(true)
        let service = h.makeService()
        try await withEnvironment(h.environment()) {
            try await withRunningService(service) {
                _ = await h.collect()
                #expect(await h.advance(by: .seconds(2)).map(\.ms) == [1000, 2000])
                // Nothing published from t=2 s on, collectors still `running`: the limit is 3 × the shortest interval (1 s).
                h.agent.busMoving.set(false)
                let stalled = await h.advance(by: .seconds(6)).map(\.ms)
                #expect(stalled == [3000, 4000, 5000])
                h.agent.busMoving.set(true)
                #expect(await h.advance(by: .seconds(1)).map(\.message) == ["WATCHDOG=1"])
            }
        }
    }

    @Test func aHungCollectorDoesNotStopThePings() async throws {
        let h = try NotifyHarness()
        h.agent.listening.set(true)
        h.agent.collected.set(true)
        let service = h.makeService()
        try await withEnvironment(h.environment()) {
            try await withRunningService(service) {
                _ = await h.collect()
                // `disk` hangs (still `running`, publishes nothing); the others keep publishing; then the supervisor
                // restarts it and finally gives up: the pings never stop.
                let pings = await h.advance(by: .seconds(4)).map(\.ms)
                h.agent.setStatus("disk", .restarting)
                let more = await h.advance(by: .seconds(3)).filter { $0.message == "WATCHDOG=1" }.map(\.ms)
                h.agent.setStatus("disk", .failed)
                let last = await h.advance(by: .seconds(3))
                #expect(pings == [1000, 2000, 3000, 4000])
                #expect(more == [5000, 6000, 7000])
                #expect(last.map(\.message) == ["STATUS=7 collectors ok, 1 failed: disk", "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"])
            }
        }
    }

    @Test func reloadSendsReloadingThenReady() async throws {
        let h = try NotifyHarness()
        h.agent.listening.set(true)
        h.agent.collected.set(true)
        let service = h.makeService()
        try await withEnvironment(h.environment(watchdogUSec: nil, watchdogPID: nil)) {
            try await withRunningService(service) {
                #expect(await h.collect() == ["READY=1\nSTATUS=8 collectors ok"])
                service.reloadStarted()
                let reloading = h.socket.drain()
                #expect(reloading.count == 1)
                let lines = reloading.first?.split(separator: "\n").map(String.init) ?? []
                #expect(lines.count == 3)
                #expect(lines.first == "RELOADING=1")
                #expect(lines.dropFirst().first?.hasPrefix("MONOTONIC_USEC=") == true)
                #expect(UInt64(lines.dropFirst().first?.dropFirst("MONOTONIC_USEC=".count) ?? "x") != nil)
                #expect(lines.last == "STATUS=reloading configuration")
                // While reloading, status updates are held.
                h.agent.setStatus("cpu", .failed)
                #expect(await h.advance(by: .seconds(2)).isEmpty)
                service.reloadFinished()
                #expect(h.socket.drain() == ["READY=1\nSTATUS=7 collectors ok, 1 failed: cpu"])
                // No watchdog: WATCHDOG_USEC is unset.
                #expect(await h.advance(by: .seconds(2)).isEmpty)
            }
        }
    }

    @Test func nothingIsSentWithoutNotifySocket() async throws {
        let h = try NotifyHarness()
        h.agent.listening.set(true)
        h.agent.collected.set(true)
        let service = h.makeService()
        var environment = h.environment()
        environment["NOTIFY_SOCKET"] = .some(nil)
        try await withEnvironment(environment) {
            #expect(!SystemdNotifier().isEnabled)
            #expect(!SystemdNotifier().notify("READY=1"))
            try await withRunningService(service) {
                try await Task.sleep(for: .milliseconds(20))
                h.clock.advance(by: .seconds(5))
                try await Task.sleep(for: .milliseconds(20))
                #expect(h.socket.drain().isEmpty)
                #expect(h.clock.sleeperCount == 0)
            }
        }
        #expect(h.socket.drain().isEmpty)
    }

    @Test func noPingsWhenTheWatchdogIsForAnotherProcess() async throws {
        let h = try NotifyHarness()
        h.agent.listening.set(true)
        h.agent.collected.set(true)
        let service = h.makeService()
        try await withEnvironment(h.environment(watchdogPID: "1")) {
            #expect(SystemdNotifier().watchdogTimeout() == nil)
            try await withRunningService(service) {
                #expect(await h.collect() == ["READY=1\nSTATUS=8 collectors ok"])
                #expect(await h.advance(by: .seconds(3)).isEmpty)
            }
        }
        #expect(h.socket.drain() == ["STOPPING=1\nSTATUS=stopping"])
    }

    @Test func notifierSendsOneDatagramWithNewlinesInValuesFlattened() async throws {
        let socket = try NotifySocket()
        await withEnvironment(["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"]) {
            let notifier = SystemdNotifier()
            #expect(notifier.isEnabled)
            #expect(notifier.watchdogTimeout() == .seconds(30))
            #expect(notifier.notify("READY=1", "STATUS=two\nlines"))
            #expect(socket.drain() == ["READY=1\nSTATUS=two lines"])
        }
    }
}

@Suite struct StatusSummaryTests {
    func states(_ specs: [(String, String, ChildStatus)]) -> [ChildState] {
        specs.map { ChildState(name: $0.0, kind: $0.1, core: false, status: $0.2) }
    }

    @Test func summaries() {
        #expect(SystemdService<TestClock>.statusSummary(states([("cpu", "collector", .running)])) == "1 collector ok")
        #expect(SystemdService<TestClock>.statusSummary([]) == "0 collectors ok")
        let mixed = states([
            ("cpu", "collector", .running), ("disk", "collector", .restarting), ("temperature", "collector", .failed),
            ("load", "collector", .disabled), ("memory", "collector", .starting), ("nginx", "plugin", .running), ("redis", "plugin", .failed),
        ])
        #expect(SystemdService<TestClock>.statusSummary(mixed) == "2 collectors ok, 1 plugin ok, 1 restarting: disk, 2 failed: temperature, redis")
        let many = states((1...7).map { ("c\($0)", "collector", ChildStatus.failed) })
        #expect(SystemdService<TestClock>.statusSummary(many) == "0 collectors ok, 7 failed: c1, c2, c3, c4, c5 and 2 more")
    }
}

@Suite struct WatchdogMonitorTests {
    typealias Instant = TestClock.Instant
    func at(_ seconds: Double) -> Instant { Instant(offset: .milliseconds(Int64(seconds * 1000))) }

    @Test func limits() {
        let monitor = WatchdogMonitor(start: at(0), pingInterval: .seconds(15), heartbeatInterval: .seconds(1), shortestCollectorInterval: .seconds(30))
        #expect(monitor.heartbeatLimit == .seconds(15))
        #expect(monitor.busStallLimit == .seconds(90))
        let fast = WatchdogMonitor(start: at(0), pingInterval: .seconds(1), heartbeatInterval: .seconds(1), shortestCollectorInterval: .milliseconds(100))
        #expect(fast.heartbeatLimit == .seconds(2))
        #expect(fast.busStallLimit == .seconds(1))
    }

    @Test func missingHeartbeatIsFreshOnlyDuringTheStartGrace() {
        var monitor = WatchdogMonitor(start: at(0), pingInterval: .seconds(1), heartbeatInterval: .seconds(1), shortestCollectorInterval: .seconds(1))
        #expect(monitor.check(now: at(0), heartbeatAge: nil, publishedCount: 0, childRunning: true) == .healthy)
        #expect(monitor.check(now: at(2), heartbeatAge: nil, publishedCount: 1, childRunning: true) == .healthy)
        #expect(monitor.check(now: at(3), heartbeatAge: nil, publishedCount: 2, childRunning: true) == .heartbeatStale(age: nil, limit: .seconds(2)))
        #expect(monitor.check(now: at(4), heartbeatAge: .seconds(3), publishedCount: 3, childRunning: true).isHealthy == false)
        #expect(monitor.check(now: at(5), heartbeatAge: .milliseconds(10), publishedCount: 4, childRunning: true) == .healthy)
    }

    @Test func busStallCountsOnlyWhileAChildRuns() {
        var monitor = WatchdogMonitor(start: at(0), pingInterval: .seconds(1), heartbeatInterval: .seconds(1), shortestCollectorInterval: .seconds(1))
        let fresh = Duration.milliseconds(100)
        #expect(monitor.check(now: at(1), heartbeatAge: fresh, publishedCount: 5, childRunning: true) == .healthy)
        #expect(monitor.check(now: at(4), heartbeatAge: fresh, publishedCount: 5, childRunning: true) == .healthy)
        #expect(monitor.check(now: at(5), heartbeatAge: fresh, publishedCount: 5, childRunning: true) == .busStalled(for: .seconds(4), limit: .seconds(3)))
        // Every child restarting or failed: the bus is not expected to move, and the stall clock restarts.
        #expect(monitor.check(now: at(9), heartbeatAge: fresh, publishedCount: 5, childRunning: false) == .healthy)
        #expect(monitor.check(now: at(12), heartbeatAge: fresh, publishedCount: 5, childRunning: true) == .healthy)
        #expect(monitor.check(now: at(13), heartbeatAge: fresh, publishedCount: 5, childRunning: true).isHealthy == false)
        #expect(monitor.check(now: at(14), heartbeatAge: fresh, publishedCount: 6, childRunning: true) == .healthy)
    }
}
