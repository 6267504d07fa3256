//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentPlugins
import AgentRuntime
import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What bounds a plugin's cost: its number of series, the times it may stamp, and its message rate.
@Suite("Plugin limits (real processes)", .timeLimit(.minutes(1)))
struct PluginLimitsTests {
    private func host(_ manifest: PluginManifest, bus: MetricsBus = MetricsBus(), cycles: Int? = nil) -> PluginHost {
        PluginHost(manifest: manifest, bus: bus, logger: quietLogger, shutdownWait: .milliseconds(200), grace: .milliseconds(500), cycles: cycles)
    }

    /// Every batch published on `bus` while `body` runs.
    private func collecting(_ bus: MetricsBus, _ body: () async throws -> Void) async throws -> [MetricBatch] {
        let stream = await bus.subscribe(name: "test", bufferingNewest: 1024)
        try await body()
        var batches: [MetricBatch] = []
        let collector = Task {
            var seen: [MetricBatch] = []
            for await batch in stream { seen.append(batch) }
            return seen
        }
        try await Task.sleep(for: .milliseconds(200))
        collector.cancel()
        batches = await collector.value
        return batches
    }

    @Test func everNewLabelValuesStopAtMaxSeriesAndTheRestAreCounted() async throws {
        // Message n carries the series id=1…n; with max_series = 20 the first 20 are kept in every message and
        // message n drops n − 20 samples: 1 + 2 + … + 30 = 465 over 50 messages; kept: 1 + … + 20 + 30 × 20 = 810.
        let manifest = try loadManifest(manifestText(name: "growth", script: "series_growth.py", mode: "stream", interval: "5s", extra: "max_series = 20"))
        #expect(manifest.maxSeries == 20)
        let bus = MetricsBus()
        let plugin = host(manifest, bus: bus, cycles: 50)
        let batches = try await collecting(bus) { try await plugin.run(child: nil) }
        let statistics = plugin.handle.snapshot
        #expect(statistics.series == 20)
        #expect(statistics.rejectedSamples == ["series_limit": 465])
        #expect(statistics.samples == 810)
        #expect(statistics.recentRejections.last?.contains("sample 49: series_limit: fixture_series{id=\"50\",plugin=\"growth\"} is a new series beyond max_series (20)") == true)

        // What /metrics shows of the plugin is its latest set: the 20 admitted series, not 50.
        let published = batches.filter { $0.source == "plugin:growth" && !$0.samples.isEmpty }
        #expect(published.count == 50)
        let latest = try #require(published.last)
        #expect(Set(latest.samples.compactMap { $0.labels.first { $0.name == "id" }?.value }) == Set((1...20).map(String.init)))
        let page = String(decoding: PrometheusExposition.render(latest.samples).text, as: UTF8.self)
        #expect(page.split(separator: "\n").filter { $0.hasPrefix("fixture_series{") }.count == 20)

        // History holds at most max_series of the plugin's series, and as few blocks.
        let database = try HistoryDatabase(path: NSTemporaryDirectory() + "viworks-limits-\(UInt64.random(in: 0...UInt64.max))/history.db")
        let store = HistoryStore(database: database)
        let writer = HistoryWriter(store: store, bus: nil, settings: HistorySettings(), clock: ContinuousClock(), logger: quietLogger)
        for batch in published { writer.record(batch) }
        #expect(writer.statistics.openSeries == 20)
        try await writer.flush()
        #expect(try await store.series(named: "fixture_series").count == 20)
    }

    @Test func aSeriesIdleForTheTimeoutFreesItsPlace() {
        let handle = PluginHandle(name: "idle")
        func sample(_ id: Int) -> MetricSample { MetricSample("fixture_idle", .gauge, 1, labels: [MetricLabel("id", "\(id)")]) }
        let idle = Duration.seconds(100)
        // Three places: ids 1–3 fill them, 4 is refused.
        var (kept, refused) = handle.admit([sample(1), sample(2), sample(3), sample(4)], limit: 3, idle: idle, at: 1000)
        #expect(kept.count == 3 && refused == [3])
        // At 1050 id 1 is seen again; at 1101 ids 2 and 3 have been idle 101 s (> 100 s) and are forgotten, id 1 (51 s) is not.
        (kept, refused) = handle.admit([sample(1)], limit: 3, idle: idle, at: 1050)
        #expect(kept.count == 1 && refused.isEmpty)
        (kept, refused) = handle.admit([sample(4), sample(5), sample(6)], limit: 3, idle: idle, at: 1101)
        #expect(kept.count == 2 && refused == [2])
        #expect(handle.snapshot.series == 3)
    }

    @Test func timestampsOutsideTheWindowOrOutOfOrderAreRefusedAndNoneWraps() async throws {
        let base = Timestamp.now().nanosecondsSinceEpoch / 1_000_000 - 1000
        let manifest = try loadManifest(
            manifestText(name: "stamps", script: "timestamps.py", mode: "stream", interval: "5s", extra: "[env]\nFIXTURE_BASE_MS = \"\(base)\"\n"))
        let bus = MetricsBus()
        let plugin = host(manifest, bus: bus, cycles: 3)
        let before = Timestamp.now()
        let batches = try await collecting(bus) { try await plugin.run(child: nil) }
        let statistics = plugin.handle.snapshot
        // Year 2264, base + 10 min and base − 40 days are outside [now − 30 days, now + 5 min]; base − 500 is older
        // than base, sent before it.
        #expect(statistics.badLines == ["invalid_timestamp": 3, "out_of_order": 1])
        #expect(statistics.samples == 3)
        let stamped = batches.filter { $0.source == "plugin:stamps" && !$0.samples.isEmpty }
        #expect(stamped.map { $0.samples.first?.value } == [1, 6, 7])
        let milliseconds = stamped.map { $0.timestamp.nanosecondsSinceEpoch / 1_000_000 }
        #expect(milliseconds.count == 3)
        #expect(Array(milliseconds.prefix(2)) == [base, base + 1000])
        // The last message had no timestamp: the agent's clock stamped it.
        #expect(milliseconds.last.map { $0 >= before.nanosecondsSinceEpoch / 1_000_000 } == true)
        #expect(statistics.recentRejections.contains { $0.hasPrefix("line 3: invalid_timestamp: timestamp_ms 9300000000000 is more than 300s ahead") })
        #expect(statistics.recentRejections.contains { $0 == "line 6: out_of_order: timestamp_ms \(base - 500) is older than the plugin's previous timestamp_ms \(base)" })

        // Stored as one block of the three accepted samples, in time order.
        let database = try HistoryDatabase(path: NSTemporaryDirectory() + "viworks-limits-\(UInt64.random(in: 0...UInt64.max))/history.db")
        let store = HistoryStore(database: database)
        let writer = HistoryWriter(store: store, bus: nil, settings: HistorySettings(), clock: ContinuousClock(), logger: quietLogger)
        for batch in stamped { writer.record(batch) }
        try await writer.flush()
        let blocks = try await store.blockStatistics()
        #expect(blocks.blocks == 1)
        #expect(blocks.samples == 3)
    }

    @Test func aFloodOfValidLinesIsRateLimitedAndThrottled() async throws {
        let manifest = try loadManifest(
            manifestText(name: "valid-flood", script: "valid_flood.py", mode: "stream", interval: "1s", extra: "max_messages_per_second = 100"))
        #expect(manifest.maxMessagesPerSecond == 100)
        let plugin = host(manifest)
        let started = ContinuousClock.now
        let task = Task { try await plugin.run(child: nil) }
        let limited = await eventually(timeout: .seconds(20)) { (plugin.handle.snapshot.badLines["rate_limited"] ?? 0) > 0 }
        try await Task.sleep(for: .seconds(2))
        let statistics = plugin.handle.snapshot
        let elapsed = started.duration(to: .now).secondsDouble
        task.cancel()
        _ = await task.result
        #expect(limited)
        // At most 100 lines per started second (plus the hello) are decoded…
        #expect(statistics.validLines <= UInt64(100 * (elapsed.rounded(.up) + 1)) + 1, "\(statistics.validLines) valid lines in \(elapsed) s")
        #expect(statistics.validLines >= 100)
        // …and the reader stops reading for the rest of each second, so the plugin blocks on its full pipe: it gets far
        // fewer lines through than the millions a second it writes unthrottled.
        let dropped = statistics.badLines["rate_limited"] ?? 0
        #expect(dropped + statistics.validLines < UInt64(20_000 * elapsed.rounded(.up)), "\(dropped) lines dropped in \(elapsed) s")
        #expect(statistics.recentRejections.contains { $0.contains("rate_limited:") && $0.contains("beyond max_messages_per_second (100)") })
    }
}
