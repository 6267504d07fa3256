//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentPlugins
import AgentRuntime
import AgentServer
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `swift run -c release viworks-bench [iterations]`: the cost of the agent's hot paths, for the numbers in
/// docs/benchmarks.md. Prints one line per case: ns per operation (median of 5 rounds), and per metric sample.
@main
struct Bench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        if arguments.count > 1, arguments[1] == "history" {
            try await HistoryBench.run(arguments: Array(arguments.dropFirst(2)))
            return
        }
        if arguments.count > 1, arguments[1] == "postgresql" {
            try await PostgreSQLBench.run(arguments: Array(arguments.dropFirst(2)))
            return
        }
        if arguments.count > 1, arguments[1] == "scaling" {
            try await ScalingBench.run(arguments: Array(arguments.dropFirst(2)))
            return
        }
        if arguments.count > 1, arguments[1] == "containers" {
            try await ContainersBench.run(arguments: Array(arguments.dropFirst(2)))
            return
        }
        let iterations = arguments.count > 1 ? Int(arguments[1]) ?? 20_000 : 20_000
        let fixture = Self.repositoryRoot() + "/Tests/AgentCollectorsTests/Fixtures/hosts/debian12-amd-epyc-vm"
        let fixturePaths = HostPaths(fixtureRoot: fixture)
        let texts = try [
            "stat": HostFile.read(fixturePaths.proc("stat")), "meminfo": HostFile.read(fixturePaths.proc("meminfo")),
            "loadavg": HostFile.read(fixturePaths.proc("loadavg")), "uptime": HostFile.read(fixturePaths.proc("uptime")),
            "net/dev": HostFile.read(fixturePaths.proc("net/dev")), "mountinfo": HostFile.read(fixturePaths.proc("self/mountinfo")),
        ]
        print("viworks-bench: \(iterations) iterations per round, median of 5 rounds")
        print(pad("case", 44) + pad("ns/op", 12) + pad("samples", 9) + "ns/sample")

        // Parsers over text already in memory: the pure cost of parsing the six core files.
        try await measure("parse: stat+meminfo+loadavg+uptime+net/dev+mountinfo", iterations: iterations, samples: 0) {
            _ = try ProcStatParser.parse(texts["stat"] ?? "")
            _ = try MeminfoParser.report(MeminfoParser.parse(texts["meminfo"] ?? ""))
            _ = try LoadavgParser.parse(texts["loadavg"] ?? "")
            _ = try UptimeParser.parse(texts["uptime"] ?? "")
            _ = try NetDevParser.parse(texts["net/dev"] ?? "")
            _ = try MountInfoParser.parse(texts["mountinfo"] ?? "")
        }

        // Full collections on the live host: read, parse, compute, build samples and report.
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let live = HostPaths()
        let configuration = AgentConfiguration()
        // The eight host collectors; services and processes are measured on their own below.
        let collectors = CollectorCatalog.builtins(configuration: configuration).filter { !["services", "processes"].contains($0.descriptor.id) }
        var coreSamples = 0
        var allSamples = 0
        let context = CollectorContext(paths: live, logger: logger, timestamp: .now(), monotonicSeconds: MonotonicClock.bootTimeSeconds())
        for collector in collectors {
            let count = try await collector.collect(context).samples.count
            allSamples += count
            if ["cpu", "memory", "load", "uptime", "network", "disk"].contains(collector.descriptor.id) { coreSamples += count }
        }
        let core = collectors.filter { ["cpu", "memory", "load", "uptime", "network", "disk"].contains($0.descriptor.id) }
        try await measure("collect: six core collectors (live /proc)", iterations: iterations / 4, samples: coreSamples) {
            let context = CollectorContext(paths: live, logger: logger, timestamp: .now(), monotonicSeconds: MonotonicClock.bootTimeSeconds())
            for collector in core { _ = try await collector.collect(context) }
        }
        for collector in collectors {
            let samples = try await collector.collect(context).samples.count
            try await measure("collect: \(collector.descriptor.id)", iterations: iterations / 4, samples: samples) {
                _ = try await collector.collect(CollectorContext(paths: live, logger: logger, timestamp: .now(), monotonicSeconds: MonotonicClock.bootTimeSeconds()))
            }
        }
        try await measure("collect: the eight host collectors (live)", iterations: iterations / 4, samples: allSamples) {
            let context = CollectorContext(paths: live, logger: logger, timestamp: .now(), monotonicSeconds: MonotonicClock.bootTimeSeconds())
            for collector in collectors { _ = try await collector.collect(context) }
        }

        // Encoding, done once per collection and then served from the cache.
        var snapshot = AgentSnapshot()
        var samples: [MetricSample] = []
        for collector in collectors {
            let output = try await collector.collect(context)
            samples += output.samples
            snapshot.apply(MetricBatch(source: collector.descriptor.id, timestamp: .now(), samples: output.samples, report: output.report))
        }
        let frozen = snapshot
        let allCollected = samples
        try await measure("encode: system_health+system_info JSON", iterations: iterations / 4, samples: 0) {
            _ = try APIDocuments.collectDocument(frozen)
        }
        try await measure("encode: /metrics exposition", iterations: iterations / 4, samples: allCollected.count) {
            _ = PrometheusExposition.render(allCollected)
        }

        try await pluginWire(iterations: iterations)
        try await processTable(iterations: iterations, logger: logger)
    }

    /// The processes and services collectors on a generated `/proc` of 1,000 processes (copies of the captured
    /// `debian12-services` processes under new PIDs: real stat, cmdline and status text) and on this machine; then
    /// the resident memory of the bench process before and after many cycles, to show it does not grow with them.
    static func processTable(iterations: Int, logger: Logger) async throws {
        let source = repositoryRoot() + "/Tests/AgentCollectorsTests/Fixtures/cases/processes/debian12-services/step0/proc"
        let root = "/tmp/viworks-bench-proc-\(getpid())"
        let templates = [1, 2314, 2318, 2319, 8217, 2444, 2445, 8219]
        mkdir(root, 0o755)
        mkdir(root + "/proc", 0o755)
        for file in ["stat", "uptime"] { try write(root + "/proc/" + file, HostFile.read(source + "/" + file)) }
        for index in 0..<1000 {
            let template = templates[index % templates.count]
            let pid = 10_000 + index
            let directory = root + "/proc/\(pid)"
            mkdir(directory, 0o755)
            let stat = try HostFile.read(source + "/\(template)/stat")
            guard let space = stat.firstIndex(of: " ") else { continue }
            try write(directory + "/stat", "\(pid)" + stat[space...])
            try write(directory + "/cmdline", HostFile.read(source + "/\(template)/cmdline"))
            try write(directory + "/status", HostFile.read(source + "/\(template)/status"))
        }
        defer { removeTree(root) }
        let paths = HostPaths(fixtureRoot: root)
        var settings = ServicesSettings()
        settings.systemd = .off
        settings.probes = false
        let services = ServicesCollector(settings: settings)
        let processes = ProcessesCollector()
        let fixtureContext = CollectorContext(paths: paths, logger: logger, timestamp: .now(), monotonicSeconds: 1)
        try await measure("processes: 1,000-process /proc (fixture)", iterations: iterations / 40, samples: 0) {
            _ = try await processes.collect(fixtureContext)
        }
        try await measure("services: 7 services, 1,000 processes (fixture)", iterations: iterations / 40, samples: 0) {
            _ = try await services.collect(fixtureContext)
        }
        let live = HostPaths()
        let liveCount = try ProcessTable.read(procRoot: "/proc", monotonicSeconds: 0).processes.count
        try await measure("processes: live /proc (\(liveCount) processes)", iterations: iterations / 40, samples: 0) {
            _ = try await processes.collect(CollectorContext(paths: live, logger: logger, timestamp: .now(), monotonicSeconds: MonotonicClock.bootTimeSeconds()))
        }
        try await measure("services: 7 services, live /proc, no probes", iterations: iterations / 40, samples: 0) {
            _ = try await services.collect(CollectorContext(paths: live, logger: logger, timestamp: .now(), monotonicSeconds: MonotonicClock.bootTimeSeconds()))
        }
        // Memory over cycles: warm up, then 5,000 more cycles of both collectors on the 1,000-process fixture.
        var monotonic = 2.0
        for _ in 0..<500 {
            monotonic += 1
            let context = CollectorContext(paths: paths, logger: logger, timestamp: .now(), monotonicSeconds: monotonic)
            _ = try await processes.collect(context)
            _ = try await services.collect(context)
        }
        let before = residentKiB()
        for _ in 0..<5000 {
            monotonic += 1
            let context = CollectorContext(paths: paths, logger: logger, timestamp: .now(), monotonicSeconds: monotonic)
            _ = try await processes.collect(context)
            _ = try await services.collect(context)
        }
        print("processes+services RSS after 500 cycles: \(before) KiB; after 5,500: \(residentKiB()) KiB")
    }

    static func write(_ path: String, _ text: some StringProtocol) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw HostFileError(path: path, errno: errno, operation: "open") }
        HostFile.writeAll(fd, Array(text.utf8))
        close(fd)
    }

    static func removeTree(_ path: String) {
        for name in (try? HostFile.list(path)) ?? [] {
            let full = path + "/" + name
            if unlink(full) != 0 { removeTree(full) }
        }
        rmdir(path)
    }

    /// The plugin wire decoder on one core (100 samples of 5 labels per line), then plugin output end to end:
    /// `cat` of a prepared file through a pipe, the framer, the decoder and the metrics bus.
    static func pluginWire(iterations: Int) async throws {
        var line = #"{"type":"metrics","samples":["#
        for index in 0..<100 {
            if index > 0 { line += "," }
            line += #"{"name":"app_requests_total","value":\#(1000 + index).5,"kind":"counter","labels":{"host":"web-\#(index % 7)","method":"GET","status":"200","route":"/api/v1/items","region":"eu-west-1"}}"#
        }
        line += "]}"
        let bytes = Array(line.utf8)
        let decoder = WireDecoder(pluginName: "bench")
        try await measure("plugin wire: decode 100 samples x 5 labels", iterations: iterations / 4, samples: 100) {
            _ = try decoder.decode(bytes)
        }

        // End to end through a pipe: hello + 20 000 lines of 100 samples (2 M samples), stream mode.
        let lines = 20_000
        let path = "/tmp/viworks-bench-plugin.ndjson"
        var file = Array(#"{"type":"hello","protocol":1}"#.utf8) + [0x0A]
        file.reserveCapacity((bytes.count + 1) * lines + 64)
        for _ in 0..<lines { file += bytes + [0x0A] }
        guard let handle = fopen(path, "w") else { return }
        _ = file.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        fclose(handle)
        let manifestText = "name = \"bench\"\ncommand = [\"/bin/cat\", \"\(path)\"]\nmode = \"stream\"\ninterval = \"60s\"\nmax_line_bytes = 1048576\n"
        guard case .success(let manifest) = PluginManifestLoader(defaults: PluginDefaults(checkOwnership: false)).parse(text: manifestText, file: "/tmp/bench.toml") else {
            print("plugin pipe: manifest did not load")
            return
        }
        let bus = MetricsBus()
        let stream = await bus.subscribe(name: "bench", bufferingNewest: 4096)
        let counter = Task {
            var samples = 0
            for await batch in stream { samples += batch.samples.count }
            return samples
        }
        let host = PluginHost(manifest: manifest, bus: bus, logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        let rssBefore = residentKiB()
        let clock = ContinuousClock()
        let start = clock.now
        _ = try? await host.run(child: nil)
        let elapsed = start.duration(to: clock.now).secondsDouble
        let delivered = host.handle.snapshot.samples
        await bus.finish()
        let seen = await counter.value
        print(
            "plugin pipe: \(delivered) samples in \(Int(elapsed * 1000)) ms = \(Int(Double(delivered) / elapsed)) samples/s "
                + "(subscriber saw \(seen)); RSS \(rssBefore / 1024) -> \(residentKiB() / 1024) MiB")
        _ = unlink(path)
    }

    static func residentKiB() -> Int {
        guard let text = HostFile.readIfPresent("/proc/self/status") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    static func measure(_ name: String, iterations: Int, samples: Int, _ body: @Sendable () async throws -> Void) async throws {
        var rounds: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<5 {
            let start = clock.now
            for _ in 0..<max(1, iterations) { try await body() }
            rounds.append(start.duration(to: clock.now).secondsDouble * 1e9 / Double(max(1, iterations)))
        }
        let median = rounds.sorted()[2]
        let perSample = samples > 0 ? String(Int(median / Double(samples))) : "-"
        print(pad(name, 44) + pad(String(Int(median)), 12) + pad(samples > 0 ? String(samples) : "-", 9) + perSample)
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    static func repositoryRoot() -> String {
        var path = #filePath
        for _ in 0..<3 {
            if let slash = path.lastIndex(of: "/") { path = String(path[..<slash]) }
        }
        return path
    }
}
