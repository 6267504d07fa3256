//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import AgentRuntime

/// CPU ticks of processes at the previous collection, keyed by PID and start time (a reused PID is another process).
struct ProcessCPUHistory: Sendable {
    struct Key: Hashable, Sendable {
        var pid: Int
        var startTicks: UInt64
    }

    private var ticks: [Key: UInt64] = [:]
    private var monotonicSeconds: Double?

    /// Percent of one CPU of each process over the interval since the previous call (nil for processes not seen before,
    /// and for all of them on the first call); remembers this table for the next call.
    mutating func percentages(_ table: ProcessTable, ticksPerSecond: Double) -> [Double?] {
        let elapsed = monotonicSeconds.map { table.monotonicSeconds - $0 }
        var next: [Key: UInt64] = [:]
        next.reserveCapacity(table.processes.count)
        var result: [Double?] = []
        result.reserveCapacity(table.processes.count)
        for process in table.processes {
            let key = Key(pid: process.pid, startTicks: process.startTicks)
            next[key] = process.cpuTicks
            if let elapsed, elapsed > 0, let before = ticks[key], process.cpuTicks >= before {
                result.append((Double(process.cpuTicks - before) / ticksPerSecond / elapsed * 100 * 100).rounded() / 100)
            } else {
                result.append(nil)
            }
        }
        ticks = next
        monotonicSeconds = table.monotonicSeconds
        return result
    }
}

/// The `processes` collector: the process table summarised (counts by state, threads) and the top processes by CPU and
/// by memory, for `GET /api/v1/processes`. Reads `/proc/[0-9]*/stat` (one read per process); command lines and uids
/// only for the processes listed (``ProcessDescriptions``).
public actor ProcessesCollector: Collector {
    public nonisolated let descriptor = CollectorDescriptor(
        id: "processes", isCore: false, defaultTimeout: .seconds(10),
        reads: [.proc("stat"), .proc("[0-9]*/stat"), .proc("[0-9]*/status"), .proc("[0-9]*/cmdline", private: true)])
    private let settings: ProcessesSettings
    private var history = ProcessCPUHistory()
    private var descriptions = ProcessDescriptions()
    private let ticksPerSecond: Double
    private let pageSize: UInt64
    private var bootTime: (procRoot: String, seconds: Double?)?
    private let processTable: SharedProcessTable

    /// - Parameter processTable: the scan of `/proc` this collector shares with others (``CollectorCatalog``).
    public init(
        settings: ProcessesSettings = ProcessesSettings(), ticksPerSecond: Double? = nil, pageSize: UInt64? = nil,
        processTable: SharedProcessTable = SharedProcessTable()
    ) {
        self.settings = settings
        self.processTable = processTable
        self.ticksPerSecond = ticksPerSecond ?? HostConstants.ticksPerSecond
        self.pageSize = pageSize ?? HostConstants.pageSize
    }

    /// The PIDs whose command lines and uids are kept for the next collection (the processes listed by the last one).
    var describedPIDs: [Int] { descriptions.keys.map(\.pid).sorted() }

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let table = try processTable.table(for: descriptor.id, procRoot: context.paths.procRoot, monotonicSeconds: context.monotonicSeconds)
        let percents = history.percentages(table, ticksPerSecond: ticksPerSecond)
        if bootTime?.procRoot != context.paths.procRoot { bootTime = (context.paths.procRoot, HostClock.bootTimeEpochSeconds(paths: context.paths)) }
        let bootTime = self.bootTime?.seconds
        let report = Self.summarise(
            table, cpuPercents: percents, top: settings.top, pageSize: pageSize, ticksPerSecond: ticksPerSecond, bootTime: bootTime,
            reader: try ProcFileReader(root: context.paths.procRoot), descriptions: &descriptions)
        var samples = [
            MetricSample(MetricName.processes, .gauge, Double(report.total), help: "Processes listed in /proc"),
            MetricSample(MetricName.processesThreads, .gauge, Double(report.threads), help: "Threads of all processes (num_threads)"),
        ]
        for (state, count) in report.byState.sorted(by: { $0.key < $1.key }) {
            samples.append(
                MetricSample(MetricName.processesState, .gauge, Double(count), labels: [MetricLabel("state", state)], help: "Processes by state letter of /proc/PID/stat"))
        }
        return CollectorOutput(samples: samples, report: .processes(report))
    }

    static func summarise(
        _ table: ProcessTable, cpuPercents: [Double?], top: Int, pageSize: UInt64, ticksPerSecond: Double, bootTime: Double?,
        reader: borrowing ProcFileReader, descriptions: inout ProcessDescriptions
    ) -> ProcessesReport {
        var countByState = [Int](repeating: 0, count: 256)
        var threads = 0
        for process in table.processes {
            countByState[Int(process.state)] += 1
            threads += process.threads
        }
        var byState: [String: Int] = [:]
        for (state, count) in countByState.enumerated() where count > 0 { byState[String(UnicodeScalar(UInt8(state)))] = count }
        // Highest first; the lower PID first among equals.
        let byCPU = Self.first(top, of: table.processes.indices.lazy.filter { (cpuPercents[$0] ?? 0) > 0 }) {
            (cpuPercents[$0] ?? 0, table.processes[$1].pid) > (cpuPercents[$1] ?? 0, table.processes[$0].pid)
        }
        let byMemory = Self.first(top, of: table.processes.indices) {
            (table.processes[$0].rssPages, table.processes[$1].pid) > (table.processes[$1].rssPages, table.processes[$0].pid)
        }
        // A process in both lists is read (command line, uid) once.
        var described: [Int: ProcessReport] = [:]
        func describe(_ index: Int) -> ProcessReport {
            if let known = described[index] { return known }
            let process = table.processes[index]
            let description = descriptions.describe(process, reader: reader, monotonicSeconds: table.monotonicSeconds)
            let report = ProcessReport(
                pid: process.pid, ppid: process.ppid, name: process.comm, command: description.command, state: process.stateLetter,
                uid: description.uid, cpuPercent: cpuPercents[index], memoryBytes: process.rssPages * pageSize, threads: process.threads,
                startedAt: bootTime.map { ServicesCollector.startTime(bootTime: $0, startTicks: process.startTicks, ticksPerSecond: ticksPerSecond) })
            described[index] = report
            return report
        }
        let report = ProcessesReport(
            total: table.processes.count, threads: threads, byState: byState, topByCPU: byCPU.map(describe), topByMemory: byMemory.map(describe))
        descriptions.keepOnly(Set(described.keys.map { ProcessCPUHistory.Key(pid: table.processes[$0].pid, startTicks: table.processes[$0].startTicks) }))
        return report
    }
}

extension ProcessesCollector {
    /// The first `count` of `indices` in the order of `ranksBefore` (a strict total order), as sorting them all and
    /// keeping a prefix would give, without sorting them all: each index is compared with the last one kept first.
    static func first(_ count: Int, of indices: some Sequence<Int>, by ranksBefore: (Int, Int) -> Bool) -> [Int] {
        var kept: [Int] = []
        kept.reserveCapacity(count + 1)
        guard count > 0 else { return kept }
        for index in indices {
            if kept.count == count, let last = kept.last, !ranksBefore(index, last) { continue }
            kept.insert(index, at: kept.firstIndex { ranksBefore(index, $0) } ?? kept.endIndex)
            if kept.count > count { kept.removeLast() }
        }
        return kept
    }
}

/// `sysconf` constants of the host.
enum HostConstants {
    /// `USER_HZ` (`_SC_CLK_TCK`), 100 on every Linux architecture in practice.
    static var ticksPerSecond: Double {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }

    /// The page size in bytes (`_SC_PAGESIZE`).
    static var pageSize: UInt64 {
        let size = sysconf(Int32(_SC_PAGESIZE))
        return size > 0 ? UInt64(size) : 4096
    }
}
