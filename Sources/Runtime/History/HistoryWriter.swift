//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
public import ServiceLifecycle
import Synchronization

/// Writes every sample of the bus into the ``HistoryStore``: a subscriber that buffers one open block per series
/// and the rollup aggregates since the last flush, and writes them every `flushInterval` (the first time
/// ``firstFlushDelay`` after start), at shutdown, and runs retention in the background.
///
/// Loss bound: a crash or `kill -9` loses the samples collected since the last committed flush, at most
/// `flushInterval` of them (plus the batches the bus had not yet delivered); every committed flush is intact.
public final class HistoryWriter<C: Clock>: Service, Sendable where C.Duration == Duration {
    /// A block is sealed (a new row begun) after this many samples…
    public static var maxSamplesPerBlock: Int { 240 }
    /// …or when it spans this long, so that the rewritten open block stays small.
    public static var maxBlockSpanMilliseconds: Int64 { 2 * 3_600_000 }
    /// A sample older than its series' newest by less than this is out of order: dropped and counted, so that a
    /// source alternating between two times cannot split storage into one-sample blocks. Further back is taken for a
    /// step of the wall clock and begins a new block.
    public static var maxReorderMilliseconds: Int64 { 5 * 60_000 }
    /// The first flush comes this soon after start (or after `flushInterval` when that is shorter): the history routes
    /// have the first samples at once, and the one-time work of a first write (SQLite's statements prepared, the Swift
    /// runtime's first look-ups of GRDB's types) is done before the start-up memory release
    /// (``hasAttemptedFlush``), so that the pages it touches do not stay resident afterwards.
    public static var firstFlushDelay: Duration { .seconds(5) }

    /// Everything buffered for one series: its open block and the rollup aggregates since the last flush.
    struct OpenBlock {
        var kind: MetricKind
        var encoder = BlockEncoder()
        var dirty = false
        /// Bucket start (seconds) → aggregate of the samples since the last flush.
        var minute: [Int64: Aggregate] = [:]
        var hour: [Int64: Aggregate] = [:]

        /// Appends in place (never copying the encoder); returns the sealed block when this sample began a new one.
        mutating func append(_ sample: HistorySample, kind: MetricKind) -> BlockEncoder? {
            var sealed: BlockEncoder?
            if let first = encoder.first, let last = encoder.last,
                encoder.count >= maxSamplesPerBlock || sample.milliseconds - first.milliseconds >= maxBlockSpanMilliseconds
                    || sample.milliseconds < last.milliseconds
            {
                sealed = encoder
                encoder = BlockEncoder()
            }
            self.kind = kind
            encoder.append(sample)
            dirty = true
            let seconds = floorDiv(sample.milliseconds, 1000)
            let minuteStart = seconds - mod(seconds, 60)
            let hourStart = seconds - mod(seconds, 3600)
            if minute[minuteStart] == nil { minute[minuteStart] = Aggregate(sample) } else { minute[minuteStart]?.add(sample) }
            if hour[hourStart] == nil { hour[hourStart] = Aggregate(sample) } else { hour[hourStart]?.add(sample) }
            return sealed
        }
    }

    struct State {
        var open: [SeriesKey: OpenBlock] = [:]
        var sealed: [HistoryFlush.Block] = []
        var received: UInt64 = 0
        var skippedNonFinite: UInt64 = 0
        var flushes: UInt64 = 0
        var flushFailures: UInt64 = 0
        var lastFlush: Timestamp?
        var lastError: String?
        /// Samples of new series dropped because `max_series` series were open.
        var refusedSeriesSamples: UInt64 = 0
        /// Samples dropped for being older than their series' newest (``maxReorderMilliseconds``).
        var outOfOrderSamples: UInt64 = 0
        /// Idle series whose open block was let go (``evictIdle(now:)``).
        var evictedSeries: UInt64 = 0
        /// Wall-clock milliseconds of the last idle sweep and of the last warning about `max_series`.
        var lastSweep: Int64 = 0
        var lastLimitWarning: Int64?
        /// Wall-clock minus monotonic milliseconds at the last batch, and the steps of the wall clock seen (a change
        /// of that difference by ``clockStepMilliseconds`` or more between two batches).
        var clockOffset: Int64?
        var clockSteps: UInt64 = 0
    }

    private let state = Mutex(State())
    private let store: HistoryStore
    private let bus: MetricsBus?
    private let settings: HistorySettings
    private let clock: C
    private let wallClock: @Sendable () -> Timestamp
    private let monotonicClock: @Sendable () -> Int64
    private let logger: Logger
    /// Samples of sealed blocks kept for the next flush while flushes fail; beyond it the oldest blocks are dropped.
    private let retryLimit: Int
    /// Samples dropped from the retry buffer (``retryLimit``), and rollup buckets dropped with them.
    private let dropped = Atomic<UInt64>(0)
    private let droppedBuckets = Atomic<UInt64>(0)
    private let flushAttempted = Atomic<Bool>(false)

    /// True once the service's first flush has run, whatever its outcome (written, nothing to write, failed).
    public var hasAttemptedFlush: Bool { flushAttempted.load(ordering: .acquiring) }

    /// About 4,000 blocks, a few MB: an hour of 280 series at 1 s, or a day of 350 series at 30 s.
    public static var defaultRetryLimit: Int { 1_000_000 }
    /// Per series, the rollup buckets kept for the next flush while flushes fail: a day of minutes, a week of hours.
    static var retryMinuteBuckets: Int { 1440 }
    static var retryHourBuckets: Int { 168 }

    /// - Parameters:
    ///   - bus: the bus to subscribe to; nil when a test or benchmark calls ``record(_:)`` itself.
    ///   - clock: drives flushes and retention.
    ///   - wallClock: "now" of retention.
    ///   - monotonicClock: milliseconds of a monotonic clock (`CLOCK_BOOTTIME`), against which a step of `wallClock`
    ///     is seen (``clockSteps``).
    public init(
        store: HistoryStore, bus: MetricsBus?, settings: HistorySettings, clock: C, wallClock: @escaping @Sendable () -> Timestamp = { .now() },
        monotonicClock: @escaping @Sendable () -> Int64 = { Int64((MonotonicClock.bootTimeSeconds() * 1000).rounded()) },
        logger: Logger, retryLimit: Int = HistoryWriter.defaultRetryLimit
    ) {
        self.store = store
        self.bus = bus
        self.settings = settings
        self.clock = clock
        self.wallClock = wallClock
        self.monotonicClock = monotonicClock
        self.logger = logger
        self.retryLimit = retryLimit
    }

    // MARK: - Buffering

    /// A change of the wall clock against the monotonic clock between two batches of at least this much is taken for
    /// a step of the wall clock (set by hand, or by NTP stepping instead of slewing), and logged.
    public static var clockStepMilliseconds: Int64 { 1000 }

    /// Steps of the wall clock seen while recording (each one logged with its size and what history does with it).
    public var clockSteps: UInt64 { state.withLock { $0.clockSteps } }

    /// Buffers every finite sample of `batch` (NaN and ±infinity are dropped and counted: they would poison aggregates).
    public func record(_ batch: MetricBatch) {
        let milliseconds = floorDiv(batch.timestamp.nanosecondsSinceEpoch, 1_000_000)
        let now = floorDiv(wallClock().nanosecondsSinceEpoch, 1_000_000)
        let offset = now - monotonicClock()
        let maxSeries = settings.maxSeries
        var step: Int64?
        let warn = state.withLock { state -> Bool in
            state.received += 1
            if let last = state.clockOffset, abs(offset - last) >= Self.clockStepMilliseconds {
                step = offset - last
                state.clockSteps += 1
            }
            state.clockOffset = offset
            if now - state.lastSweep >= Self.sweepPeriod(settings.seriesIdleTimeout) { Self.evictIdle(now: now, idle: settings.seriesIdleTimeout, state: &state) }
            let refusedBefore = state.refusedSeriesSamples
            for sample in batch.samples {
                guard sample.value.isFinite else {
                    state.skippedNonFinite += 1
                    continue
                }
                let key = SeriesKey(name: sample.name, labels: sample.labels)
                Self.append(HistorySample(milliseconds: milliseconds, value: sample.value), kind: sample.kind, key: key, to: &state, maxSeries: maxSeries)
            }
            guard state.refusedSeriesSamples > refusedBefore else { return false }
            if let last = state.lastLimitWarning, now - last < 60_000 { return false }
            state.lastLimitWarning = now
            return true
        }
        if let step { logClockStep(step) }
        if warn {
            logger.warning(
                "history: \(maxSeries) series are open ([history] max_series); samples of new series are dropped until a series has been idle for series_idle_timeout",
                metadata: ["source": "\(batch.source)"])
        }
    }

    /// Says what a step of the wall clock does to history. Samples are stamped with the wall clock, so: forward, the
    /// time skipped has no samples; back by less than ``maxReorderMilliseconds``, samples older than their series'
    /// newest are dropped (counted as out of order) until the clock is past it again, so that each series stays in
    /// time order; back further, each series begins a new block and queries return both passes in time order.
    private func logClockStep(_ step: Int64) {
        let seconds = Double(abs(step)) / 1000
        let what: String
        if step > 0 {
            what = "stepped forward by \(seconds) s: history has no samples for the time skipped"
        } else if -step < Self.maxReorderMilliseconds {
            what = "stepped back by \(seconds) s: samples older than their series' newest are dropped (counted as out_of_order) until the clock passes it again, so history stays in time order"
        } else {
            what = "stepped back by \(seconds) s: each series begins a new block; queries return the samples of both passes in time order"
        }
        logger.warning("history: the wall clock \(what)", metadata: ["step_seconds": "\(Double(step) / 1000)"])
    }

    /// Buffers one sample (benchmarks and tests that bypass the bus).
    public func record(_ sample: HistorySample, series key: SeriesKey, kind: MetricKind = .gauge) {
        guard sample.value.isFinite else { return }
        let maxSeries = settings.maxSeries
        state.withLock { Self.append(sample, kind: kind, key: key, to: &$0, maxSeries: maxSeries) }
    }

    private static func append(_ sample: HistorySample, kind: MetricKind, key: SeriesKey, to state: inout State, maxSeries: Int) {
        // One lookup of the series (its key hashes its name and every label), then changes in place.
        let sealed: BlockEncoder?
        if let index = state.open.index(forKey: key) {
            if let newest = state.open.values[index].encoder.last?.milliseconds, sample.milliseconds < newest,
                newest - sample.milliseconds < maxReorderMilliseconds
            {
                state.outOfOrderSamples += 1
                return
            }
            sealed = state.open.values[index].append(sample, kind: kind)
        } else {
            guard state.open.count < maxSeries else {
                state.refusedSeriesSamples += 1
                return
            }
            var block = OpenBlock(kind: kind)
            sealed = block.append(sample, kind: kind)
            state.open[key] = block
        }
        if let sealed { state.sealed.append(HistoryFlush.Block(series: key, kind: kind, encoder: sealed)) }
    }

    /// How often ``record(_:)`` looks for idle series: a tenth of the idle timeout, at least once a minute.
    private static func sweepPeriod(_ idle: Duration) -> Int64 {
        min(60_000, max(1, Int64(idle.secondsDouble * 100)))
    }

    /// Lets go of the open block of every series whose newest sample is older than `now − series_idle_timeout` and
    /// that has nothing left to flush: it is stored already, and a later sample begins a new block. This keeps a
    /// source that keeps inventing series from holding memory (and `max_series` slots) for the ones it dropped.
    /// - Returns: the number of series let go.
    @discardableResult
    public func evictIdle(now milliseconds: Int64) -> Int {
        state.withLock { Self.evictIdle(now: milliseconds, idle: settings.seriesIdleTimeout, state: &$0) }
    }

    @discardableResult
    private static func evictIdle(now: Int64, idle: Duration, state: inout State) -> Int {
        state.lastSweep = now
        let horizon = now - Int64(idle.secondsDouble * 1000)
        let before = state.open.count
        state.open = state.open.filter { _, block in block.dirty || (block.encoder.last?.milliseconds ?? .min) >= horizon }
        let evicted = before - state.open.count
        state.evictedSeries += UInt64(evicted)
        return evicted
    }

    // MARK: - Flushing

    /// Writes everything buffered in one transaction. On failure the data stays buffered for the next flush.
    /// - Returns: blocks written.
    @discardableResult
    public func flush() async throws -> Int {
        let flush = state.withLock { state -> HistoryFlush in
            var flush = HistoryFlush()
            flush.blocks = state.sealed
            state.sealed = []
            for key in state.open.keys {
                guard let block = state.open[key], block.dirty else { continue }
                flush.blocks.append(HistoryFlush.Block(series: key, kind: block.kind, encoder: block.encoder))
                for (start, aggregate) in block.minute { flush.minute[RollupKey(series: key, start: start)] = aggregate }
                for (start, aggregate) in block.hour { flush.hour[RollupKey(series: key, start: start)] = aggregate }
                flush.kinds[key] = block.kind
                state.open[key]?.dirty = false
                state.open[key]?.minute = [:]
                state.open[key]?.hour = [:]
            }
            return flush
        }
        guard !flush.isEmpty else { return 0 }
        do {
            try await store.write(flush)
            state.withLock { state in
                state.flushes += 1
                state.lastFlush = wallClock()
            }
            return flush.blocks.count
        } catch {
            // Put everything back: sealed blocks, dirty marks and the aggregates (merged with what arrived since),
            // then bound what is kept.
            var trimmed: (samples: UInt64, buckets: UInt64) = (0, 0)
            state.withLock { state in
                state.flushFailures += 1
                state.lastError = "\(error)"
                var putBack: [HistoryFlush.Block] = []
                for block in flush.blocks {
                    if state.open[block.series]?.encoder.first == block.encoder.first {
                        state.open[block.series]?.dirty = true
                    } else {
                        putBack.append(block)
                    }
                }
                // Older than anything sealed since the flush began: in front, where trimming starts.
                state.sealed = putBack + state.sealed
                for (key, aggregate) in flush.minute {
                    if state.open[key.series] == nil { state.open[key.series] = OpenBlock(kind: flush.kinds[key.series] ?? .gauge) }
                    if let newer = state.open[key.series]?.minute[key.start] {
                        var merged = aggregate
                        merged.merge(newer)
                        state.open[key.series]?.minute[key.start] = merged
                    } else {
                        state.open[key.series]?.minute[key.start] = aggregate
                    }
                    state.open[key.series]?.dirty = true
                }
                for (key, aggregate) in flush.hour {
                    if state.open[key.series] == nil { state.open[key.series] = OpenBlock(kind: flush.kinds[key.series] ?? .gauge) }
                    if let newer = state.open[key.series]?.hour[key.start] {
                        var merged = aggregate
                        merged.merge(newer)
                        state.open[key.series]?.hour[key.start] = merged
                    } else {
                        state.open[key.series]?.hour[key.start] = aggregate
                    }
                    state.open[key.series]?.dirty = true
                }
                trimmed = Self.trimRetryBuffer(&state, limit: retryLimit)
            }
            if trimmed.samples > 0 || trimmed.buckets > 0 {
                dropped.add(trimmed.samples, ordering: .relaxed)
                droppedBuckets.add(trimmed.buckets, ordering: .relaxed)
                logger.warning(
                    "history: flushes keep failing; dropped the oldest buffered samples",
                    metadata: ["samples": "\(trimmed.samples)", "rollup_buckets": "\(trimmed.buckets)", "error": "\(error)"])
            }
            throw error
        }
    }

    /// Bounds what failed flushes left buffered: sealed blocks beyond `limit` samples, oldest first, and per series the
    /// rollup buckets beyond ``retryMinuteBuckets`` and ``retryHourBuckets``, oldest first. Returns what was dropped.
    static func trimRetryBuffer(_ state: inout State, limit: Int) -> (samples: UInt64, buckets: UInt64) {
        var samples: UInt64 = 0
        var buckets: UInt64 = 0
        var total = state.sealed.reduce(0) { $0 + $1.encoder.count }
        if total > limit {
            var drop = 0
            while drop < state.sealed.count, total > limit {
                total -= state.sealed[drop].encoder.count
                samples += UInt64(state.sealed[drop].encoder.count)
                drop += 1
            }
            state.sealed.removeFirst(drop)
        }
        for key in state.open.keys {
            guard let block = state.open[key] else { continue }
            if block.minute.count > retryMinuteBuckets {
                for start in block.minute.keys.sorted().prefix(block.minute.count - retryMinuteBuckets) { state.open[key]?.minute[start] = nil }
                buckets += UInt64(block.minute.count - retryMinuteBuckets)
            }
            if block.hour.count > retryHourBuckets {
                for start in block.hour.keys.sorted().prefix(block.hour.count - retryHourBuckets) { state.open[key]?.hour[start] = nil }
                buckets += UInt64(block.hour.count - retryHourBuckets)
            }
        }
        return (samples, buckets)
    }

    /// The retry buffer of failed flushes: samples in sealed blocks waiting, and samples and rollup buckets dropped
    /// because it was full (`viworks_history_dropped_samples_total`).
    public var retryBuffer: (pendingSamples: Int, droppedSamples: UInt64, droppedRollupBuckets: UInt64) {
        let pending = state.withLock { $0.sealed.reduce(0) { $0 + $1.encoder.count } }
        return (pending, dropped.load(ordering: .relaxed), droppedBuckets.load(ordering: .relaxed))
    }

    public typealias Statistics = HistoryWriterStatistics

    public var statistics: Statistics {
        state.withLock {
            Statistics(
                batchesReceived: $0.received, skippedNonFinite: $0.skippedNonFinite, flushes: $0.flushes, flushFailures: $0.flushFailures,
                openSeries: $0.open.count, lastFlush: $0.lastFlush, lastError: $0.lastError, refusedSeriesSamples: $0.refusedSeriesSamples,
                outOfOrderSamples: $0.outOfOrderSamples, evictedSeries: $0.evictedSeries)
        }
    }

    /// Runs retention once at wall-clock `now`.
    @discardableResult
    public func applyRetention() async throws -> RetentionResult {
        try await store.applyRetention(
            now: wallClock().nanosecondsSinceEpoch / 1_000_000, raw: settings.retention, minute: settings.minuteRetention, hour: settings.hourRetention)
    }

    // MARK: - Service

    public func run() async throws {
        let stream = await bus?.subscribe(name: "history", bufferingNewest: 1024)
        await withTaskGroup(of: Void.self) { group in
            if let stream {
                group.addTask {
                    await cancelWhenGracefulShutdown {
                        for await batch in stream { self.record(batch) }
                    }
                }
            }
            group.addTask {
                // Flushes; retention once at start and then hourly, between flushes (never concurrently with one).
                // Graceful shutdown cancels the loop (an interrupted flush keeps its data buffered); the final flush follows.
                await cancelWhenGracefulShutdown {
                    var sinceRetention: Duration = .seconds(3600)
                    while !Task.isCancelled {
                        if sinceRetention >= .seconds(3600) {
                            sinceRetention = .zero
                            do {
                                let result = try await self.applyRetention()
                                self.logger.debug("history retention", metadata: ["blocks": "\(result.blocks)", "minute_rows": "\(result.minuteRows)"])
                            } catch {
                                self.logger.warning("history retention failed", metadata: ["error": "\(error)"])
                            }
                        }
                        let wait = self.hasAttemptedFlush ? self.settings.flushInterval : min(self.settings.flushInterval, Self.firstFlushDelay)
                        do {
                            try await self.clock.sleep(for: wait)
                        } catch {
                            break
                        }
                        sinceRetention += wait
                        do {
                            try await self.flush()
                        } catch {
                            self.logger.warning("history flush failed; the samples stay buffered", metadata: ["error": "\(error)"])
                        }
                        self.flushAttempted.store(true, ordering: .releasing)
                    }
                }
            }
            await group.waitForAll()
        }
        // The final flush at shutdown.
        do {
            try await flush()
        } catch {
            logger.error("history: final flush failed", metadata: ["error": "\(error)"])
        }
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

func mod(_ a: Int64, _ b: Int64) -> Int64 {
    let r = a % b
    return r < 0 ? r + b : r
}

/// The history writer's counters (`/metrics`, logs, tests).
public struct HistoryWriterStatistics: Sendable, Hashable {
    public var batchesReceived: UInt64
    public var skippedNonFinite: UInt64
    public var flushes: UInt64
    public var flushFailures: UInt64
    public var openSeries: Int
    public var lastFlush: Timestamp?
    public var lastError: String?
    /// Samples of new series dropped at `[history] max_series`.
    public var refusedSeriesSamples: UInt64
    /// Samples dropped for arriving out of order.
    public var outOfOrderSamples: UInt64
    /// Idle series let go from memory.
    public var evictedSeries: UInt64

    public init(
        batchesReceived: UInt64, skippedNonFinite: UInt64, flushes: UInt64, flushFailures: UInt64, openSeries: Int, lastFlush: Timestamp?,
        lastError: String?, refusedSeriesSamples: UInt64, outOfOrderSamples: UInt64, evictedSeries: UInt64
    ) {
        self.batchesReceived = batchesReceived
        self.skippedNonFinite = skippedNonFinite
        self.flushes = flushes
        self.flushFailures = flushFailures
        self.openSeries = openSeries
        self.lastFlush = lastFlush
        self.lastError = lastError
        self.refusedSeriesSamples = refusedSeriesSamples
        self.outOfOrderSamples = outOfOrderSamples
        self.evictedSeries = evictedSeries
    }
}
