//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import AgentServer
import Logging

/// `swift run -c release viworks-bench [iterations]`: the cost of the agent's hot paths, for the numbers in
/// docs/benchmarks.md. Prints one line per case: ns per operation (median of 5 rounds), and per metric sample.
@main
struct Bench {
    static func main() async throws {
        let arguments = CommandLine.arguments
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
        let collectors = CollectorCatalog.builtins(configuration: configuration)
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
        try await measure("collect: all eight collectors (live)", iterations: iterations / 4, samples: allSamples) {
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
