//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging

#if canImport(Glibc)
import Glibc
#endif
// `timespec`'s members are declared by the stdlib's shims: named here so that a clean build under MemberImportVisibility sees them.
#if canImport(SwiftOverlayShims)
import SwiftOverlayShims
#endif

/// Runs one collector on a fixed-rate schedule: collect within a deadline, publish to the bus, record
/// the outcome in the child's handle, sleep until the next tick. A failed or timed-out collection
/// throws, so the ``Supervisor`` restarts the runner with backoff; missed ticks are skipped, not bunched.
public struct CollectorRunner<C: Clock<Duration>>: Sendable {
    public let collector: any Collector
    public let interval: Duration
    public let timeout: Duration
    public let paths: HostPaths
    public let bus: MetricsBus
    public let clock: C
    public let logger: Logger
    /// The monotonic time source for rates; tests replace it.
    public let monotonicSeconds: @Sendable () -> Double
    /// After the first collection of a run, collect once more after this delay (when shorter than the interval),
    /// so rates and CPU % are known within a second of start instead of one interval later.
    public let primingDelay: Duration?

    public init(
        collector: any Collector, interval: Duration, timeout: Duration, paths: HostPaths, bus: MetricsBus, clock: C, logger: Logger,
        monotonicSeconds: @escaping @Sendable () -> Double = MonotonicClock.bootTimeSeconds, primingDelay: Duration? = .seconds(1)
    ) {
        self.collector = collector
        self.interval = interval
        self.timeout = timeout
        self.paths = paths
        self.bus = bus
        self.clock = clock
        self.logger = logger
        self.monotonicSeconds = monotonicSeconds
        self.primingDelay = primingDelay
    }

    /// Collects until cancelled or until a collection fails.
    public func run(handle: ChildHandle) async throws {
        var logger = self.logger
        logger[metadataKey: "collector"] = "\(collector.descriptor.id)"
        handle.update {
            $0.intervalSeconds = interval.secondsDouble
            $0.timeoutSeconds = timeout.secondsDouble
        }
        var next = clock.now
        var primed = primingDelay.map { $0 >= interval } ?? true
        while !Task.isCancelled {
            try await collectOnce(handle: handle, logger: logger)
            if !primed, let primingDelay {
                primed = true
                try await clock.sleep(for: primingDelay)
                try await collectOnce(handle: handle, logger: logger)
            }
            next = next.advanced(by: interval)
            let now = clock.now
            if next < now {
                // Behind schedule (a slow collection or a suspended host): skip to the next tick.
                let behind = next.duration(to: now)
                let skipped = Int(behind.secondsDouble / interval.secondsDouble) + 1
                next = next.advanced(by: interval * skipped)
            }
            try await clock.sleep(until: next, tolerance: nil)
        }
    }

    /// One collection: on success (or `noData`) publishes and returns; on failure records and throws.
    ///
    /// The recorded duration runs from the collector's own start to its result. The collectors of one round share the
    /// agent's executor, so the time a collection waits for the thread before it starts (or, for a collector that is an
    /// actor, for its actor) is the others' work, not its own; a timed-out collection records the time from the
    /// runner's start to the moment the runner resumes after the deadline.
    public func collectOnce(handle: ChildHandle, logger: Logger) async throws {
        let started = clock.now
        let context = CollectorContext(paths: paths, logger: logger, timestamp: .now(), monotonicSeconds: monotonicSeconds(), timeout: timeout)
        let collector = self.collector
        let clock = self.clock
        let outcome: (result: Result<CollectorOutput, any Error>, duration: Duration)
        do {
            outcome = try await withDeadline(timeout, clock: clock) {
                await Self.timedCollection(collector, context, clock: clock, isolation: collector as? any Actor)
            }
        } catch {
            if Task.isCancelled { throw error }
            handle.recordCollection(at: context.timestamp, duration: started.duration(to: clock.now), error: error)
            throw error
        }
        switch outcome.result {
        case .success(let output):
            handle.recordCollection(at: context.timestamp, duration: outcome.duration, error: nil)
            await bus.publish(MetricBatch(source: collector.descriptor.id, timestamp: context.timestamp, samples: output.samples, report: output.report))
        case .failure(CollectorError.noData(let reason)):
            handle.recordCollection(at: context.timestamp, duration: outcome.duration, error: nil)
            logger.debug("no data", metadata: ["reason": "\(reason)"])
        case .failure(let error):
            if Task.isCancelled { throw error }
            handle.recordCollection(at: context.timestamp, duration: outcome.duration, error: error)
            throw error
        }
    }
}

extension CollectorRunner {
    /// Collects once, timed from where the collection runs: on `isolation` (the collector itself when it is an actor, so
    /// the clock is read after the hop to it) or, for nil, wherever the caller runs.
    static func timedCollection(
        _ collector: any Collector, _ context: CollectorContext, clock: C, isolation: isolated (any Actor)?
    ) async -> (result: Result<CollectorOutput, any Error>, duration: Duration) {
        let began = clock.now
        let result: Result<CollectorOutput, any Error>
        do { result = .success(try await collector.collect(context)) } catch { result = .failure(error) }
        return (result, began.duration(to: clock.now))
    }
}

/// `CLOCK_BOOTTIME`: monotonic, counts suspend, same origin as `/proc/uptime`.
public enum MonotonicClock {
    @Sendable public static func bootTimeSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
