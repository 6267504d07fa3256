//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Foundation
import GRDB
import Logging
import ServiceLifecycleTestKit
import Testing

/// A fresh database in its own temporary directory.
func temporaryHistoryDatabase(_ name: String = #function) throws -> HistoryDatabase {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("viworks-history-\(UInt64.random(in: 0...UInt64.max))")
    return try HistoryDatabase(path: directory.appendingPathComponent("history.db").path)
}

/// The reference: buckets of `step` seconds over raw samples, computed the obvious way.
func referenceBuckets(_ samples: [HistorySample], from: Int64, to: Int64, step: Int64) -> [Int64: Aggregate] {
    let width = step * 1000
    let first = floorDiv(from, width) * width
    let last = floorDiv(to, width) * width + width
    var result: [Int64: Aggregate] = [:]
    for sample in samples where sample.milliseconds >= first && sample.milliseconds < last {
        let start = floorDiv(sample.milliseconds, width) * width
        if result[start] == nil { result[start] = Aggregate(sample) } else { result[start]?.add(sample) }
    }
    return result
}

struct HistoryStoreTests {
    let logger = Logger(label: "test")

    /// Irregular samples: a base interval with jitter, sometimes a gap, values that wander (2-decimal percentages).
    static func series(start: Int64, end: Int64, interval: Int64, seed: UInt64) -> [HistorySample] {
        var rng = SplitMix(seed: seed)
        var samples: [HistorySample] = []
        var time = start
        var value = 50.0
        while time < end {
            value = min(100, max(0, value + Double(Int(rng.next() % 1001) - 500) / 100))
            samples.append(HistorySample(milliseconds: time, value: (value * 100).rounded() / 100))
            time += interval + Int64(rng.next() % 400) - 200
            if rng.next() % 500 == 0 { time += interval * Int64(rng.next() % 40) }  // a gap (agent stopped)
        }
        return samples
    }

    @Test func writerStoresRawBlocksAndRollupsThatMatchTheSamples() async throws {
        let database = try temporaryHistoryDatabase()
        let store = HistoryStore(database: database)
        let writer = HistoryWriter(store: store, bus: nil, settings: HistorySettings(), clock: ContinuousClock(), logger: logger)
        let key = SeriesKey(name: "viworks_cpu_usage_percent", labels: [])
        let labelled = SeriesKey(name: "viworks_filesystem_usage_percent", labels: [MetricLabel("mount_point", "/"), MetricLabel("device", "/dev/vda1")])
        let start: Int64 = 1_750_000_000_000
        let samples = Self.series(start: start, end: start + 5 * 3_600_000, interval: 10_000, seed: 1)
        let other = Self.series(start: start, end: start + 5 * 3_600_000, interval: 30_000, seed: 2)
        var flushed = 0
        for (index, sample) in samples.enumerated() {
            writer.record(sample, series: key)
            if index < other.count { writer.record(other[index], series: labelled) }
            if index % 97 == 0 { flushed += try await writer.flush() }
        }
        for sample in other.dropFirst(samples.count) { writer.record(sample, series: labelled) }
        flushed += try await writer.flush()
        #expect(flushed > 0)

        let series = try await store.series()
        #expect(series.map(\.key) == [labelled, key].sorted())
        let id = try #require(series.first { $0.key == key }?.id)
        let raw = try await store.samples(series: id, from: .min, to: .max)
        #expect(raw.corruptBlocks == 0)
        BlockCodecTests.expectIdentical(raw.samples, samples)
        // Blocks were sealed at 240 samples (1800 samples → 8 blocks).
        let statistics = try await store.blockStatistics()
        #expect(statistics.samples == Int64(samples.count + other.count))
        // Per-minute and per-hour rollups equal the reference over the raw samples.
        for tier in RollupTier.allCases {
            let rows = try await store.rollups(tier, series: id, from: .min, to: .max)
            let reference = referenceBuckets(samples, from: samples[0].milliseconds, to: samples[samples.count - 1].milliseconds, step: tier.seconds)
            #expect(rows.count == reference.count)
            for row in rows {
                let expected = try #require(reference[row.start * 1000])
                #expect(row.aggregate.minimum == expected.minimum)
                #expect(row.aggregate.maximum == expected.maximum)
                #expect(row.aggregate.count == expected.count)
                #expect(row.aggregate.last == expected.last)
                #expect(abs(row.aggregate.sum - expected.sum) <= 1e-9 * max(1, abs(expected.sum)))
            }
        }
        #expect(try database.integrityCheck() == "ok")
    }

    @Test func queriesAcrossTierBoundariesEqualTheReferenceOverRawSamples() async throws {
        let database = try temporaryHistoryDatabase()
        let store = HistoryStore(database: database)
        var settings = HistorySettings()
        settings.retention = .seconds(2 * 86_400)
        settings.minuteRetention = .seconds(5 * 86_400)
        settings.hourRetention = .seconds(30 * 86_400)
        let now: Int64 = 1_760_000_000_000 + 12_345
        let writer = HistoryWriter(store: store, bus: nil, settings: settings, clock: ContinuousClock(), wallClock: { Timestamp(nanosecondsSinceEpoch: now * 1_000_000) }, logger: logger)
        let key = SeriesKey(name: "viworks_memory_usage_percent", labels: [])
        let samples = Self.series(start: now - 8 * 86_400_000, end: now, interval: 60_000, seed: 3)
        for (index, sample) in samples.enumerated() {
            writer.record(sample, series: key)
            if index % 500 == 0 { try await writer.flush() }
        }
        try await writer.flush()
        let deleted = try await writer.applyRetention()
        #expect(deleted.blocks > 0 && deleted.minuteRows > 0 && deleted.hourRows == 0)
        let id = try #require(try await store.series().first?.id)
        let reader = HistoryReader(store: store, settings: settings)

        // (from offset before now, span, step): raw-only, minute tier beyond raw retention, hour tier beyond minute
        // retention, unaligned bounds, steps that are and are not multiples of a tier, and ranges straddling horizons.
        let cases: [(Int64, Int64, Int64?, HistoryTier)] = [
            (3_600_000, 3_600_000, 30, .raw),
            (86_400_000 + 1234, 7_200_000, 90, .raw),
            (3 * 86_400_000 + 17, 86_400_000, 60, .minute),
            (3 * 86_400_000 + 17, 86_400_000, 300, .minute),
            (2 * 86_400_000 + 3_600_000, 2 * 3_600_000, 30, .minute),  // raw is gone there: step rounded up to 60
            (6 * 86_400_000 + 999, 2 * 86_400_000, 3600, .hour),
            (6 * 86_400_000 + 999, 2 * 86_400_000, 600, .hour),  // minute is gone there: step rounded up to 3600
            (7 * 86_400_000, 7 * 86_400_000, 86_400, .hour),
            (2 * 86_400_000 - 5000, 4 * 3_600_000, 7200, .hour),
            (3_600_000, 3_600_000, nil, .raw),
        ]
        for (offset, span, step, expectedTier) in cases {
            let query = HistoryQuery(from: now - offset, to: now - offset + span, step: step, function: .avg)
            let plan = HistoryPlanner.plan(query, now: now, settings: settings)
            #expect(plan.tier == expectedTier, "offset \(offset) step \(String(describing: step))")
            guard let effective = plan.step else {
                let points = try await reader.points(series: id, query: query, plan: plan)
                let expected = samples.filter { $0.milliseconds >= query.from && $0.milliseconds <= query.to }
                #expect(points.map(\.milliseconds) == expected.map(\.milliseconds))
                #expect(points.map(\.value) == expected.map(\.value))
                continue
            }
            let reference = referenceBuckets(samples, from: query.from, to: query.to, step: effective)
            #expect(!reference.isEmpty)
            for function in AggregateFunction.allCases {
                var q = query
                q.function = function
                let points = try await reader.points(series: id, query: q, plan: plan)
                #expect(points.map(\.milliseconds) == reference.keys.sorted(), "tier \(plan.tier) step \(effective) \(function)")
                for point in points {
                    let expected = try #require(reference[point.milliseconds]).value(function)
                    switch function {
                    case .avg, .sum: #expect(abs(point.value - expected) <= 1e-9 * max(1, abs(expected)))
                    default: #expect(point.value == expected, "\(function) at \(point.milliseconds)")
                    }
                }
            }
        }
    }

    @Test func retentionDeletesExactlyWhatIsDue() async throws {
        let database = try temporaryHistoryDatabase()
        let store = HistoryStore(database: database)
        let now: Int64 = 1_760_000_000_000
        let hour: Int64 = 3_600_000
        var flush = HistoryFlush()
        let key = SeriesKey(name: "m", labels: [])
        let gone = SeriesKey(name: "gone", labels: [])
        // Blocks ending just before, exactly at, and after the raw horizon (now - 10 h).
        for (start, end) in [(now - 12 * hour, now - 10 * hour - 1), (now - 11 * hour, now - 10 * hour), (now - 10 * hour - 5, now - 9 * hour)] {
            var encoder = BlockEncoder()
            encoder.append(HistorySample(milliseconds: start, value: 1))
            encoder.append(HistorySample(milliseconds: end, value: 2))
            flush.blocks.append(HistoryFlush.Block(series: key, kind: .gauge, encoder: encoder))
        }
        var old = BlockEncoder()
        old.append(HistorySample(milliseconds: now - 100 * hour, value: 1))
        flush.blocks.append(HistoryFlush.Block(series: gone, kind: .gauge, encoder: old))
        // Minute rows around the minute horizon (now - 20 h) and hour rows around the hour horizon (now - 40 h).
        let minuteHorizon = (now - 20 * hour) / 1000
        for start in [minuteHorizon - 120, minuteHorizon - 60, minuteHorizon - 59, minuteHorizon] {
            flush.minute[RollupKey(series: key, start: start)] = Aggregate(HistorySample(milliseconds: start * 1000, value: 1))
        }
        let hourHorizon = (now - 40 * hour) / 1000
        for start in [hourHorizon - 7200, hourHorizon - 3600, hourHorizon - 3599, hourHorizon] {
            flush.hour[RollupKey(series: key, start: start)] = Aggregate(HistorySample(milliseconds: start * 1000, value: 1))
        }
        try await store.write(flush)
        let result = try await store.applyRetention(now: now, raw: .seconds(10 * 3600), minute: .seconds(20 * 3600), hour: .seconds(40 * 3600))
        #expect(result == RetentionResult(blocks: 2, minuteRows: 2, hourRows: 2, series: 1, incidents: 0))
        let remaining = try await database.pool.read { db in
            (
                try Int64.fetchAll(db, sql: "SELECT end FROM blocks ORDER BY end"), try Int64.fetchAll(db, sql: "SELECT t FROM rollup_minute ORDER BY t"),
                try Int64.fetchAll(db, sql: "SELECT t FROM rollup_hour ORDER BY t"), try String.fetchAll(db, sql: "SELECT key FROM series")
            )
        }
        #expect(remaining.0 == [now - 10 * hour, now - 9 * hour])
        #expect(remaining.1 == [minuteHorizon - 59, minuteHorizon])
        #expect(remaining.2 == [hourHorizon - 3599, hourHorizon])
        #expect(remaining.3 == ["m"])
    }

    @Test func writerServiceFlushesFirstAfterFiveSecondsThenOnItsInterval() async throws {
        let database = try temporaryHistoryDatabase()
        let store = HistoryStore(database: database)
        let bus = MetricsBus()
        let clock = TestClock()
        // The default 30 s interval.
        let writer = HistoryWriter(store: store, bus: bus, settings: HistorySettings(), clock: clock, logger: logger)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.run() }
            while clock.sleeperCount == 0 { await Task.yield() }
            await bus.publish(MetricBatch(source: "cpu", timestamp: Timestamp(nanosecondsSinceEpoch: 1_000_000_000_000), samples: [MetricSample("a", .gauge, 1.5)]))
            while writer.statistics.batchesReceived < 1 { await Task.yield() }
            clock.advance(by: .milliseconds(4999))
            await settle(clock)
            #expect(writer.statistics.flushes == 0)
            #expect(!writer.hasAttemptedFlush)
            clock.advance(by: .milliseconds(1))
            #expect(await eventually { writer.statistics.flushes == 1 })
            #expect(await eventually { writer.hasAttemptedFlush })
            #expect(try await store.blockStatistics().samples == 1)
            // From then on every 30 s: nothing at 29.999 s after the first flush, the second at 30 s.
            await settle(clock)
            await bus.publish(MetricBatch(source: "cpu", timestamp: Timestamp(nanosecondsSinceEpoch: 1_000_001_000_000), samples: [MetricSample("a", .gauge, 2.5)]))
            while writer.statistics.batchesReceived < 2 { await Task.yield() }
            clock.advance(by: .milliseconds(29_999))
            await settle(clock)
            #expect(writer.statistics.flushes == 1)
            clock.advance(by: .milliseconds(1))
            #expect(await eventually { writer.statistics.flushes == 2 })
            #expect(try await store.blockStatistics().samples == 2)
            trigger.triggerGracefulShutdown()
            try await group.waitForAll()
            }
        }
    }

    @Test func writerServiceCountsAFirstFlushWithNothingToWriteAsAttempted() async throws {
        // The start-up memory release waits for the first flush; a writer that has nothing to write must not hold it.
        let database = try temporaryHistoryDatabase()
        let clock = TestClock()
        let writer = HistoryWriter(store: HistoryStore(database: database), bus: MetricsBus(), settings: HistorySettings(), clock: clock, logger: logger)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.run() }
            while clock.sleeperCount == 0 { await Task.yield() }
            #expect(!writer.hasAttemptedFlush)
            clock.advance(by: .seconds(5))
            #expect(await eventually { writer.hasAttemptedFlush })
            #expect(writer.statistics.flushes == 0)
            trigger.triggerGracefulShutdown()
            try await group.waitForAll()
            }
        }
    }

    @Test func writerServiceFlushesOnItsIntervalAndAtShutdown() async throws {
        let database = try temporaryHistoryDatabase()
        let store = HistoryStore(database: database)
        let bus = MetricsBus()
        var settings = HistorySettings()
        settings.flushInterval = .seconds(10)
        let clock = TestClock()
        let writer = HistoryWriter(store: store, bus: bus, settings: settings, clock: clock, logger: logger)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.run() }
            // Wait for the subscription and the first sleep.
            while clock.sleeperCount == 0 { await Task.yield() }
            await bus.publish(MetricBatch(source: "cpu", timestamp: Timestamp(nanosecondsSinceEpoch: 1_000_000_000_000), samples: [MetricSample("a", .gauge, 1.5), MetricSample("nan", .gauge, .nan)]))
            while writer.statistics.batchesReceived < 1 { await Task.yield() }
            #expect(try await store.blockStatistics().samples == 0)
            clock.advance(by: .seconds(10))
            while writer.statistics.flushes < 1 { await Task.yield() }
            #expect(try await store.blockStatistics().samples == 1)
            #expect(writer.statistics.skippedNonFinite == 1)
            await bus.publish(MetricBatch(source: "cpu", timestamp: Timestamp(nanosecondsSinceEpoch: 1_000_030_000_000), samples: [MetricSample("a", .gauge, 2.5)]))
            while writer.statistics.batchesReceived < 2 { await Task.yield() }
            trigger.triggerGracefulShutdown()
            try await group.waitForAll()
            #expect(try await store.blockStatistics().samples == 2)
            }
        }
    }
}
