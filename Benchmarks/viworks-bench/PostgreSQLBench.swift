//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentOutputs
import AgentRuntime
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// `viworks-bench postgresql HOST PORT DATABASE [AGENTS] [SECONDS]`: the costs of `[outputs.postgresql]` against a
/// running PostgreSQL (user `postgres`, no password), for the note in docs/benchmarks.md.
///
/// 1. Agent side, per collection (1 `agent_metrics` row + 8 `service_status` rows): CPU µs to build the rows and store
///    them in the outbox (one SQLite transaction), and CPU µs to push them (the 24 h drain below, divided).
/// 2. A 24 h backlog at 30 s (2,880 collections, 25,920 rows) drained in batches of 1,000: wall time and agent CPU.
/// 3. AGENTS simulated agents (default 1,000) each pushing one collection per transaction, 16 connections, for SECONDS
///    (default 20): rows/s the database accepts, insert latency p50/p99, and the CPU the `postgres` processes used.
enum PostgreSQLBench {
    static let servicesPerCollection = 8

    static func run(arguments: [String]) async throws {
        guard arguments.count >= 3, let port = Int(arguments[1]) else {
            print("usage: viworks-bench postgresql HOST PORT DATABASE [AGENTS] [SECONDS]")
            return
        }
        let agents = arguments.count > 3 ? Int(arguments[3]) ?? 1000 : 1000
        let seconds = arguments.count > 4 ? Double(arguments[4]) ?? 20 : 20
        var settings = PostgreSQLOutputSettings()
        settings.enabled = true
        settings.host = arguments[0]
        settings.port = port
        settings.database = arguments[2]
        settings.timeout = .seconds(60)
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        // 1. Rows of a collection into the outbox.
        var directory = Array("/tmp/viworks-bench-outbox-XXXXXX".utf8CString)
        _ = directory.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        let outbox = try Outbox(path: String(decoding: directory.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/outbox.db")
        let limits = Outbox.Limits(maxRows: 10_000_000, maxAge: .seconds(366 * 86_400))
        let collections = 2880
        let start = Timestamp.now().nanosecondsSinceEpoch - Int64(collections) * 30_000_000_000
        let recordCPU = try cpu {
            for index in 0..<collections {
                let at = Timestamp(nanosecondsSinceEpoch: start + Int64(index) * 30_000_000_000)
                let snapshot = snapshot(index: index)
                try outbox.append([OutboxRow.metrics(snapshot, at: at)] + OutboxRow.services(snapshot, at: at), limits: limits, now: at)
            }
        }
        print("record: \(collections) collections, \(format(recordCPU / Double(collections) * 1e6)) µs CPU each (rows built + one SQLite transaction)")

        // 2. The 24 h backlog drained, batches of 1,000 rows.
        let database = PostgreSQLDatabase(settings: settings, agentID: "bench-drain", eventLoopGroup: group, logger: logger)
        let client = try database.makeClient()
        let runner = Task { await client.run() }
        _ = try await database.prepareSchema(client)
        let clock = ContinuousClock()
        let began = clock.now
        var pushed = 0
        let drainCPU = try await cpuAsync {
            while true {
                let rows = try outbox.waiting(limit: 1000)
                if rows.isEmpty { break }
                try await database.insert(rows, client: client)
                try outbox.markDelivered(through: rows[rows.count - 1].seq, at: .now())
                pushed += rows.count
            }
        }
        let drained = began.duration(to: clock.now).secondsDouble
        print(
            "drain: 24 h at 30 s = \(collections) collections, \(pushed) rows in \(format(drained)) s"
                + " (\(format(Double(pushed) / drained)) rows/s); agent CPU \(format(drainCPU)) s = \(format(drainCPU / Double(collections) * 1e6)) µs per collection")
        runner.cancel()

        // 3. Many agents at once: each transaction is one collection of one agent.
        let fleet = try PostgreSQLDatabase(settings: settings, agentID: "unused", eventLoopGroup: group, logger: logger).makeClient(maximumConnections: 16)
        let fleetRunner = Task { await fleet.run() }
        let postgresBefore = postgresCPUSeconds()
        let fleetStart = clock.now
        let deadline = fleetStart.advanced(by: .milliseconds(Int64(seconds * 1000)))
        let fleetSettings = settings
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { tasks in
            for worker in 0..<16 {
                tasks.addTask {
                    var latencies: [Double] = []
                    var index = worker
                    while clock.now < deadline {
                        let agentID = "bench-\(index % agents)"
                        let at = Timestamp(nanosecondsSinceEpoch: start + Int64(index / agents) * 30_000_000_000)
                        let snapshot = snapshot(index: index)
                        let rows = [OutboxRow.metrics(snapshot, at: at)] + OutboxRow.services(snapshot, at: at)
                        let one = PostgreSQLDatabase(settings: fleetSettings, agentID: agentID, eventLoopGroup: group, logger: logger)
                        let sent = clock.now
                        try await one.insert(rows, client: fleet)
                        latencies.append(sent.duration(to: clock.now).secondsDouble)
                        index += 16
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await part in tasks { all += part }
            return all.sorted()
        }
        let elapsed = fleetStart.duration(to: clock.now).secondsDouble
        let postgresCPU = postgresCPUSeconds() - postgresBefore
        fleetRunner.cancel()
        let rowsPerCollection = Double(1 + servicesPerCollection)
        let p50 = latencies.isEmpty ? 0 : latencies[latencies.count / 2]
        let p99 = latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
        print(
            "fleet: \(agents) agent ids, 16 connections, \(latencies.count) collections in \(format(elapsed)) s ="
                + " \(format(Double(latencies.count) / elapsed)) collections/s, \(format(Double(latencies.count) * rowsPerCollection / elapsed)) rows/s;"
                + " insert latency p50 \(format(p50 * 1000)) ms, p99 \(format(p99 * 1000)) ms;"
                + " postgres CPU \(format(postgresCPU / elapsed * 100)) % of one core"
                + " (\(agents) agents at 30 s need \(format(Double(agents) / 30)) collections/s)")
        try await group.shutdownGracefully()
    }

    /// A host's snapshot with figures that vary per collection and eight services.
    static func snapshot(index: Int) -> AgentSnapshot {
        var snapshot = AgentSnapshot()
        let wave = Double(index % 100)
        snapshot.apply(
            MetricBatch(
                source: "cpu", timestamp: .now(), samples: [],
                report: .cpu(CPUReport(usagePercent: 10 + wave * 0.37, perCore: [], cores: 4, brand: nil, frequencyMHz: nil))))
        snapshot.apply(
            MetricBatch(
                source: "memory", timestamp: .now(), samples: [],
                report: .memory(
                    MemoryReport(
                        totalBytes: 8 << 30, usedBytes: 2 << 30, availableBytes: 6 << 30, usagePercent: 25 + wave * 0.11, availableEstimated: false,
                        swapTotalBytes: 0, swapFreeBytes: 0))))
        snapshot.apply(
            MetricBatch(
                source: "load", timestamp: .now(), samples: [],
                report: .load(LoadReport(oneMinute: wave / 50, fiveMinutes: 0.71, fifteenMinutes: 0.33, runnableTasks: 1, totalTasks: 81))))
        snapshot.apply(MetricBatch(source: "uptime", timestamp: .now(), samples: [], report: .uptime(UptimeReport(uptimeSeconds: 86_400 + Double(index) * 30, idleSeconds: 0))))
        let services = (0..<servicesPerCollection).map { number in
            ServiceReport(name: "service-\(number)", status: number == 7 && index % 10 == 0 ? .stopped : .running, pid: 1000 + number, source: .proc)
        }
        snapshot.apply(MetricBatch(source: "services", timestamp: .now(), samples: [], report: .services(ServicesReport(services: services, source: .proc))))
        return snapshot
    }

    /// Process CPU seconds (user + system) spent in `body`.
    static func cpu(_ body: () throws -> Void) rethrows -> Double {
        let before = processCPUSeconds()
        try body()
        return processCPUSeconds() - before
    }

    static func cpuAsync(_ body: () async throws -> Void) async rethrows -> Double {
        let before = processCPUSeconds()
        try await body()
        return processCPUSeconds() - before
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// CPU seconds of every process named `postgres` on this machine (utime + stime of /proc/<pid>/stat).
    static func postgresCPUSeconds() -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = 0.0
        for entry in (try? HostFile.list("/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
            guard let stat = HostFile.readIfPresent("/proc/\(entry)/stat"), stat.contains("(postgres)"),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // Fields after the name: state is the 1st, utime the 12th, stime the 13th.
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            total += (user + system) / ticks
        }
        return total
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded))" : "\(rounded)"
    }
}
