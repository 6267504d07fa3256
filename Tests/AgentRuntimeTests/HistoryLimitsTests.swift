//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The history writer's bounds: how many series it holds open, how long it holds an idle one, and what it does with a
/// sample older than its series' newest.
@Suite("History limits")
struct HistoryLimitsTests {
    private let logger = Logger(label: "history-limits") { _ in SwiftLogNoOpLogHandler() }
    private let start: Int64 = 1_750_000_000_000

    private func writer(_ settings: HistorySettings = HistorySettings(), now: @escaping @Sendable () -> Int64) throws -> (HistoryWriter<ContinuousClock>, HistoryStore) {
        let store = HistoryStore(database: try temporaryHistoryDatabase())
        let writer = HistoryWriter(
            store: store, bus: nil, settings: settings, clock: ContinuousClock(), wallClock: { Timestamp(nanosecondsSinceEpoch: now() * 1_000_000) },
            logger: logger)
        return (writer, store)
    }

    private func batch(_ ids: ClosedRange<Int>, at milliseconds: Int64) -> MetricBatch {
        MetricBatch(
            source: "plugin:x", timestamp: Timestamp(nanosecondsSinceEpoch: milliseconds * 1_000_000),
            samples: ids.map { MetricSample("x_series", .gauge, Double($0), labels: [MetricLabel("id", "\($0)")]) })
    }

    @Test func newSeriesBeyondMaxSeriesAreDroppedAndCounted() async throws {
        var settings = HistorySettings()
        settings.maxSeries = 100
        let start = self.start
        let (writer, store) = try writer(settings) { start }
        writer.record(batch(1...150, at: start))
        // The 100 open series go on; the 50 beyond are refused again.
        writer.record(batch(1...150, at: start + 10_000))
        let statistics = writer.statistics
        #expect(statistics.openSeries == 100)
        #expect(statistics.refusedSeriesSamples == 100)
        try await writer.flush()
        #expect(try await store.series(named: "x_series").count == 100)
        #expect(try await store.blockStatistics().samples == 200)
    }

    @Test func idleSeriesAreLetGoOnceFlushedAndFreeTheirPlace() async throws {
        var settings = HistorySettings()
        settings.maxSeries = 10
        settings.seriesIdleTimeout = .seconds(600)
        let clock = TestWallClock(start)
        let (writer, store) = try writer(settings) { clock.now }
        let start = self.start
        writer.record(batch(1...10, at: start))
        // Not flushed yet: nothing is let go however old, or its samples would be lost.
        #expect(writer.evictIdle(now: start + 3_600_000) == 0)
        try await writer.flush()
        // Flushed, but only 600 s old at most: kept.
        #expect(writer.evictIdle(now: start + 600_000) == 0)
        // A minute later the ten series are idle for 660 s and go; nine new series then fit, which were refused before.
        clock.now = start + 660_000
        writer.record(batch(11...19, at: start + 660_000))
        #expect(writer.statistics.evictedSeries == 10)
        #expect(writer.statistics.openSeries == 9)
        #expect(writer.statistics.refusedSeriesSamples == 0)
        try await writer.flush()
        #expect(try await store.series(named: "x_series").count == 19)
        // A sample of a let-go series takes the tenth place and begins a new block; the stored one is intact.
        writer.record(batch(1...1, at: start + 700_000))
        #expect(writer.statistics.openSeries == 10)
        try await writer.flush()
        let id = try #require(try await store.series(named: "x_series").first { $0.key.labels.contains(MetricLabel("id", "1")) }?.id)
        #expect(try await store.samples(series: id, from: start, to: start + 700_000).samples.map(\.milliseconds) == [start, start + 700_000])
    }

    @Test func outOfOrderSamplesAreDroppedInsteadOfSealingOneSampleBlocks() async throws {
        let start = self.start
        let (writer, store) = try writer { start }
        let key = SeriesKey(name: "x_order", labels: [])
        // 1000, 2000, 1500 (500 ms back), 3000, 2500, 4000: two samples out of order.
        for offset: Int64 in [1000, 2000, 1500, 3000, 2500, 4000] {
            writer.record(HistorySample(milliseconds: start + offset, value: Double(offset)), series: key)
        }
        #expect(writer.statistics.outOfOrderSamples == 2)
        try await writer.flush()
        let blocks = try await store.blockStatistics()
        // Before: each step back sealed the open block, leaving [1000, 2000], [1500, 3000], [2500, 4000].
        #expect(blocks.blocks == 1)
        #expect(blocks.samples == 4)
        let id = try #require(try await store.series(named: "x_order").first?.id)
        #expect(try await store.samples(series: id, from: start, to: start + 5000).samples.map(\.value) == [1000, 2000, 3000, 4000])
    }

    @Test func aWallClockStepBackBeginsANewBlockInsteadOfDroppingEverything() async throws {
        let start = self.start
        let (writer, store) = try writer { start }
        let key = SeriesKey(name: "x_step", labels: [])
        // Ten minutes back (beyond the 5-minute reorder window): a clock step; both stretches are kept.
        for offset: Int64 in [1_000_000, 1_010_000, 400_000, 410_000] {
            writer.record(HistorySample(milliseconds: start + offset, value: 1), series: key)
        }
        #expect(writer.statistics.outOfOrderSamples == 0)
        try await writer.flush()
        let blocks = try await store.blockStatistics()
        #expect(blocks.blocks == 2)
        #expect(blocks.samples == 4)
    }
}

/// A wall clock and a monotonic clock that a test moves, and what a logger was told.
private final class SteppedClocks: Sendable {
    let wall: Atomic<Int64>
    let monotonic = Atomic<Int64>(7_000_000)
    let messages = Mutex<[String]>([])

    init(wall: Int64) { self.wall = Atomic(wall) }

    /// One second on both clocks, then `step` more on the wall clock.
    func tick(step: Int64 = 0) {
        monotonic.add(1000, ordering: .relaxed)
        wall.add(1000 + step, ordering: .relaxed)
    }

    var logger: Logger { Logger(label: "history-clock") { _ in MessageHandler(clocks: self) } }

    struct MessageHandler: LogHandler {
        let clocks: SteppedClocks
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { clocks.messages.withLock { $0.append(event.message.description) } }
    }
}

extension HistoryLimitsTests {
    @Test func aWallClockStepIsSeenAgainstTheMonotonicClockLoggedAndHistoryStaysInOrder() async throws {
        let clocks = SteppedClocks(wall: start)
        let store = HistoryStore(database: try temporaryHistoryDatabase())
        let writer = HistoryWriter(
            store: store, bus: nil, settings: HistorySettings(), clock: ContinuousClock(),
            wallClock: { Timestamp(nanosecondsSinceEpoch: clocks.wall.load(ordering: .relaxed) * 1_000_000) },
            monotonicClock: { clocks.monotonic.load(ordering: .relaxed) }, logger: clocks.logger)
        func collect(_ count: Int, step: Int64 = 0) {
            for index in 0..<count {
                clocks.tick(step: index == 0 ? step : 0)
                writer.record(
                    MetricBatch(
                        source: "cpu", timestamp: Timestamp(nanosecondsSinceEpoch: clocks.wall.load(ordering: .relaxed) * 1_000_000),
                        samples: [MetricSample("x_clock", .gauge, Double(clocks.monotonic.load(ordering: .relaxed) / 1000))]))
            }
        }
        collect(5)  // wall start+1 s … start+5 s
        #expect(writer.clockSteps == 0)
        collect(5, step: 180_000)  // 3 minutes forward: start+186 s … start+190 s
        #expect(writer.clockSteps == 1)
        collect(5, step: -180_000)  // 3 minutes back: start+11 s … start+15 s, older than the newest by less than 5 minutes
        #expect(writer.clockSteps == 2)
        #expect(writer.statistics.outOfOrderSamples == 5)
        collect(5, step: -600_000)  // 10 minutes back: start-584 s … start-580 s
        #expect(writer.clockSteps == 3)
        #expect(writer.statistics.outOfOrderSamples == 5)
        // NTP slewing (a few milliseconds between batches) is no step.
        for _ in 0..<5 {
            clocks.wall.add(3, ordering: .relaxed)
            collect(1)
        }
        #expect(writer.clockSteps == 3)
        #expect(
            clocks.messages.withLock { $0 } == [
                "history: the wall clock stepped forward by 180.0 s: history has no samples for the time skipped",
                "history: the wall clock stepped back by 180.0 s: samples older than their series' newest are dropped (counted as out_of_order) until the clock passes it again, so history stays in time order",
                "history: the wall clock stepped back by 600.0 s: each series begins a new block; queries return the samples of both passes in time order",
            ])
        try await writer.flush()
        let series = try #require(try await store.series(named: "x_clock").first)
        let stored = try await store.samples(series: series.id, from: start - 3_600_000, to: start + 3_600_000).samples
        // The monotonic second of each stored sample, in wall-clock order: the 10-minutes-back pass comes first.
        #expect(stored.map { Int($0.value) - 7000 } == [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        #expect(zip(stored, stored.dropFirst()).allSatisfy { $0.milliseconds <= $1.milliseconds })
    }
}

/// `[history] max_series`, `[history] series_idle_timeout` and `[plugins] max_series_per_plugin`.
struct SeriesLimitConfigTests {
    let helper = ConfigLoaderTests()

    @Test func defaultsFileEnvironmentAndLocatedProblems() throws {
        let defaults = try helper.loader.load(path: nil, environment: [:])
        #expect(defaults.history.maxSeries == 20_000)
        #expect(defaults.history.seriesIdleTimeout == .seconds(900))
        #expect(defaults.plugins.maxSeriesPerPlugin == 1000)

        let path = helper.file(
            """
            [plugins]
            max_series_per_plugin = 50
            [history]
            series_idle_timeout = "2m"
            """)
        defer { unlink(path) }
        let configuration = try helper.loader.load(path: path, environment: ["VIWORKS_HISTORY_MAX_SERIES": "5000"])
        #expect(configuration.plugins.maxSeriesPerPlugin == 50)
        #expect(configuration.history.seriesIdleTimeout == .seconds(120))
        #expect(configuration.history.maxSeries == 5000)

        let issues = helper.issues(
            """
            [plugins]
            max_series_per_plugin = 0
            [history]
            max_series = 10
            series_idle_timeout = "10s"
            """)
        let keys = Set(issues.map { "\($0.line.map(String.init) ?? "-") \($0.key)" })
        #expect(keys == ["2 plugins.max_series_per_plugin", "4 history.max_series", "5 history.series_idle_timeout"])
    }
}

/// A settable wall clock in milliseconds (test utility).
final class TestWallClock: Sendable {
    private let value: Mutex<Int64>
    init(_ now: Int64) { value = Mutex(now) }
    var now: Int64 {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
