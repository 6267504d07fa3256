//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import GRDB
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `viworks-bench history [days] [interval-seconds…]`: fills a fresh history database with `days` simulated days of
/// the agent's default series (the names, labels and kinds one collection of every built-in collector yields on
/// this host), then reports bytes per sample on disk, ingest rate and 30-day query times.
///
/// Values follow each series' nature, as collected: percentages and loads wander with 2 decimals, counters grow by a
/// noisy rate, byte gauges move in 4 KiB pages, sizes and totals are constant, uptime grows with the clock,
/// temperatures move in whole degrees; timestamps carry ±2 ms of scheduling jitter.
enum HistoryBench {
    static func run(arguments: [String]) async throws {
        let days = arguments.first.flatMap(Int.init) ?? 30
        let intervals = arguments.dropFirst().compactMap(Int.init)
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let context = CollectorContext(paths: HostPaths(), logger: logger, timestamp: .now(), monotonicSeconds: MonotonicClock.bootTimeSeconds())
        var template: [MetricSample] = []
        for collector in CollectorCatalog.builtins(configuration: AgentConfiguration()) {
            // Twice, so that rates (CPU, network) exist.
            _ = try? await collector.collect(context)
            try? await Task.sleep(for: .milliseconds(200))
            let later = CollectorContext(paths: HostPaths(), logger: logger, timestamp: .now(), monotonicSeconds: MonotonicClock.bootTimeSeconds())
            template += (try? await collector.collect(later).samples) ?? []
        }
        var seen: Set<SeriesKey> = []
        template = template.filter { seen.insert(SeriesKey(name: $0.name, labels: $0.labels)).inserted && $0.value.isFinite }
        print("viworks-bench history: \(template.count) series (one collection of every built-in collector on this host), \(days) simulated days")
        for interval in intervals.isEmpty ? [30, 1] : intervals {
            try await simulate(template: template, days: days, interval: interval)
        }
    }

    /// The value model of one series.
    struct Model {
        enum Kind { case constant, percent, counter(Double), bytes, uptime, load, celsius, integer }
        var kind: Kind
        var value: Double

        init(_ sample: MetricSample) {
            value = sample.value
            let name = sample.name
            if sample.kind == .counter || name.hasSuffix("_total") {
                kind = .counter(name.contains("bytes") ? 40_000 : (name.contains("packets") ? 60 : 0.01))
            } else if name.hasSuffix("_percent") {
                kind = .percent
            } else if name.contains("uptime") {
                kind = .uptime
            } else if name.hasPrefix("viworks_load") && !name.contains("tasks") {
                kind = .load
            } else if name.hasSuffix("_celsius") {
                kind = .celsius
            } else if name.hasSuffix("_bytes") && !(name.contains("total") || name.contains("size")) {
                kind = .bytes
            } else if name.contains("tasks") {
                kind = .integer
            } else {
                kind = .constant
            }
        }

        mutating func next(_ rng: inout SplitMix64, interval: Double) -> Double {
            func unit() -> Double { Double(rng.next() % 1_000_001) / 1_000_000 }
            switch kind {
            case .constant: break
            case .percent: value = min(100, max(0, ((value + (unit() - 0.5) * 4) * 100).rounded() / 100))
            case .counter(let rate): value += (rate * interval * (0.5 + unit())).rounded()
            case .bytes: value = max(0, value + Double(Int(rng.next() % 201) - 100) * 4096)
            case .uptime: value = ((value + interval + (unit() - 0.5) * 0.004) * 100).rounded() / 100
            case .load: value = max(0, ((value + (unit() - 0.5) * 0.2) * 100).rounded() / 100)
            case .celsius: if rng.next() % 4 == 0 { value = max(20, min(90, value + (unit() < 0.5 ? -1 : 1))) }
            case .integer: value = max(1, value + Double(Int(rng.next() % 5) - 2))
            }
            return value
        }
    }

    static func simulate(template: [MetricSample], days: Int, interval: Int) async throws {
        let directory = "/tmp/viworks-bench-history-\(getpid())-\(interval)"
        let path = directory + "/history.db"
        let database = try HistoryDatabase(path: path)
        let store = HistoryStore(database: database)
        var settings = HistorySettings()
        settings.retention = .seconds(Int64(days) * 86_400)
        let end: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
        let start = end - Int64(days) * 86_400_000
        let writer = HistoryWriter(
            store: store, bus: nil, settings: settings, clock: ContinuousClock(), wallClock: { Timestamp(nanosecondsSinceEpoch: end * 1_000_000) },
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        var models = template.map(Model.init)
        var rng = SplitMix64(seed: 42)
        let rounds = Int64(days) * 86_400 / Int64(interval)
        // Flush as the agent does: every 30 s of simulated time.
        let roundsPerFlush = max(1, 30 / interval)
        let began = ContinuousClock.now
        var samples = 0
        for round in 0..<rounds {
            let time = start + round * Int64(interval) * 1000 + Int64(rng.next() % 5) - 2
            var batch = MetricBatch(source: "bench", timestamp: Timestamp(nanosecondsSinceEpoch: time * 1_000_000), samples: template)
            for index in batch.samples.indices { batch.samples[index].value = models[index].next(&rng, interval: Double(interval)) }
            writer.record(batch)
            samples += batch.samples.count
            if round % Int64(roundsPerFlush) == 0 { try await writer.flush() }
        }
        try await writer.flush()
        let ingest = ContinuousClock.now - began
        _ = try await database.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        let statistics = try await store.blockStatistics()
        let (blockTable, fileBytes) = try await tableBytes(database)
        print("")
        print("interval \(interval) s: \(samples) samples, \(statistics.blocks) blocks")
        print("  tier 0 block payload      \(fmt(Double(statistics.bytes) / Double(samples), 3)) B/sample")
        print("  tier 0 blocks table       \(fmt(Double(blockTable) / Double(samples), 3)) B/sample (pages of the blocks table and its index)")
        print("  whole file (all tiers)    \(fmt(Double(fileBytes) / Double(samples), 3)) B/sample, \(fmt(Double(fileBytes) / 1_048_576, 1)) MiB")
        print("  ingest (record + flush)   \(fmt(Double(samples) / seconds(ingest), 0)) samples/s")
        // 30-day queries of one series (the CPU usage), median of 5.
        let cpu = try await store.series(named: "viworks_cpu_usage_percent").first { $0.key.labels.isEmpty }
        if let cpu {
            let reader = HistoryReader(store: store, settings: settings)
            for (label, step) in [("1 h step", Int64(3600) as Int64?), ("full resolution", nil)] {
                let query = HistoryQuery(from: end - 30 * 86_400_000, to: end, step: step)
                let plan = HistoryPlanner.plan(query, now: end, settings: settings)
                var times: [Double] = []
                var points = 0
                for _ in 0..<5 {
                    let t0 = ContinuousClock.now
                    points = try await reader.points(series: cpu.id, query: query, plan: plan).count
                    times.append(seconds(ContinuousClock.now - t0) * 1000)
                }
                print("  30-day query, \(label): \(points) points from tier \(plan.tier.rawValue), \(fmt(times.sorted()[2], 2)) ms (median of 5)")
            }
        }
        _ = unlink(path)
        _ = unlink(path + "-wal")
        _ = unlink(path + "-shm")
        _ = rmdir(directory)
    }

    /// Bytes of the pages of the blocks table and its unique index (dbstat), and the file size.
    static func tableBytes(_ database: HistoryDatabase) async throws -> (Int64, Int64) {
        let pages = try await database.pool.read { db -> Int64 in
            let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            let count =
                (try? Int64.fetchOne(
                    db, sql: "SELECT count(*) FROM dbstat WHERE name = 'blocks' OR name LIKE 'sqlite_autoindex_blocks%'")) ?? nil
            return (count ?? 0) * pageSize
        }
        return (pages, database.fileBytes())
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func fmt(_ value: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return places == 0 ? "\(Int(rounded))" : "\(rounded)"
    }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
