//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `viworks-bench scaling [rounds]`: how the costs that depend on the size of the host grow with it. Each case runs a
/// collector (or the history writer) over a synthetic host of a small and of a large size and prints the time per
/// collection, per item (process, interface, mount, series) and the ratio of the per-item figures: about 1 when the
/// cost grows linearly, the size ratio (10) when it grows quadratically.
///
/// The synthetic trees live in a temporary directory and are built from this machine's own files as templates:
/// every live `/proc/PID/{stat,status,cmdline}` copied under new PIDs (1,000 and 10,000 processes), `/proc/net/dev`
/// with 50 and 500 interfaces shaped like this host's (with `/sys/class/net/*/type`), mountinfo with 20 and 200 ext4
/// mounts of real directories (so each `statvfs` is a real call), and 50 and 500 history series. Files on a disk or
/// tmpfs cost the kernel less to read than procfs generates them, so these figures are the agent's own share.
enum ScalingBench {
    static func run(arguments: [String]) async throws {
        let rounds = arguments.first.flatMap(Int.init) ?? 20
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let root = "/tmp/viworks-bench-scaling-\(getpid())"
        mkdir(root, 0o755)
        defer { Bench.removeTree(root) }
        print("viworks-bench scaling: median of \(rounds) collections per size (after 2 warm-up collections)")
        print(Bench.pad("case", 46) + Bench.pad("items", 8) + Bench.pad("us/collect", 12) + Bench.pad("us/item", 10) + "per-item ratio (large/small)")

        let templates = liveProcessTemplates()
        var rows: [(String, Int, Double)] = []

        for count in [1_000, 10_000] {
            let tree = root + "/processes-\(count)"
            try makeProcessTree(tree, count: count, templates: templates)
            let paths = HostPaths(fixtureRoot: tree)
            let processes = ProcessesCollector()
            rows.append(("processes collector", count, try await perCollection(rounds) { monotonic in
                _ = try await processes.collect(CollectorContext(paths: paths, logger: logger, timestamp: .now(), monotonicSeconds: monotonic))
            }))
            // The default services (nginx, postgresql, redis, sshd, cron…) found by process name, as without systemd.
            var settings = ServicesSettings()
            settings.systemd = .off
            settings.probes = false
            let services = ServicesCollector(settings: settings)
            rows.append(("services collector, /proc scan by name", count, try await perCollection(rounds) { monotonic in
                _ = try await services.collect(CollectorContext(paths: paths, logger: logger, timestamp: .now(), monotonicSeconds: monotonic))
            }))
            Bench.removeTree(tree)
        }

        for count in [50, 500] {
            let tree = root + "/network-\(count)"
            try makeNetworkTree(tree, count: count)
            let paths = HostPaths(fixtureRoot: tree)
            let network = NetworkCollector()
            rows.append(("network collector (interfaces)", count, try await perCollection(rounds) { monotonic in
                _ = try await network.collect(CollectorContext(paths: paths, logger: logger, timestamp: .now(), monotonicSeconds: monotonic))
            }))
        }

        for count in [20, 200] {
            let tree = root + "/disk-\(count)"
            try makeMountTree(tree, count: count)
            // The tree's mountinfo, but real statvfs calls: a running-kernel view of a synthetic mount table.
            let paths = HostPaths(procRoot: tree + "/proc", sysRoot: tree + "/sys", rootfs: "/")
            let disk = DiskCollector()
            rows.append(("disk collector (mounts, real statvfs)", count, try await perCollection(rounds) { monotonic in
                _ = try await disk.collect(CollectorContext(paths: paths, logger: logger, timestamp: .now(), monotonicSeconds: monotonic))
            }))
        }

        for count in [50, 500] {
            let directory = root + "/history-\(count)"
            mkdir(directory, 0o755)
            let database = try HistoryDatabase(path: directory + "/history.db")
            let store = HistoryStore(database: database)
            let start: Int64 = 1_767_225_600_000
            let writer = HistoryWriter(
                store: store, bus: nil, settings: HistorySettings(), clock: ContinuousClock(),
                wallClock: { Timestamp(nanosecondsSinceEpoch: (start + 86_400_000) * 1_000_000) }, logger: logger)
            let template = (0..<count).map { index in
                MetricSample("viworks_bench_series", .gauge, Double(index), labels: [MetricLabel("series", "s\(index)"), MetricLabel("host", "bench")])
            }
            rows.append(("history: record + flush one value per series", count, try await perCollection(rounds) { monotonic in
                var batch = MetricBatch(
                    source: "bench", timestamp: Timestamp(nanosecondsSinceEpoch: (start + Int64(monotonic) * 1000) * 1_000_000), samples: template)
                for index in batch.samples.indices { batch.samples[index].value += monotonic.truncatingRemainder(dividingBy: 7) }
                writer.record(batch)
                _ = try await writer.flush()
            }))
        }

        var index = 0
        while index + 1 < rows.count {
            // Rows come in pairs of one case: small size, then large.
            let (name, small, smallMicros) = rows[index]
            var large = index + 1
            while large < rows.count, rows[large].0 != name { large += 1 }
            if large < rows.count {
                let (_, big, bigMicros) = rows[large]
                let ratio = (bigMicros / Double(big)) / (smallMicros / Double(small))
                printRow(name, small, smallMicros, nil)
                printRow(name, big, bigMicros, ratio)
                rows.remove(at: large)
            }
            index += 1
        }
    }

    static func printRow(_ name: String, _ items: Int, _ micros: Double, _ ratio: Double?) {
        let perItem = micros / Double(items)
        print(
            Bench.pad(name, 46) + Bench.pad(String(items), 8) + Bench.pad(format(micros), 12) + Bench.pad(format(perItem, digits: 3), 10)
                + (ratio.map { format($0, digits: 2) } ?? ""))
    }

    static func format(_ value: Double, digits: Int = 1) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return String(rounded)
    }

    /// Median microseconds of one call of `body` over `rounds` calls, after two warm-up calls; `body` gets a
    /// monotonic second that grows by one per call (collectors compute rates against it).
    static func perCollection(_ rounds: Int, _ body: (Double) async throws -> Void) async throws -> Double {
        var monotonic = 1_000.0
        for _ in 0..<2 {
            monotonic += 1
            try await body(monotonic)
        }
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<max(1, rounds) {
            monotonic += 1
            let start = clock.now
            try await body(monotonic)
            times.append(start.duration(to: clock.now).secondsDouble * 1e6)
        }
        return times.sorted()[times.count / 2]
    }

    // MARK: - Synthetic trees

    struct ProcessTemplate {
        var stat: String
        var status: String
        var cmdline: [UInt8]
    }

    /// `stat`, `status` and `cmdline` of every process of this machine (kernel threads included, as on a real host).
    static func liveProcessTemplates() -> [ProcessTemplate] {
        var templates: [ProcessTemplate] = []
        for name in (try? HostFile.list("/proc")) ?? [] where name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let stat = HostFile.readIfPresent("/proc/\(name)/stat"), let status = HostFile.readIfPresent("/proc/\(name)/status") else { continue }
            let cmdline = HostFile.readIfPresent("/proc/\(name)/cmdline").map { Array($0.utf8) } ?? []
            templates.append(ProcessTemplate(stat: stat, status: status, cmdline: cmdline))
        }
        return templates
    }

    static func makeProcessTree(_ tree: String, count: Int, templates: [ProcessTemplate]) throws {
        mkdir(tree, 0o755)
        mkdir(tree + "/proc", 0o755)
        for file in ["stat", "uptime"] { try Bench.write(tree + "/proc/" + file, HostFile.read("/proc/" + file)) }
        guard !templates.isEmpty else { return }
        for index in 0..<count {
            let template = templates[index % templates.count]
            let pid = 100_000 + index
            let directory = tree + "/proc/\(pid)"
            mkdir(directory, 0o755)
            guard let space = template.stat.firstIndex(of: " ") else { continue }
            try Bench.write(directory + "/stat", "\(pid)" + template.stat[space...])
            try Bench.write(directory + "/status", template.status)
            let fd = open(directory + "/cmdline", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if fd >= 0 {
                HostFile.writeAll(fd, template.cmdline)
                close(fd)
            }
        }
    }

    /// `/proc/net/dev` with `count` interfaces: this host's lines, repeated under veth names, and each one's `type`.
    static func makeNetworkTree(_ tree: String, count: Int) throws {
        let live = try HostFile.read("/proc/net/dev").split(separator: "\n", omittingEmptySubsequences: true)
        let header = live.prefix(2)
        let bodies = live.dropFirst(2).compactMap { line -> Substring? in line.firstIndex(of: ":").map { line[line.index(after: $0)...] } }
        var text = header.joined(separator: "\n") + "\n"
        for dir in ["", "/proc", "/proc/net", "/sys", "/sys/class", "/sys/class/net"] { mkdir(tree + dir, 0o755) }
        for index in 0..<count {
            let name = index == 0 ? "lo" : "veth\(String(index, radix: 16))"
            let body = bodies.isEmpty ? " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0" : bodies[index % bodies.count]
            text += (name.count < 6 ? String(repeating: " ", count: 6 - name.count) : "") + name + ":" + body + "\n"
            mkdir(tree + "/sys/class/net/" + name, 0o755)
            try Bench.write(tree + "/sys/class/net/" + name + "/type", index == 0 ? "772\n" : "1\n")
        }
        try Bench.write(tree + "/proc/net/dev", text)
    }

    /// A mountinfo of `count` ext4 filesystems mounted on real directories of the tree.
    static func makeMountTree(_ tree: String, count: Int) throws {
        for dir in ["", "/proc", "/proc/self", "/sys", "/mnt"] { mkdir(tree + dir, 0o755) }
        var text = ""
        for index in 0..<count {
            let point = tree + "/mnt/volume\(index)"
            mkdir(point, 0o755)
            text += "\(100 + index) 1 254:\(index) / \(point) rw,relatime shared:\(index + 1) - ext4 /dev/vd\(index) rw\n"
        }
        try Bench.write(tree + "/proc/self/mountinfo", text)
    }
}
