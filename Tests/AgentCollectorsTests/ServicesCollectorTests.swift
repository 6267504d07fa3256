//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentCollectors
import AgentRuntime
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif
// sockaddr_in's members are attributed to NIO's C module, which declares the struct again (MemberImportVisibility).
import CNIOLinux

extension CollectorOutput {
    var services: ServicesReport? { if case .services(let r)? = report { r } else { nil } }
    var processes: ProcessesReport? { if case .processes(let r)? = report { r } else { nil } }
}

private func capture(_ step: String) -> HostPaths {
    HostPaths(fixtureRoot: Fixtures.root + "/cases/processes/debian12-services/" + step)
}

private func settings(_ definitions: [ServiceDefinition], discover: Bool = false) -> ServicesSettings {
    var settings = ServicesSettings()
    settings.systemd = .off
    settings.discover = discover
    settings.probes = false
    settings.definitions = definitions
    return settings
}

@Suite("processes: /proc/PID/stat and the process table")
struct ProcessTableTests {
    @Test func commWithSpacesAndParenthesesIsCutAtTheLastParenthesis() throws {
        let text = try HostFile.read(capture("step0").proc("2444/stat"))
        let stat = try #require(ProcessStat.parse(Array(text.utf8)))
        #expect(stat.pid == 2444)
        #expect(stat.comm == "my (odd) pr)c")
        #expect(stat.stateLetter == "S")
        #expect(stat.ppid == 1)
        #expect(stat.startTicks == 1_017_293)
        #expect(stat.rssPages == 425)
        #expect(stat.threads == 1)
    }

    @Test func zombieHasNoMemory() throws {
        let stat = try #require(ProcessStat.parse(Array(try HostFile.read(capture("step0").proc("2489/stat")).utf8)))
        #expect(stat.isZombie)
        #expect(stat.ppid == 2445)
        #expect(stat.rssPages == 0)
        #expect(stat.cpuTicks == 0)
    }

    @Test func truncatedOrForeignTextIsRejected() {
        #expect(ProcessStat.parse(Array("123 (bash) S 1 2 3".utf8)) == nil)
        #expect(ProcessStat.parse(Array("not a stat line".utf8)) == nil)
        #expect(ProcessStat.parse(Array("".utf8)) == nil)
        #expect(ProcessStat.parse(Array("12x (a) S 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 100 7".utf8)) == nil)
    }

    @Test func vanishedProcessIsCountedNotAnError() throws {
        let table = try ProcessTable.read(procRoot: capture("step0").procRoot, monotonicSeconds: 0)
        #expect(table.processes.map(\.pid).sorted() == [1, 2314, 2318, 2319, 2444, 2445, 2489, 8217, 8219])
        #expect(table.vanished == 1)
    }

    /// The real uid is the first of the four numbers of `Uid:`: nginx's workers run as nobody, init as root.
    @Test func uidIsTheRealUidOfTheStatusFile() throws {
        let reader = try ProcFileReader(root: capture("step0").procRoot)
        #expect(reader.uid(2318) == 65534)
        #expect(reader.uid(1) == 0)
        #expect(reader.uid(424242) == nil)
        func parse(_ text: String) -> Int? { ProcFileReader.parseUid(text) }
        #expect(parse("Name:\tsu\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n") == 1000)
        #expect(parse("Uid: 7 7 7 7") == 7)
        #expect(parse("Name:\tx\nUid:\t\nGid:\t0\n") == nil)
        #expect(parse("Name:\tx\nUid:\t-1\t0\t0\t0\n") == nil)
        #expect(parse("Name:\tUid: 5\nPPid:\t1\n") == nil, "only a line that starts with Uid:")
        #expect(parse("") == nil)
    }

    /// The bounded selection of the top lists gives what sorting everything and keeping a prefix gives, ties included.
    @Test func theTopSelectionIsTheSortedPrefix() {
        for round in 0..<300 {
            // Values 0…6 in a different pattern each round: many ties, which the index breaks.
            let values = (0..<(round % 40)).map { (($0 + 3) * (round + 11) * 2_654_435_761 >> 7) % 7 }
            let order: (Int, Int) -> Bool = { (values[$0], $1) > (values[$1], $0) }
            for count in [0, 1, 3, 10, 50] {
                #expect(ProcessesCollector.first(count, of: values.indices, by: order) == Array(values.indices.sorted(by: order).prefix(count)))
            }
        }
    }

    /// Two collectors of one round share a scan; each one's next round, and a table older than the window, read again.
    @Test func aSharedTableIsTakenOncePerCollectorWithinTheWindow() throws {
        let directory = try TemporaryDirectory()
        let root = directory.path
        func add(_ pid: Int) throws {
            try directory.write("\(pid)/stat", "\(pid) (app) S 1 \(pid) \(pid) 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 100 7\n")
        }
        try add(10)
        let shared = SharedProcessTable(reuseWindow: .seconds(3600))
        #expect(try shared.table(for: "processes", procRoot: root, monotonicSeconds: 1).processes.map(\.pid) == [10])
        try add(11)
        // The services collector of the same round takes the table read for the processes collector.
        let taken = try shared.table(for: "services", procRoot: root, monotonicSeconds: 2)
        #expect(taken.processes.map(\.pid) == [10])
        #expect(taken.monotonicSeconds == 1)
        // Asking again is the next round: a fresh read, which the other collector may then take.
        #expect(try shared.table(for: "processes", procRoot: root, monotonicSeconds: 3).processes.map(\.pid).sorted() == [10, 11])
        #expect(try shared.table(for: "services", procRoot: root, monotonicSeconds: 4).monotonicSeconds == 3)
        // Another root is another table.
        #expect(try shared.table(for: "services", procRoot: capture("step0").procRoot, monotonicSeconds: 5).processes.count == 9)
        // Older than the window: read again.
        try add(12)
        let brief = SharedProcessTable(reuseWindow: .zero)
        _ = try brief.table(for: "processes", procRoot: root, monotonicSeconds: 6)
        usleep(1000)
        #expect(try brief.table(for: "services", procRoot: root, monotonicSeconds: 7).monotonicSeconds == 7)
    }

    @Test func cpuPercentOfABusyLoopFromTwoCaptures() async throws {
        let collector = ProcessesCollector(settings: ProcessesSettings(), ticksPerSecond: 100, pageSize: 4096)
        let first = try await collector.collect(Fixtures.context(capture("step0")))
        #expect(first.processes?.topByCPU.isEmpty == true, "no delta on the first collection")
        let second = try #require(try await collector.collect(Fixtures.context(capture("step1"))).processes)
        // (259 − 154) ticks / 100 Hz over 10308.66 − 10307.47 s = 1.05 / 1.19 = 88.24 %.
        #expect(second.topByCPU.first?.pid == 8219)
        #expect(second.topByCPU.first?.cpuPercent == 88.24)
        #expect(second.topByCPU.first?.command == "/root/.pyenv/versions/3.11.7/bin/python3 -c while True: pass")
        #expect(second.topByCPU.first?.uid == 0)
        // starttime 1030593 ticks after btime 1795982212.
        #expect(second.topByCPU.first?.startedAt == Timestamp(nanosecondsSinceEpoch: 1_795_992_517_930_000_000))
        #expect(second.total == 9)
        #expect(second.byState == ["S": 7, "R": 1, "Z": 1])
        #expect(second.topByMemory.first?.pid == 2445)  // 3357 pages, the largest RSS
        #expect(second.topByMemory.first?.memoryBytes == 3357 * 4096)
        #expect(second.threads == 14 + 1 + 1 + 1 + 5 + 1 + 1 + 1 + 1)
    }
}

@Suite("services: /proc fallback")
struct ServicesProcTests {
    @Test func mainProcessIsTheOldestMatchWhoseParentIsNotAMatch() async throws {
        let collector = ServicesCollector(
            settings: settings([
                ServiceDefinition(name: "nginx", processNames: ["nginx"]),
                ServiceDefinition(name: "redis", processNames: ["redis-server"]),
                ServiceDefinition(name: "odd", processNames: ["my (odd) pr)c"]),
                ServiceDefinition(name: "postgres", processNames: ["postgres"]),
                ServiceDefinition(name: "busy", commandPatterns: ["while True"]),
            ]), ticksPerSecond: 100, pageSize: 4096)
        _ = try await collector.collect(Fixtures.context(capture("step0")))
        let report = try #require(try await collector.collect(Fixtures.context(capture("step1"))).services)
        #expect(report.source == .proc)
        let byName = Dictionary(uniqueKeysWithValues: report.services.map { ($0.name, $0) })
        let nginx = try #require(byName["nginx"])
        #expect(nginx.status == .running)
        #expect(nginx.pid == 2314)
        #expect(nginx.processCount == 3)
        #expect(nginx.memoryBytes == 14_819_328)  // (1654 + 998 + 966) pages × 4096
        #expect(nginx.pssBytes == 4_962_304)  // (2646 + 1100 + 1100) KiB in step1 (2070 + 1015 + 1015 in step0)
        #expect(nginx.cpuPercent == 0)
        #expect(nginx.since == Timestamp(nanosecondsSinceEpoch: 1_795_992_379_810_000_000))  // btime + 1016781 ticks
        #expect(byName["redis"]?.pid == 8217)
        #expect(byName["odd"]?.pid == 2444)
        #expect(byName["postgres"]?.status == .stopped)
        #expect(byName["postgres"]?.pid == nil)
        #expect(byName["postgres"]?.reason == nil)
        let busy = try #require(byName["busy"])
        #expect(busy.pid == 8219)
        #expect(busy.cpuPercent == 88.24)
    }

    @Test func aParentAndItsZombieChildAreOneService() async throws {
        let collector = ServicesCollector(settings: settings([ServiceDefinition(name: "py", processNames: ["python3"])]), ticksPerSecond: 100, pageSize: 4096)
        let report = try #require(try await collector.collect(Fixtures.context(capture("step0"))).services)
        // Roots: 2445 (parent 2440, not a match) and 8219 (parent 1); 2445 started first (1017293 < 1030593).
        #expect(report.services.first?.pid == 2445)
        #expect(report.services.first?.status == .running)
        #expect(report.services.first?.processCount == 3)
        #expect(report.services.first?.cpuPercent == nil, "first collection: no delta yet")
    }

    @Test func aZombieMainProcessIsAnError() async throws {
        let collector = ServicesCollector(settings: settings([ServiceDefinition(name: "nginx", processNames: ["nginx"])]), ticksPerSecond: 100, pageSize: 4096)
        let paths = HostPaths(fixtureRoot: Fixtures.root + "/cases/processes/zombie-main")
        let service = try #require(try await collector.collect(Fixtures.context(paths)).services?.services.first)
        #expect(service.status == .error)
        #expect(service.pid == 700)
        #expect(service.reason == "main process 700 is a zombie")
        #expect(service.processCount == 2)
        #expect(service.memoryBytes == 900 * 4096)
    }

    @Test func discoveryFindsWellKnownServersThatAreNotConfigured() async throws {
        var configured = settings([ServiceDefinition(name: "nginx", processNames: ["nginx"])], discover: true)
        configured.discoveryRules = [DiscoveryRule(name: "redis", unitPattern: "redis-server.service", processName: "redis-server")]
        let collector = ServicesCollector(settings: configured, ticksPerSecond: 100, pageSize: 4096)
        let report = try #require(try await collector.collect(Fixtures.context(capture("step0"))).services)
        #expect(report.services.map(\.name) == ["nginx", "redis"])
        #expect(report.services.map(\.discovered) == [false, true])
        #expect(report.services.last?.pid == 8217)
    }

    @Test func processNamesMatchArgv0AndScriptsRunByAnInterpreter() async throws {
        let names = ["gatewayd", "wazuh-logcollector", "backup-agent", "nightly.py", "healthcheck", "python3", "exe", "backup", "logcollector"]
        let collector = ServicesCollector(
            settings: settings(names.map { ServiceDefinition(name: $0, processNames: [$0]) }), ticksPerSecond: 100, pageSize: 4096)
        let paths = HostPaths(fixtureRoot: Fixtures.root + "/cases/processes/names-and-scripts")
        let report = try #require(try await collector.collect(Fixtures.context(paths)).services)
        let pid = Dictionary(uniqueKeysWithValues: report.services.map { ($0.name, $0.pid) })
        // argv[0]'s file name: a daemon re-executed through /proc/self/exe (comm "exe"), and a comm cut to 15 bytes.
        #expect(pid["gatewayd"] == 100)
        #expect(pid["exe"] == 100)
        #expect(pid["wazuh-logcollector"] == 200)
        // Scripts by their file name, with or without the extension, whatever the interpreter's options.
        #expect(pid["backup-agent"] == 300)
        #expect(pid["nightly.py"] == 301)
        #expect(pid["healthcheck"] == 400)
        #expect(report.services.first { $0.name == "healthcheck" }?.processCount == 2, "the script and its child (sleep)")
        // The interpreter's own name still matches both scripts; the main process is the older one.
        #expect(pid["python3"] == 300)
        #expect(report.services.first { $0.name == "python3" }?.processCount == 2)
        // No partial names.
        #expect(pid["backup"] == .some(nil))
        #expect(pid["logcollector"] == .some(nil))
        #expect(ServicesCollector.processNames(comm: "kworker/0:1", arguments: []) == ["kworker/0:1"])
        #expect(ServicesCollector.processNames(comm: "perl5.36", arguments: ["perl", "-w", "/srv/x.pl"]) == ["perl5.36", "perl", "x.pl", "x"])
        #expect(!ServicesCollector.isInterpreter("shellcheck"))
    }

    @Test func longNamesMatchTheFifteenBytesTheKernelKeeps() {
        #expect(ServicesCollector.commMatches("viworks-gateway-agent", "viworks-gateway"))
        #expect(!ServicesCollector.commMatches("viworks-gateway-agent", "viworks-gatew"))
        #expect(!ServicesCollector.commMatches("nginx", "nginx-debug"))
        #expect(ServicesCollector.commMatches("nginx", "nginx"))
    }

    @Test func samplesFollowPrometheusConventions() async throws {
        let collector = ServicesCollector(settings: settings([ServiceDefinition(name: "nginx", processNames: ["nginx"])]), ticksPerSecond: 100, pageSize: 4096)
        let output = try await collector.collect(Fixtures.context(capture("step0")))
        expectWellFormed(output)
        #expect(output.value("viworks_service_up", ["service": "nginx"]) == 1)
        #expect(output.value("viworks_service_state", ["service": "nginx", "state": "running"]) == 1)
        #expect(output.value("viworks_service_state", ["service": "nginx", "state": "stopped"]) == 0)
        #expect(output.value("viworks_service_memory_bytes", ["service": "nginx"]) == 14_819_328)
        #expect(output.value("viworks_service_processes", ["service": "nginx"]) == 3)
    }
}

/// A D-Bus stand-in for the choice between units and the fallback; the real systemd is exercised in tests/systemd.
private final class FakeUnits: SystemdUnitSource {
    let units: [SystemdUnit]
    let details: [String: SystemdUnitDetails]
    let failure: SystemdBusError?
    /// Alias → unit: loading an alias gives the unit it names, with that unit's name (systemd's `Id`).
    let aliases: [String: String]

    init(_ details: [SystemdUnitDetails], failure: SystemdBusError? = nil, aliases: [String: String] = [:]) {
        self.aliases = aliases
        self.details = Dictionary(uniqueKeysWithValues: details.map { ($0.name, $0) })
        self.units = details.filter { $0.loadState != "not-found" }.map {
            SystemdUnit(name: $0.name, loadState: $0.loadState, activeState: $0.activeState, subState: $0.subState, objectPath: "/x")
        }
        self.failure = failure
    }

    func listUnits() async throws(SystemdBusError) -> [SystemdUnit] {
        if let failure { throw failure }
        return units
    }

    func unitDetails(_ name: String) async throws(SystemdBusError) -> SystemdUnitDetails {
        if let failure { throw failure }
        return details[aliases[name] ?? name] ?? SystemdUnitDetails(name: name, loadState: "not-found", activeState: "inactive", subState: "dead")
    }
}

@Suite("services: systemd units")
struct ServicesSystemdTests {
    private func collect(_ units: FakeUnits, _ definitions: [ServiceDefinition], paths: HostPaths = capture("step0")) async throws -> [String: ServiceReport] {
        var configured = settings(definitions)
        configured.systemd = .on
        let collector = ServicesCollector(settings: configured, unitSource: units, ticksPerSecond: 100, pageSize: 4096)
        let report = try #require(try await collector.collect(Fixtures.context(paths)).services)
        return Dictionary(uniqueKeysWithValues: report.services.map { ($0.name, $0) })
    }

    @Test func statesMapToTheSpecStatuses() {
        func status(_ active: String, _ sub: String, load: String = "loaded", result: String? = nil) -> ServiceStatus {
            ServicesCollector.status(SystemdUnitDetails(name: "x.service", loadState: load, activeState: active, subState: sub, result: result)).0
        }
        #expect(status("active", "running") == .running)
        #expect(status("reloading", "reload") == .running)
        #expect(status("inactive", "dead") == .stopped)
        #expect(status("failed", "failed", result: "exit-code") == .error)
        #expect(status("activating", "auto-restart", result: "exit-code") == .error)
        #expect(status("activating", "start") == .running)
        #expect(status("deactivating", "stop-sigterm") == .stopped)
        #expect(status("inactive", "dead", load: "not-found") == .stopped)
        #expect(status("inactive", "dead", load: "masked") == .stopped)
        #expect(status("inactive", "dead", load: "bad-setting") == .error)
        #expect(
            ServicesCollector.status(SystemdUnitDetails(name: "x", loadState: "loaded", activeState: "failed", subState: "failed", result: "core-dump")).1
                == "unit failed (core-dump)")
    }

    @Test func theInstanceWithAProcessWinsOverTheOneshotWrapper() async throws {
        let units = FakeUnits([
            SystemdUnitDetails(name: "postgresql.service", loadState: "loaded", activeState: "active", subState: "exited"),
            SystemdUnitDetails(name: "postgresql@15-main.service", loadState: "loaded", activeState: "active", subState: "running", mainPID: 2445, restarts: 2,
                stateChangeTimestampMicroseconds: 1_795_992_400_000_000),
        ])
        let services = try await collect(units, [ServiceDefinition(name: "postgres", units: ["postgresql@*.service", "postgresql.service"])])
        let postgres = try #require(services["postgres"])
        #expect(postgres.unit == "postgresql@15-main.service")
        #expect(postgres.status == .running)
        #expect(postgres.pid == 2445)
        #expect(postgres.restarts == 2)
        #expect(postgres.source == .systemd)
        #expect(postgres.since == Timestamp(nanosecondsSinceEpoch: 1_795_992_400_000_000_000))
        // No cgroup in the capture: the main process's RSS.
        #expect(postgres.memoryBytes == 3357 * 4096)
        #expect(postgres.processCount == 1)
    }

    @Test func anAutoRestartLoopRaisesItsAlertOnlyAfterTheForDuration() async throws {
        // A unit that keeps failing and being restarted by systemd (Restart=always): `activating`/`auto-restart` at
        // every collection, NRestarts growing. The service is `error` at once; its alert waits for `[alerts.services] for`.
        var alertSettings = AlertSettings()
        alertSettings.servicesHoldFor = .seconds(60)
        let engine = AlertEngine(settings: alertSettings, incidents: IncidentStore(database: nil), bus: nil, logger: Logger(label: "test"))
        var configured = settings([ServiceDefinition(name: "flaky", units: ["flaky.service"])])
        configured.systemd = .on
        var raisedAt: [Int64] = []
        for step in Int64(0)...8 {
            let units = FakeUnits([
                SystemdUnitDetails(name: "flaky.service", loadState: "loaded", activeState: "activating", subState: "auto-restart", restarts: Int(step) + 1,
                    result: "exit-code")
            ])
            let collector = ServicesCollector(settings: configured, unitSource: units, ticksPerSecond: 100, pageSize: 4096)
            let output = try await collector.collect(Fixtures.context(capture("step0")))
            let service = try #require(output.services?.services.first)
            #expect(service.status == .error)
            #expect(service.restarts == Int(step) + 1)
            let at = Timestamp(secondsSinceEpoch: 1_764_446_500 + Double(step) * 10)
            let batch = MetricBatch(source: "services", timestamp: at, samples: output.samples, report: output.report)
            let (inputs, rules) = engine.inputs(for: batch)
            for transition in await engine.evaluate(inputs, complete: rules, at: at) where transition.to != .ok { raisedAt.append(step * 10) }
        }
        // Collections every 10 s: nothing at 0…50 s, a warning (not critical) at 60 s, and only once.
        #expect(raisedAt == [60])
        #expect(engine.active().map { "\($0.subject) \($0.severity.rawValue)" } == ["flaky warning"])
    }

    @Test func aServiceConfiguredByAnAliasReportsTheRealUnitOnce() async throws {
        // Debian's ssh.service has the alias sshd.service, which ListUnits does not list; LoadUnit of the alias gives
        // ssh.service (its `Id`). Configured by the alias, the service is ssh.service, and discovery does not report
        // ssh.service a second time.
        let units = FakeUnits(
            [SystemdUnitDetails(name: "ssh.service", loadState: "loaded", activeState: "active", subState: "running", mainPID: 2445)],
            aliases: ["sshd.service": "ssh.service"])
        var configured = settings([ServiceDefinition(name: "secure-shell", units: ["sshd.service"])], discover: true)
        configured.discoveryRules = [DiscoveryRule(name: "sshd", unitPattern: "ssh.service", processName: "sshd")]
        configured.systemd = .on
        let collector = ServicesCollector(settings: configured, unitSource: units, ticksPerSecond: 100, pageSize: 4096)
        let report = try #require(try await collector.collect(Fixtures.context(capture("step0"))).services)
        #expect(report.services.map(\.name) == ["secure-shell"])
        #expect(report.services.first?.unit == "ssh.service")
        #expect(report.services.first?.status == .running)
        #expect(report.services.first?.pid == 2445)
    }

    @Test func aServiceThatIsNotInstalledIsStoppedAndSaysSo() async throws {
        let services = try await collect(FakeUnits([]), [ServiceDefinition(name: "docker", units: ["docker.service"])])
        #expect(services["docker"]?.status == .stopped)
        #expect(services["docker"]?.loadState == "not-found")
        #expect(services["docker"]?.unit == "docker.service")
        #expect(services["docker"]?.reason == "not installed (no unit file)")
    }

    @Test func aFailedInstanceBesideARunningOneIsAnError() async throws {
        let units = FakeUnits([
            SystemdUnitDetails(name: "openvpn@a.service", loadState: "loaded", activeState: "active", subState: "running", mainPID: 2314),
            SystemdUnitDetails(name: "openvpn@b.service", loadState: "loaded", activeState: "failed", subState: "failed", result: "exit-code"),
        ])
        let services = try await collect(units, [ServiceDefinition(name: "openvpn", units: ["openvpn@*.service"])])
        #expect(services["openvpn"]?.status == .error)
        #expect(services["openvpn"]?.reason == "openvpn@b.service failed (exit-code)")
    }

    @Test func cgroupFilesGiveCPUAndMemory() async throws {
        // A cgroup v2 tree written beside a copy of the capture's proc.
        let root = try TemporaryDirectory()
        let group = root.path + "/sys/fs/cgroup/system.slice/nginx.service"
        try root.write("sys/fs/cgroup/system.slice/nginx.service/cgroup.procs", "2314\n2318\n2319\n")
        try root.write("sys/fs/cgroup/system.slice/nginx.service/cpu.stat", "usage_usec 1000000\nuser_usec 600000\nsystem_usec 400000\n")
        try root.write("sys/fs/cgroup/system.slice/nginx.service/memory.current", "20000000\n")
        try root.write("sys/fs/cgroup/system.slice/nginx.service/memory.stat", "anon 12000000\nfile 5000000\n")
        #expect(ServicesCollector.cgroupProcesses(group) == [2314, 2318, 2319])
        var paths = capture("step0")
        paths.sysRoot = root.path + "/sys"
        let units = FakeUnits([
            SystemdUnitDetails(name: "nginx.service", loadState: "loaded", activeState: "active", subState: "running", mainPID: 2314,
                controlGroup: "/system.slice/nginx.service")
        ])
        var configured = settings([ServiceDefinition(name: "nginx", units: ["nginx.service"])])
        configured.systemd = .on
        let collector = ServicesCollector(settings: configured, unitSource: units, ticksPerSecond: 100, pageSize: 4096)
        var context = Fixtures.context(paths, monotonicSeconds: 100)
        let first = try #require(try await collector.collect(context).services?.services.first)
        #expect(first.memoryBytes == 15_000_000)  // memory.current − file
        #expect(first.processCount == 3)
        #expect(first.cpuPercent == nil)
        try root.write("sys/fs/cgroup/system.slice/nginx.service/cpu.stat", "usage_usec 1500000\n")
        context.monotonicSeconds = 102
        let second = try #require(try await collector.collect(context).services?.services.first)
        #expect(second.cpuPercent == 25)  // 0.5 s of CPU in 2 s
    }

    @Test func aBrokenBusFallsBackToProcAndSaysUnknownWhereItCannotKnow() async throws {
        let units = FakeUnits([], failure: SystemdBusError(operation: "ListUnits", name: "org.freedesktop.DBus.Error.NoReply", message: "timed out"))
        let services = try await collect(
            units, [ServiceDefinition(name: "nginx", units: ["nginx.service"], processNames: ["nginx"]), ServiceDefinition(name: "docker", units: ["docker.service"], processNames: ["dockerd"])])
        #expect(services["nginx"]?.status == .running)
        #expect(services["nginx"]?.source == .proc)
        #expect(services["nginx"]?.pid == 2314)
        #expect(services["docker"]?.status == .unknown)
        #expect(services["docker"]?.reason?.contains("NoReply") == true)
    }
}

@Suite("services: probes against real sockets")
struct ServiceProbeTests {
    @Test func refusedSilentAndAnsweringSockets() async throws {
        let prober = ServiceProber()
        // A port nobody listens on.
        let closed = try Listener()
        let closedPort = closed.port
        closed.close()
        let refused = await prober.probe(ServiceProbeSpec(kind: .tcp, host: "127.0.0.1", port: closedPort), timeout: .seconds(1))
        #expect(!refused.ok)
        #expect(refused.detail == "connection refused")

        // Accepts (the kernel completes the handshake from the backlog) but never answers: like a SIGSTOPped redis.
        let silent = try Listener()
        let tcp = await prober.probe(ServiceProbeSpec(kind: .tcp, host: "127.0.0.1", port: silent.port), timeout: .seconds(1))
        #expect(tcp.ok)
        #expect(tcp.detail == "connected")
        let redis = await prober.probe(ServiceProbeSpec(kind: .redis, host: "127.0.0.1", port: silent.port), timeout: .milliseconds(300))
        #expect(!redis.ok)
        #expect(redis.detail == "no answer within 0.3 s")
        #expect((redis.durationSeconds ?? 0) >= 0.29)
        let postgres = await prober.probe(ServiceProbeSpec(kind: .postgres, host: "127.0.0.1", port: silent.port), timeout: .milliseconds(300))
        #expect(!postgres.ok)
        let http = await prober.probe(ServiceProbeSpec(kind: .http, host: "127.0.0.1", port: silent.port), timeout: .milliseconds(300))
        #expect(!http.ok)
        silent.close()
    }

    @Test func anIPv6TargetIsProbedOnItsAddress() async throws {
        // `tcp://[::1]:PORT` as configured: the literal in brackets is the address dialled, and only IPv6 listens there.
        let listener = try Listener(ipv6Loopback: ())
        defer { listener.close() }
        let spec = try ServiceProbeSpec.parse("tcp://[::1]:\(listener.port)").get()
        let result = await ServiceProber().probe(spec, timeout: .seconds(2))
        #expect(result.ok, "\(result.detail)")
        #expect(result.detail == "connected")
        // The same port on IPv4 has nobody.
        let v4 = await ServiceProber().probe(ServiceProbeSpec(kind: .tcp, host: "127.0.0.1", port: listener.port), timeout: .seconds(2))
        #expect(!v4.ok)
    }

    /// `localhost` answering `::1` and `127.0.0.1` (as /etc/hosts has it on most hosts; the resolver gives that answer
    /// here so the test does not depend on this machine's /etc/hosts): a service listening on only one of the two
    /// addresses is reached either way, and with neither the failure names both.
    @Test func aNameIsTriedOnEveryAddressItResolvesTo() async throws {
        let v4Only = try Listener()
        defer { v4Only.close() }
        let v6Only = try Listener(ipv6Loopback: ())
        defer { v6Only.close() }
        let prober = ServiceProber(group: nil, resolver: { loop in LoopbackResolver(loop: loop) })
        for (port, family) in [(v4Only.port, "127.0.0.1 only"), (v6Only.port, "::1 only")] {
            let spec = try ServiceProbeSpec.parse("tcp://localhost:\(port)").get()
            let result = await prober.probe(spec, timeout: .seconds(2))
            #expect(result.ok, "\(family): \(result.detail)")
            #expect(result.detail == "connected")
            #expect(result.target == "localhost:\(port)")
            let redis = await prober.probe(try ServiceProbeSpec.parse("redis://localhost:\(port)").get(), timeout: .milliseconds(300))
            // Connected (on whichever address listens), then no answer: the listener accepts but never writes.
            #expect(redis.detail == "no answer within 0.3 s", "\(family)")
        }
        let closed = try Listener()
        let closedPort = closed.port
        closed.close()
        let refused = await prober.probe(ServiceProbeSpec(kind: .tcp, host: "localhost", port: closedPort), timeout: .seconds(2))
        #expect(!refused.ok)
        #expect(refused.detail == "::1: connection refused; 127.0.0.1: connection refused")
    }

    @Test func probeAddressesParseAndRejectNonsense() throws {
        let http = try ServiceProbeSpec.parse("http://[::1]:8080/health?full=1").get()
        #expect(http == ServiceProbeSpec(kind: .http, host: "::1", port: 8080, path: "/health?full=1"))
        #expect(http.description == "http://[::1]:8080/health?full=1")
        #expect(try ServiceProbeSpec.parse("redis://127.0.0.1:6379").get() == ServiceProbeSpec(kind: .redis, host: "127.0.0.1", port: 6379))
        // IPv6 literals in brackets, as in `[2001:db8::10]:5432`.
        #expect(try ServiceProbeSpec.parse("postgres://[2001:db8::10]:5432").get() == ServiceProbeSpec(kind: .postgres, host: "2001:db8::10", port: 5432))
        #expect(try ServiceProbeSpec.parse("tcp://[::1]:22").get().description == "tcp://[::1]:22")
        for bad in ["127.0.0.1:22", "ftp://h:21", "tcp://h", "tcp://h:0", "tcp://h:70000", "tcp://:22", "http://h:80/a b"] {
            if case .success = ServiceProbeSpec.parse(bad) { Issue.record("\(bad) should not parse") }
        }
    }

    @Test func globs() {
        #expect(globMatches("postgresql@*.service", "postgresql@15-main.service"))
        #expect(!globMatches("postgresql@*.service", "postgresql.service"))
        #expect(globMatches("php*-fpm.service", "php8.2-fpm.service"))
        #expect(globMatches("a?c", "abc"))
        #expect(!globMatches("a?c", "ac"))
        #expect(globMatches("*", ""))
    }
}

@Suite("services: Pss read as often as its cost allows")
struct ProportionalSetSizesTests {
    static let mebibyte: UInt64 = 1 << 20
    static let gibibyte: UInt64 = 1 << 30

    @Test func aSmallProcessIsReadAgainAtTheNextCollection() {
        var sizes = ProportionalSetSizes()
        sizes.record(pid: 100, startTicks: 5, pssBytes: 4_096, now: 10)
        sizes.endCollection()
        // 50 MiB resident: reused for 50/1024 × 10 s = 0.49 s, so a 1 s interval reads it every time.
        #expect(sizes.reusable(pid: 100, startTicks: 5, residentBytes: 50 * Self.mebibyte, now: 11) == nil)
        #expect(sizes.reusable(pid: 100, startTicks: 5, residentBytes: 50 * Self.mebibyte, now: 10.48) == .some(4_096))
    }

    @Test func aLargeProcessIsReadEveryTenSecondsPerGiBAtMostEveryFiveMinutes() {
        var sizes = ProportionalSetSizes()
        sizes.record(pid: 7, startTicks: 1, pssBytes: 3 * Self.gibibyte, now: 100)
        sizes.endCollection()
        // 4 GiB resident now: 40 s.
        #expect(sizes.reusable(pid: 7, startTicks: 1, residentBytes: 4 * Self.gibibyte, now: 101) == .some(3 * Self.gibibyte))
        #expect(sizes.reusable(pid: 7, startTicks: 1, residentBytes: 4 * Self.gibibyte, now: 139.9) == .some(3 * Self.gibibyte))
        #expect(sizes.reusable(pid: 7, startTicks: 1, residentBytes: 4 * Self.gibibyte, now: 140) == nil)
        // The lifetime follows the process's size now: shrunk to 1 GiB, the 40 s old read is due.
        #expect(sizes.reusable(pid: 7, startTicks: 1, residentBytes: Self.gibibyte, now: 139) == nil)
        // 64 GiB would mean 640 s: capped at 300 s. (A saturated size from absurd page counts is no different.)
        #expect(sizes.reusable(pid: 7, startTicks: 1, residentBytes: 64 * Self.gibibyte, now: 399.9) == .some(3 * Self.gibibyte))
        #expect(sizes.reusable(pid: 7, startTicks: 1, residentBytes: .max, now: 400) == nil)
        // A clock that went backwards reads again.
        #expect(sizes.reusable(pid: 7, startTicks: 1, residentBytes: 4 * Self.gibibyte, now: 99) == nil)
    }

    @Test func aReusedPIDOrAProcessNoLongerAskedAboutIsReadAfresh() {
        var sizes = ProportionalSetSizes()
        sizes.record(pid: 7, startTicks: 1, pssBytes: 1_000, now: 100)
        sizes.record(pid: 8, startTicks: 1, pssBytes: nil, now: 100)
        sizes.endCollection()
        // Another process with PID 7 (another start time).
        #expect(sizes.reusable(pid: 7, startTicks: 2, residentBytes: 4 * Self.gibibyte, now: 101) == nil)
        // An unreadable file is not tried again before its time either: known, without a value.
        #expect(sizes.reusable(pid: 8, startTicks: 1, residentBytes: 4 * Self.gibibyte, now: 101) == .some(nil))
        sizes.endCollection()
        // A collection that asks only about PID 8 forgets PID 7.
        #expect(sizes.reusable(pid: 8, startTicks: 1, residentBytes: 4 * Self.gibibyte, now: 102) == .some(nil))
        sizes.endCollection()
        #expect(sizes.reusable(pid: 7, startTicks: 1, residentBytes: 4 * Self.gibibyte, now: 103) == nil)
    }

    @Test func theTotalReadsTheDueFilesAndAddsTheReusedOnes() throws {
        let reader = try ProcFileReader(root: capture("step1").procRoot)
        func nginx(_ pid: Int, pages: UInt64) -> ProcessStat {
            ProcessStat(pid: pid, comm: "nginx", state: UInt8(ascii: "S"), ppid: 1, cpuTicks: 0, threads: 1, startTicks: 9, rssPages: pages)
        }
        var sizes = ProportionalSetSizes()
        // (2646 + 1100 + 1100) KiB, read from the capture's smaps_rollup files.
        let small = [nginx(2314, pages: 1654), nginx(2318, pages: 998), nginx(2319, pages: 966)]
        #expect(sizes.total(small, pageSize: 4096, now: 50, reader: reader) == 4_962_304)
        // A PID without the file adds nothing; none readable at all is nil.
        let gone = nginx(999_999, pages: 10)
        #expect(sizes.total(small + [gone], pageSize: 4096, now: 51, reader: reader) == 4_962_304)
        #expect(sizes.total([gone], pageSize: 4096, now: 52, reader: reader) == nil)
        sizes.endCollection()
        // The step0 files of the same processes hold (2070 + 1015 + 1015) KiB: a process that reports 2 GiB resident
        // keeps its step1 read for 20 s, the small ones are read again.
        let earlier = try ProcFileReader(root: capture("step0").procRoot)
        let mixed = [nginx(2314, pages: 524_288), nginx(2318, pages: 998), nginx(2319, pages: 966)]
        #expect(sizes.total(mixed, pageSize: 4096, now: 60, reader: earlier) == (2646 + 1015 + 1015) * 1024)
        #expect(sizes.total(mixed, pageSize: 4096, now: 71, reader: earlier) == (2070 + 1015 + 1015) * 1024)
    }
}

/// A listening TCP socket on 127.0.0.1 that accepts nothing itself (the kernel completes handshakes into its backlog).
private final class Listener {
    let fd: Int32
    let port: Int

    /// Listening on `[::1]` only, on a port of its own.
    init(ipv6Loopback: Void) throws {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        address.sin6_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw HostFileError(path: "socket", errno: errno, operation: "bind") }
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.port = Int(UInt16(bigEndian: address.sin6_port))
    }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw HostFileError(path: "socket", errno: errno, operation: "bind") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}

