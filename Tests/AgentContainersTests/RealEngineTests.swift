//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import AgentRuntime
import Foundation
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sessions on a real Docker engine (``TestDocker``). The tests run one at a time: one of them stops and restarts
/// the engine. Each uses its own agent id (so it sees only its own containers) and its own slice of ports.
@Suite(.serialized, .enabled(if: TestDocker.shouldRun, "needs root, dockerd and busybox"), .realEngine)
struct RealEngineTests {
    // MARK: - Set-up

    /// A manager on the test engine with its own store, agent id and 40 ports from `firstPort`.
    struct Fixture {
        var manager: SessionManager
        var store: SessionStore
        var engine: DockerEngine
        var settings: ContainerSettings
        var storePath: String
        var docker: TestDocker
        /// What the manager logged.
        var log: MessageLog

        /// The containers carrying this fixture's agent label, as the engine lists them.
        func labelled() async throws -> [ContainerSummary] {
            try await engine.listContainers(labels: [manager.agentLabel], all: true)
        }

        /// Removes what the test left behind and closes the clients.
        func finish() async {
            if let containers = try? await labelled() {
                for container in containers { try? await engine.removeContainer(container.id, force: true) }
            }
            try? await engine.shutdown()
            try? store.close()
            // The store's directory, with its WAL and shared-memory files.
            try? FileManager.default.removeItem(atPath: String(storePath[..<(storePath.lastIndex(of: "/") ?? storePath.endIndex)]))
        }
    }

    static func webTemplate() -> SessionTemplate {
        var web = SessionTemplate(image: TestDocker.image, port: 8080)
        web.memory = 64 << 20
        web.memoryMax = 128 << 20
        web.cpuShares = 256
        web.cpuSharesMax = 1024
        web.cpus = 0.5
        web.pidsLimit = 64
        web.readOnly = true
        web.tmpfs = ["/tmp"]
        return web
    }

    static func settings(name: String, firstPort: Int) -> ContainerSettings {
        var settings = ContainerSettings()
        settings.enabled = .on
        settings.portRange = firstPort...(firstPort + 39)
        settings.agentID = "test-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        settings.maxSessions = 30
        settings.maxSessionsPerUser = 30
        settings.stopGracePeriod = .seconds(2)
        settings.reapInterval = .milliseconds(200)
        settings.keepExited = .seconds(3600)
        var hog = SessionTemplate(image: TestDocker.image, port: 8080)
        hog.command = ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]
        hog.memory = 32 << 20
        hog.memoryMax = 32 << 20
        settings.templates = ["web": webTemplate(), "hog": hog]
        return settings
    }

    /// - Parameter connect: connect the manager (else ``following(_:)`` does, through ``SessionManager/run()``).
    static func fixture(
        _ docker: TestDocker, name: String, firstPort: Int, storePath: String? = nil, connect: Bool = true,
        configure: (inout ContainerSettings) -> Void = { _ in }, portIsFree: (@Sendable (String, Int) -> Bool)? = nil,
        audit: (@Sendable (AuditRecord) throws -> AuditRecord?)? = nil
    ) async throws -> Fixture {
        var settings = settings(name: name, firstPort: firstPort)
        configure(&settings)
        settings.socket = docker.socket
        return try await fixture(docker, settings: settings, storePath: storePath, connect: connect, portIsFree: portIsFree, audit: audit)
    }

    static func fixture(
        _ docker: TestDocker, settings: ContainerSettings, storePath: String?, connect: Bool = true, portIsFree: (@Sendable (String, Int) -> Bool)? = nil,
        audit: (@Sendable (AuditRecord) throws -> AuditRecord?)? = nil
    ) async throws -> Fixture {
        let path = storePath ?? "/tmp/vwsessions-\(settings.agentID)/sessions.sqlite"
        let store = try SessionStore(path: path)
        let engine = DockerEngine(socketPath: docker.socket, timeout: .seconds(20))
        let log = MessageLog()
        let logger = Logger(label: "test.containers") { _ in CapturingLogHandler(log: log) }
        let probe: @Sendable (String, Int) -> Bool = portIsFree ?? { PortProbe.isFree(address: $0, port: $1) }
        let manager = try await SessionManager(settings: settings, engine: engine, store: store, logger: logger, portIsFree: probe, audit: audit)
        if connect { try await manager.connect() }
        return Fixture(manager: manager, store: store, engine: engine, settings: settings, storePath: path, docker: docker, log: log)
    }

    /// The settings of a test that shows an update comes through the engine's event stream: the reaper runs once an
    /// hour, so that the only ways a container's change reaches its record are the event stream and a reconciliation
    /// (which runs when the manager connects: ``following(_:)`` waits for that, and ``connections(_:)`` counts them).
    static func eventsOnly(_ settings: inout ContainerSettings) {
        settings.reapInterval = .seconds(3600)
    }

    /// Starts ``SessionManager/run()`` on a fixture made with `connect: false` and waits (at most 15 s) until it has
    /// connected: reconciled, with the event stream asked for from a second before the connection. Whatever the
    /// engine does after this returns reaches the manager through the event stream, or through a later
    /// reconnection that ``connections(_:)`` would count.
    static func following(_ fixture: Fixture) async throws -> Task<Void, Never> {
        let manager = fixture.manager
        let running = Task { await manager.run() }
        let connected = await eventually(within: .seconds(15)) { await manager.engineStatus.status == .available }
        let status = await manager.engineStatus
        if connected == nil { running.cancel() }
        try #require(connected != nil, "engine status: \(status)")
        return running
    }

    /// How many times the manager became connected to the engine (each one reconciled the records).
    static func connections(_ fixture: Fixture) -> Int {
        fixture.log.messages.filter { $0 == "containers: engine available" }.count
    }

    /// Polls `condition` every 20 ms until it holds or `limit` passes; returns the time it took, nil on timeout.
    static func eventually(within limit: Duration, _ condition: () async -> Bool) async -> Duration? {
        let clock = ContinuousClock()
        let started = clock.now
        while clock.now - started < limit {
            if await condition() { return clock.now - started }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    // MARK: - Lifecycle

    @Test func createStopStartDeleteWithLimitsInTheCgroup() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "lifecycle", firstPort: 23000)
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager

        let session = try await manager.create(SessionRequest(username: "alice", template: "web", memory: 96 << 20, cpuShares: 512))
        #expect(session.status == .running)
        let port = try #require(session.port)
        #expect(fixture.settings.portRange.contains(port))
        let containerID = try #require(session.containerID)
        #expect(try await HTTP.get(port: port) == "hello\n")

        let inspect = try await fixture.engine.inspectContainer(containerID)
        #expect(inspect.state.running)
        #expect(inspect.labels[SessionLabels.sessionID] == session.sessionID)
        #expect(inspect.labels[SessionLabels.username] == "alice")
        #expect(inspect.labels[SessionLabels.template] == "web")
        #expect(inspect.labels[SessionLabels.agent] == fixture.settings.agentID)
        #expect(inspect.hostConfig?.nanoCPUs == 500_000_000)
        // The limits as the kernel holds them.
        let cgroup = try #require(Cgroup(pid: inspect.state.pid))
        #expect(cgroup.memoryLimit == 96 << 20)
        #expect(cgroup.cpuShares == 512)
        #expect(cgroup.pidsMax == 64)
        let status = try String(contentsOfFile: "/proc/\(inspect.state.pid)/status", encoding: .utf8)
        #expect(status.contains("NoNewPrivs:\t1"))
        #expect(status.contains("CapEff:\t0000000000000000"))

        let stopped = try await manager.stop(session.sessionID)
        #expect(stopped.status == .stopped)
        #expect(stopped.stoppedAt != nil)
        #expect(try await fixture.engine.inspectContainer(containerID).state.running == false)
        #expect(await manager.session(session.sessionID)?.port == port)

        let restarted = try await manager.start(session.sessionID)
        #expect(restarted.status == .running)
        #expect(restarted.stoppedAt == nil)
        let answered = await Self.eventually(within: .seconds(15)) { (try? await HTTP.get(port: port)) == "hello\n" }
        #expect(answered != nil)

        let removed = try await manager.delete(session.sessionID)
        #expect(removed.status == .removed)
        #expect(removed.port == nil)
        let gone = await #expect(throws: ContainerEngineError.self) { _ = try await fixture.engine.inspectContainer(containerID) }
        #expect(gone?.hasStatus(404) == true)
        #expect(PortProbe.isFree(address: "127.0.0.1", port: port))
        #expect(try await fixture.labelled().isEmpty)
        // The record stays, removed.
        #expect(try await fixture.store.session(session.sessionID)?.status == .removed)
        let again = await #expect(throws: SessionError.self) { try await manager.stop(session.sessionID) }
        #expect(again?.httpStatus == 409)
    }

    @Test func overTheMemoryLimitIsOOMKilledThroughTheEventStream() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "oom", firstPort: 23040, connect: false, configure: Self.eventsOnly)
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager
        let running = try await Self.following(fixture)
        defer { running.cancel() }

        let session = try await manager.create(SessionRequest(username: "bob", template: "hog"))
        let containerID = try #require(session.containerID)
        let ended = await Self.eventually(within: .seconds(15)) { [.oomKilled, .exited].contains(await manager.session(session.sessionID)?.status) }
        #expect(ended != nil)
        // containerd's shim may report the exit before the OOM event on cgroup v2 (containerd/containerd#12714 makes it
        // send the OOM event first); the engine then records a plain exit 137, and there is nothing of the agent's to
        // judge. Seen once, in a full parallel run on Debian 12's containerd.
        let engine = try await fixture.engine.inspectContainer(containerID).state
        guard engine.oomKilled else {
            withKnownIssue("the engine recorded exit \(engine.exitCode ?? -1) without OOMKilled (exit before the OOM event)", isIntermittent: true) {
                Issue.record("the engine did not record the OOM kill")
            }
            return
        }
        // Only the event stream can bring the OOM kill: no reaper pass, no reconnection (counted below).
        let took = await Self.eventually(within: .seconds(15)) { await manager.session(session.sessionID)?.status == .oomKilled }
        let record = await manager.session(session.sessionID)
        #expect(took != nil, "status \(record?.status.rawValue ?? "?")")
        #expect(Self.connections(fixture) == 1)
        #expect(record?.reason == "killed for exceeding its memory limit")
        #expect(record?.exitCode == 137)
        #expect(record?.stoppedAt != nil)
        // Kept for inspection (keep_exited = 1 h), holding its port.
        #expect(record?.port == session.port)
    }

    @Test func ttlAndKeepExitedReaper() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "ttl", firstPort: 23080) { $0.keepExited = .milliseconds(500) }
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager
        let running = Task { await manager.run() }
        defer { running.cancel() }

        let short = try await manager.create(SessionRequest(username: "carol", template: "web", ttl: .seconds(1)))
        let long = try await manager.create(SessionRequest(username: "carol", template: "web", ttl: .seconds(600)))
        let hog = try await manager.create(SessionRequest(username: "carol", template: "hog"))
        let reaped = await Self.eventually(within: .seconds(15)) { await manager.session(short.sessionID)?.status == .removed }
        #expect(reaped != nil)
        #expect(await manager.session(short.sessionID)?.reason == "ttl expired")
        let exitedReaped = await Self.eventually(within: .seconds(15)) { await manager.session(hog.sessionID)?.status == .removed }
        #expect(exitedReaped != nil)
        let hogRecord = await manager.session(hog.sessionID)
        #expect(hogRecord?.reason?.hasPrefix("oom_killed (exit code 137)") == true, "\(String(describing: hogRecord))")
        #expect(await manager.session(long.sessionID)?.status == .running)
        #expect(try await fixture.labelled().map(\.id) == [long.containerID].compactMap { $0 })
    }

    @Test func statusReportsOfManagedContainers() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "report", firstPort: 23520)
        defer { Task { await fixture.finish() } }
        let session = try await fixture.manager.create(SessionRequest(username: "rita", template: "web"))
        let reporter = ContainerReporter(engine: fixture.engine)
        let first = try await reporter.reports(labels: [fixture.manager.agentLabel])
        #expect(first.count == 1)
        let report = try #require(first.first)
        #expect(report.id == session.containerID)
        #expect(report.sessionID == session.sessionID)
        #expect(report.username == "rita")
        #expect(report.port == session.port)
        #expect(report.state == "running")
        #expect(report.cpuPercent == nil)  // the first sample has no previous one
        #expect(report.memoryLimitBytes == 64 << 20)
        #expect(report.cpuShares == 256)
        #expect(report.oomKilled == false)
        #expect(report.exitCode == nil)
        #expect((report.memoryBytes ?? 0) > 0)
        #expect((report.memoryBytes ?? .max) < 64 << 20)
        try await Task.sleep(for: .milliseconds(300))
        let second = try await reporter.reports(labels: [fixture.manager.agentLabel])
        let percent = try #require(second.first?.cpuPercent)
        #expect(percent >= 0 && percent <= 50.5)  // capped at 0.5 CPU
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        #expect(Set(object.keys) == Set(ContainerReport.jsonFields))
        #expect(ContainerReport.jsonFields == [
            "id", "name", "image", "state", "status", "created_at", "ports", "session_id", "username", "port", "cpu_percent", "memory_bytes",
            "memory_limit_bytes", "cpu_shares", "oom_killed", "exit_code",
        ])
        #expect(object["cpu_percent"] is NSNull)
    }

    @Test func idleSessionsAreReapedAndTrafficKeepsThemAlive() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "idle", firstPort: 23600) { $0.templates["web"]?.idleTimeout = .seconds(1) }
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager
        let running = Task { await manager.run() }
        defer { running.cancel() }
        let quiet = try await manager.create(SessionRequest(username: "quinn", template: "web"))
        let busy = try await manager.create(SessionRequest(username: "quinn", template: "web"))
        let busyPort = try #require(busy.port)
        // Traffic to one of them every 150 ms, for at least 3.5 s (over three idle limits) and until the quiet one
        // is reaped (at most 15 s).
        let clock = ContinuousClock()
        let started = clock.now
        while clock.now - started < .seconds(15) {
            if clock.now - started >= .milliseconds(3500), await manager.session(quiet.sessionID)?.status == .removed { break }
            _ = try? await HTTP.get(port: busyPort)
            try await Task.sleep(for: .milliseconds(150))
        }
        let quietRecord = await manager.session(quiet.sessionID)
        let quietStats = try? await fixture.engine.stats(try #require(quiet.containerID))
        #expect(quietRecord?.status == .removed, "\(String(describing: quietRecord)) \(String(describing: quietStats?.networks))")
        #expect(quietRecord?.reason == "idle for 1s")
        #expect(await manager.session(busy.sessionID)?.status == .running)
        #expect(try await fixture.labelled().map(\.id) == [busy.containerID].compactMap { $0 })
    }

    @Test func removedRecordsAreForgottenAfterKeepRecords() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "forget", firstPort: 23640) { $0.keepRecords = .zero }
        defer { Task { await fixture.finish() } }
        let kept = try await fixture.manager.create(SessionRequest(username: "sam", template: "web"))
        let gone = try await fixture.manager.create(SessionRequest(username: "sam", template: "web"))
        _ = try await fixture.manager.delete(gone.sessionID)
        await fixture.manager.reap()
        #expect(await fixture.manager.session(gone.sessionID) == nil)
        #expect(try await fixture.store.session(gone.sessionID) == nil)
        #expect(await fixture.manager.session(kept.sessionID)?.status == .running)
        #expect(try await fixture.store.all().map(\.sessionID) == [kept.sessionID])
    }

    // MARK: - Ports and limits

    @Test func twentyConcurrentCreatesGetDistinctPortsAndLeaveNothing() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "concurrent", firstPort: 23120)
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager
        let sessions = try await withThrowingTaskGroup(of: Session.self) { group in
            for index in 0..<20 {
                group.addTask { try await manager.create(SessionRequest(username: "user\(index % 4)", template: "web")) }
            }
            return try await group.reduce(into: [Session]()) { $0.append($1) }
        }
        #expect(sessions.count == 20)
        #expect(Set(sessions.compactMap(\.port)).count == 20)
        #expect(sessions.allSatisfy { $0.status == .running })
        #expect(try await fixture.labelled().count == 20)
        // Status reports of the 20 containers, each with its own session and port (how long they take is measured
        // by `viworks-bench containers`).
        let reporter = ContainerReporter(engine: fixture.engine)
        let reports = try await reporter.reports(labels: [manager.agentLabel])
        #expect(reports.count == 20)
        #expect(reports.allSatisfy { $0.memoryLimitBytes == 64 << 20 && $0.cpuShares == 256 && $0.state == "running" })
        #expect(Set(reports.compactMap(\.sessionID)) == Set(sessions.map(\.sessionID)))
        #expect(Set(reports.map(\.id)) == Set(sessions.compactMap(\.containerID)))
        #expect(reports.allSatisfy { report in report.port == sessions.first { $0.sessionID == report.sessionID }?.port })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for session in sessions { group.addTask { _ = try await manager.delete(session.sessionID) } }
            try await group.waitForAll()
        }
        #expect(try await fixture.labelled().isEmpty)
        #expect(await manager.list().allSatisfy { $0.status == .removed && $0.port == nil })
    }

    @Test func aPortHeldByAnotherListenerIsSkipped() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "held", firstPort: 23160)
        defer { Task { await fixture.finish() } }
        let listener = try TCPListener(port: 23160)
        defer { listener.close() }
        let session = try await fixture.manager.create(SessionRequest(username: "dave", template: "web"))
        #expect(session.port == 23161)
    }

    @Test func aPortTheEngineReportsTakenIsRetriedOnTheNext() async throws {
        guard let docker = TestDocker.current else { return }
        // The probe says every port is free, so the engine is the one that finds 23200 taken.
        let fixture = try await Self.fixture(docker, name: "taken", firstPort: 23200, portIsFree: { _, _ in true })
        defer { Task { await fixture.finish() } }
        let listener = try TCPListener(port: 23200)
        defer { listener.close() }
        let session = try await fixture.manager.create(SessionRequest(username: "erin", template: "web"))
        #expect(session.port == 23201)
        #expect(try await HTTP.get(port: 23201) == "hello\n")
        #expect(try await fixture.labelled().count == 1)
    }

    @Test func invalidRequestsAndThePerUserLimit() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "limits", firstPort: 23240) {
            $0.maxSessionsPerUser = 2
            $0.maxSessions = 3
        }
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager
        for (request, field) in [
            (SessionRequest(username: "frank", template: "nope"), "template"), (SessionRequest(username: "-frank", template: "web"), "username"),
            (SessionRequest(username: "frank", template: "web", ttl: .seconds(0)), "ttl"),
        ] {
            let error = await #expect(throws: SessionError.self) { try await manager.create(request) }
            #expect(error?.field == field)
            #expect(error?.httpStatus == 400)
        }
        _ = try await manager.create(SessionRequest(username: "frank", template: "web"))
        _ = try await manager.create(SessionRequest(username: "frank", template: "web"))
        let third = await #expect(throws: SessionError.self) { try await manager.create(SessionRequest(username: "frank", template: "web")) }
        #expect(third?.httpStatus == 429)
        #expect(third?.code == "user_session_limit")
        _ = try await manager.create(SessionRequest(username: "grace", template: "web"))
        let global = await #expect(throws: SessionError.self) { try await manager.create(SessionRequest(username: "heidi", template: "web")) }
        #expect(global?.code == "session_limit")
        #expect(try await fixture.labelled().count == 3)
    }

    @Test func aMissingImageIsNamed() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "image", firstPort: 23280) {
            $0.templates["ghost"] = SessionTemplate(image: "agent-test/not-here:1", port: 80)
        }
        defer { Task { await fixture.finish() } }
        let error = await #expect(throws: SessionError.self) { try await fixture.manager.create(SessionRequest(username: "ivan", template: "ghost")) }
        #expect(error?.httpStatus == 409)
        #expect(error?.description.contains("agent-test/not-here:1") == true)
        // Refused before holding anything.
        #expect(await fixture.manager.list().allSatisfy { $0.status == .removed })
    }

    // MARK: - Restarts and the engine going away

    @Test func aRestartedManagerReconcilesFiveRunningSessions() async throws {
        guard let docker = TestDocker.current else { return }
        let first = try await Self.fixture(docker, name: "restart", firstPort: 23320)
        defer { Task { await first.finish() } }
        var created: [Session] = []
        for index in 0..<6 { created.append(try await first.manager.create(SessionRequest(username: "u\(index)", template: "web"))) }
        // One container removed behind the manager's back while "it is down".
        let vanished = created[5]
        try await first.engine.removeContainer(try #require(vanished.containerID), force: true)
        // A labelled container with no record (an agent killed between create and its record).
        var orphanLabels = [SessionLabels.agent: first.settings.agentID, SessionLabels.sessionID: "feedfacefeedfacefeedfacefeedface"]
        orphanLabels[SessionLabels.username] = "mallory"
        orphanLabels[SessionLabels.template] = "web"
        let orphanID = try await Self.createBare(first.engine, labels: orphanLabels, hostPort: 23359)

        // A new manager on the same store and agent id: as after `kill -9` of the agent.
        let second = try await Self.fixture(docker, settings: first.settings, storePath: first.storePath)
        defer { Task { try? await second.engine.shutdown() } }
        let sessions = await second.manager.list()
        for session in created.prefix(5) {
            let record = sessions.first { $0.sessionID == session.sessionID }
            #expect(record?.status == .running)
            #expect(record?.containerID == session.containerID)
            #expect(record?.port == session.port)
        }
        let closed = sessions.first { $0.sessionID == vanished.sessionID }
        #expect(closed?.status == .removed)
        #expect(closed?.reason == "the container vanished while the agent was not watching")
        let adopted = sessions.first { $0.containerID == orphanID }
        #expect(adopted?.status == .running)
        #expect(adopted?.username == "mallory")
        #expect(adopted?.port == 23359)
        #expect(adopted?.reason?.hasPrefix("adopted") == true)
        // No duplicates: one record per container, and the engine holds exactly the 5 + 1.
        let holding = sessions.filter { $0.status.holdsContainer }
        #expect(holding.count == 6)
        #expect(Set(holding.compactMap(\.containerID)).count == 6)
        #expect(try await first.labelled().count == 6)
        // The adopted container's port is not handed out again.
        let next = try await second.manager.create(SessionRequest(username: "u9", template: "web"))
        #expect(!holding.compactMap(\.port).contains(next.port ?? -1))
    }

    @Test func orphansAreRemovedWhenConfiguredSo() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "orphans", firstPort: 23360) { $0.orphans = .remove }
        defer { Task { await fixture.finish() } }
        var labels = [SessionLabels.agent: fixture.settings.agentID, SessionLabels.sessionID: "0000000000000000000000000000beef"]
        labels[SessionLabels.username] = "oscar"
        _ = try await Self.createBare(fixture.engine, labels: labels, hostPort: 23399)
        try await fixture.manager.reconcile()
        #expect(try await fixture.labelled().isEmpty)
        let record = await fixture.manager.session("0000000000000000000000000000beef")
        #expect(record?.status == .orphaned)
        #expect(record?.reason == "removed at start: a labelled container without a record")
    }

    @Test func whatReconciliationClosesOrRemovesIsAuditedWithItsReason() async throws {
        guard let docker = TestDocker.current else { return }
        let directory = "/tmp/vwaudit-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try AuditLog(path: directory + "/audit.sqlite", journal: false)
        let fixture = try await Self.fixture(docker, name: "auditrec", firstPort: 23840, configure: { $0.orphans = .remove }, audit: { try log.append($0) })
        defer { Task { await fixture.finish() } }
        // A session whose container goes while nobody follows the events, and a labelled container without a record.
        let session = try await fixture.manager.create(SessionRequest(username: "peggy", template: "web"))
        let containerID = try #require(session.containerID)
        try await fixture.engine.removeContainer(containerID, force: true)
        var labels = [SessionLabels.agent: fixture.settings.agentID, SessionLabels.sessionID: "0000000000000000000000000000cafe"]
        labels[SessionLabels.username] = "oscar"
        labels[SessionLabels.template] = "web"
        let orphanID = try await Self.createBare(fixture.engine, labels: labels, hostPort: 23879)
        #expect(try log.records().isEmpty)

        try await fixture.manager.reconcile()

        #expect(try await fixture.labelled().isEmpty)
        let records = try log.records().sorted { $0.id < $1.id }
        #expect(records.count == 2, "\(records)")
        let closed = try #require(records.first { $0.parameters?["session_id"] == session.sessionID })
        #expect(closed.event == "session.end")
        #expect(closed.principal == "viworks-agent")
        #expect(closed.role == "agent")
        #expect(closed.action == "close \(session.sessionID)")
        #expect(closed.outcome == "ok")
        #expect(closed.parameters == ["session_id": session.sessionID, "status": "removed", "username": "peggy", "reason": "the container vanished while the agent was not watching"])
        let removed = try #require(records.first { $0.parameters?["session_id"] == "0000000000000000000000000000cafe" })
        #expect(removed.event == "session.end")
        #expect(removed.action == "remove 0000000000000000000000000000cafe")
        #expect(removed.outcome == "ok")
        #expect(
            removed.parameters == [
                "session_id": "0000000000000000000000000000cafe", "status": "orphaned", "username": "oscar", "container_id": orphanID,
                "reason": "removed at start: a labelled container without a record",
            ])
        #expect(try log.verify().isIntact)
        // A second reconciliation finds nothing to do and writes nothing.
        try await fixture.manager.reconcile()
        #expect(try log.records().count == 2)
    }

    @Test func aContainerRemovedBehindTheManagersBackClosesItsSession() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "vanish", firstPort: 23400, connect: false, configure: Self.eventsOnly)
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager
        let running = try await Self.following(fixture)
        defer { running.cancel() }
        let session = try await manager.create(SessionRequest(username: "judy", template: "web"))
        try await fixture.engine.removeContainer(try #require(session.containerID), force: true)
        let took = await Self.eventually(within: .seconds(15)) { await manager.session(session.sessionID)?.status == .removed }
        #expect(took != nil)
        // The reason only the destroy event gives (a reconciliation says "vanished while the agent was not watching").
        #expect(await manager.session(session.sessionID)?.reason == "the container was removed outside the agent")
        #expect(Self.connections(fixture) == 1)
        #expect(await manager.session(session.sessionID)?.port == nil)
    }

    @Test func stopsAndStartsOutsideTheAgentReachTheRecordThroughTheEventStream() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "outside", firstPort: 23680, connect: false, configure: Self.eventsOnly)
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager
        let running = try await Self.following(fixture)
        defer { running.cancel() }
        let session = try await manager.create(SessionRequest(username: "tina", template: "web"))
        let containerID = try #require(session.containerID)
        try await fixture.engine.stopContainer(containerID, gracePeriod: .seconds(2))
        let died = await Self.eventually(within: .seconds(15)) { await manager.session(session.sessionID)?.status == .exited }
        let exited = await manager.session(session.sessionID)
        #expect(died != nil, "status \(exited?.status.rawValue ?? "?")")
        #expect(exited?.exitCode == 143)  // SIGTERM, through docker-init
        #expect(exited?.stoppedAt != nil)
        #expect(exited?.port == session.port)
        try await fixture.engine.startContainer(containerID)
        let started = await Self.eventually(within: .seconds(15)) { await manager.session(session.sessionID)?.status == .running }
        let restarted = await manager.session(session.sessionID)
        #expect(started != nil, "status \(restarted?.status.rawValue ?? "?")")
        #expect(restarted?.stoppedAt == nil)
        // Both changes came through the event stream: the manager connected (and reconciled) once, before them.
        #expect(Self.connections(fixture) == 1)
    }

    @Test func aCreateCutShortByARestartIsClosedAndItsContainerRemoved() async throws {
        guard let docker = TestDocker.current else { return }
        let first = try await Self.fixture(docker, name: "cut", firstPort: 23720)
        defer { Task { await first.finish() } }
        // What an agent killed between creating the container and recording it running leaves behind.
        let id = "0123456789abcdef0123456789abcdef"
        var labels = [SessionLabels.agent: first.settings.agentID, SessionLabels.sessionID: id]
        labels[SessionLabels.username] = "uma"
        let containerID = try await Self.createBare(first.engine, labels: labels, hostPort: 23759)
        try await first.store.save(
            Session(
                sessionID: id, username: "uma", template: "web", containerID: containerID, port: 23759, status: .creating, createdAt: .now(),
                memoryLimitBytes: 64 << 20, cpuShares: 256))
        let second = try await Self.fixture(docker, settings: first.settings, storePath: first.storePath)
        defer { Task { try? await second.engine.shutdown() } }
        let record = await second.manager.session(id)
        #expect(record?.status == .removed)
        #expect(record?.reason == "the agent stopped while the session was being created")
        #expect(record?.port == nil)
        #expect(try await first.labelled().isEmpty)
    }

    @Test func engineStoppedIsUnavailableAndRecovers() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "down", firstPort: 23440, configure: Self.eventsOnly)
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager
        let running = Task { await manager.run() }
        defer { running.cancel() }
        let before = try await manager.create(SessionRequest(username: "kim", template: "web"))
        #expect(await manager.engineStatus.status == .available)
        #expect(await manager.engineStatus.apiVersion == "1.41")

        await docker.stopDaemon()
        let noticed = await Self.eventually(within: .seconds(15)) {
            let status = await manager.engineStatus
            return status.status == .unavailable && (status.reason?.hasPrefix("ENOENT") == true || status.reason?.hasPrefix("ECONNREFUSED") == true)
        }
        let down = await manager.engineStatus
        #expect(noticed != nil, "engine status: \(down)")
        let refused = await #expect(throws: SessionError.self) { try await manager.create(SessionRequest(username: "kim", template: "web")) }
        #expect(refused?.httpStatus == 503)
        #expect(refused?.code == "engine_unavailable")
        // Reads keep working from the records. The daemon killed the container as it shut down (no live-restore):
        // either its die event arrived before the stream ended, or reconciliation finds it exited below.
        let during = await manager.session(before.sessionID)
        #expect(during?.containerID == before.containerID)
        #expect(during?.status == .running || during?.status == .exited)

        try await docker.startDaemon()
        let recovered = await Self.eventually(within: .seconds(15)) { await manager.engineStatus.status == .available }
        let up = await manager.engineStatus
        #expect(recovered != nil, "engine status: \(up)")
        let after = await manager.session(before.sessionID)
        #expect(after?.status == .exited)
        let again = try await manager.create(SessionRequest(username: "kim", template: "web"))
        #expect(again.status == .running)
        #expect(try await HTTP.get(port: try #require(again.port)) == "hello\n")
        // The event stream is back: a container removed behind the manager's back is closed with the reason only the
        // destroy event gives (the reaper runs once an hour; a reconciliation would say "vanished while not watching").
        try await fixture.engine.removeContainer(try #require(again.containerID), force: true)
        let took = await Self.eventually(within: .seconds(15)) { await manager.session(again.sessionID)?.status == .removed }
        #expect(took != nil)
        #expect(await manager.session(again.sessionID)?.reason == "the container was removed outside the agent")
    }

    /// Creates and starts a container of the test image directly (as `docker run -d` would), publishing 8080 on
    /// `hostPort`, with the web template's limits.
    static func createBare(_ engine: DockerEngine, labels: [String: String], hostPort: Int) async throws -> String {
        let web = webTemplate()
        let request = ContainerCreateRequest(
            image: TestDocker.image, cmd: nil, env: [], labels: labels, exposedPorts: ["8080/tcp": EmptyObject()],
            hostConfig: .init(
                memory: web.memory, memorySwap: web.memory, cpuShares: web.cpuShares, nanoCPUs: 500_000_000, pidsLimit: Int64(web.pidsLimit),
                initProcess: true, readonlyRootfs: true, tmpfs: ["/tmp": ""], securityOpt: ["no-new-privileges"], capDrop: ["ALL"], capAdd: [],
                portBindings: ["8080/tcp": [PortBinding(hostIP: "127.0.0.1", hostPort: "\(hostPort)")]], privileged: false))
        let id = try await engine.createContainer(name: nil, request)
        try await engine.startContainer(id)
        return id
    }
}

// MARK: - Helpers

/// The messages logged through a ``CapturingLogHandler``.
final class MessageLog: Sendable {
    private let stored = Mutex<[String]>([])

    var messages: [String] { stored.withLock { $0 } }

    func append(_ message: String) { stored.withLock { $0.append(message) } }
}

/// A log handler that keeps each message in a ``MessageLog``.
struct CapturingLogHandler: LogHandler {
    let log: MessageLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) { log.append(event.message.description) }
}

/// The limits of a process's cgroup as the kernel holds them (cgroup v1 or v2).
struct Cgroup {
    var memoryLimit: Int64?
    var cpuShares: Int?
    var pidsMax: Int?

    init?(pid: Int) {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var paths: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            for controller in fields[1].split(separator: ",") { paths[String(controller)] = String(fields[2]) }
            if fields[1].isEmpty { paths[""] = String(fields[2]) }
        }
        if let memory = paths["memory"] {
            // cgroup v1: one hierarchy per controller.
            memoryLimit = read("/sys/fs/cgroup/memory\(memory)/memory.limit_in_bytes").flatMap { Int64($0) }
            cpuShares = paths["cpu"].flatMap { read("/sys/fs/cgroup/cpu\($0)/cpu.shares") }.flatMap { Int($0) }
            pidsMax = paths["pids"].flatMap { read("/sys/fs/cgroup/pids\($0)/pids.max") }.flatMap { Int($0) }
        } else if let unified = paths[""] {
            // cgroup v2: cpu.weight = 1 + (shares - 2) × 9999 / 262142 (runc's conversion).
            memoryLimit = read("/sys/fs/cgroup\(unified)/memory.max").flatMap { Int64($0) }
            cpuShares = read("/sys/fs/cgroup\(unified)/cpu.weight").flatMap { Int($0) }.map { ($0 - 1) * 262_142 / 9999 + 2 }
            pidsMax = read("/sys/fs/cgroup\(unified)/pids.max").flatMap { Int($0) }
        }
    }
}

/// A TCP listener on 127.0.0.1 that never accepts: holds a port.
final class TCPListener {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 4) == 0 else { throw TestDockerError("cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
    }

    func close() { _ = Glibc.close(descriptor) }
}

/// A plain HTTP/1.0 GET of `/` on 127.0.0.1.
enum HTTP {
    /// The body, retried for up to 2 s while the server is not listening yet.
    static func get(port: Int) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(2)
        while true {
            if let body = once(port: port) { return body }
            guard clock.now < deadline else { throw TestDockerError("no HTTP answer on 127.0.0.1:\(port)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private static func once(port: Int) -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { _ = Glibc.close(descriptor) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
        guard send(descriptor, request, request.count, 0) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let split = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[split.upperBound...])
    }
}
