//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import Synchronization

/// What a plugin has done since the agent started: lines, samples, rejections, its last exit.
public struct PluginStatistics: Sendable, Hashable {
    /// Lines that decoded to a message.
    public var validLines: UInt64 = 0
    /// Rejected lines by reason (`invalid_json`, `line_too_long`, …).
    public var badLines: [String: UInt64] = [:]
    /// Samples dropped from otherwise valid `metrics` messages, by reason (`non_finite_value`, …).
    public var rejectedSamples: [String: UInt64] = [:]
    public var samples: UInt64 = 0
    public var batches: UInt64 = 0
    public var lastSampleAt: Timestamp?
    /// Unknown members of known messages.
    public var ignoredFields: UInt64 = 0
    /// Messages of unknown types.
    public var ignoredMessages: UInt64 = 0
    /// `log` messages and stderr lines not logged because of the rate limit.
    public var logRateLimited: UInt64 = 0
    public var stderrLines: UInt64 = 0
    /// From the last hello.
    public var protocolVersion: Int?
    public var pluginVersion: String?
    /// How the last run ended, e.g. `exited with status 1 before producing a valid line`.
    public var lastExit: String?
    public var lastExitAt: Timestamp?
    /// Set when the plugin asked to be disabled or was refused; cleared by enable or reload.
    public var disabledReason: String?
    /// The last report of each service (at most 256).
    public var services: [String: PluginServiceState] = [:]
    /// The last few rejections, newest last: `line 3: invalid_json: …`.
    public var recentRejections: [String] = []
    /// The process id of the running plugin.
    public var processID: Int32?
    /// Samples per second over the last minute of batches.
    public var samplesPerSecond: Double?
    /// The last few stderr lines, newest last (for exit diagnoses).
    public var lastStderr: [String] = []
    /// Distinct series reported within the series idle timeout (at most the manifest's `max_series`).
    public var series = 0

    public init() {}

    public var badLineTotal: UInt64 { badLines.values.reduce(0, +) }
}

/// A plugin's shared, lock-protected statistics: the host writes, the API reads without an actor hop.
public final class PluginHandle: Sendable {
    public let name: String
    private let state = Mutex(PluginStatistics())
    /// (time, samples) of recent batches for the samples/s figure.
    private let rate = Mutex<[(Double, Int)]>([])
    private let changes = Atomic<UInt64>(0)
    /// Every series the plugin reported, with when it was last seen (monotonic seconds), for `max_series`.
    private let seriesSeen = Mutex(SeriesTable())
    /// The newest `timestamp_ms` accepted: an older one is out of order.
    private let newestStamp = Mutex<Int64?>(nil)

    struct SeriesTable {
        var lastSeen: [SeriesKey: Double] = [:]
        var lastSweep: Double = 0
    }

    /// Increases on every change of the statistics: a cheap "has anything changed" check for response caches.
    public var changeCount: UInt64 { changes.load(ordering: .acquiring) }

    public init(name: String) {
        self.name = name
    }

    public var snapshot: PluginStatistics {
        var value = state.withLock { $0 }
        value.samplesPerSecond = samplesPerSecond()
        value.series = seriesSeen.withLock { $0.lastSeen.count }
        return value
    }

    /// Splits `samples` into those whose series is known or still fits under `limit`, and the indices of those
    /// of new series beyond it. Series not seen for `idle` are forgotten first (checked at most every tenth of `idle`).
    func admit(_ samples: [MetricSample], limit: Int, idle: Duration, at monotonic: Double) -> (kept: [MetricSample], refused: [Int]) {
        let idleSeconds = idle.secondsDouble
        return seriesSeen.withLock { table in
            if monotonic - table.lastSweep >= idleSeconds / 10 {
                table.lastSweep = monotonic
                table.lastSeen = table.lastSeen.filter { monotonic - $0.value < idleSeconds }
            }
            var kept: [MetricSample] = []
            kept.reserveCapacity(samples.count)
            var refused: [Int] = []
            for (index, sample) in samples.enumerated() {
                let key = SeriesKey(name: sample.name, labels: sample.labels)
                if table.lastSeen[key] != nil || table.lastSeen.count < limit {
                    table.lastSeen[key] = monotonic
                    kept.append(sample)
                } else {
                    refused.append(index)
                }
            }
            return (kept, refused)
        }
    }

    /// Accepts `stamp` (milliseconds) as the plugin's newest unless it is older than the newest accepted so far;
    /// returns that newest when `stamp` is out of order.
    func acceptStamp(_ stamp: Int64) -> Int64? {
        newestStamp.withLock { newest in
            if let current = newest, stamp < current { return current }
            newest = stamp
            return nil
        }
    }

    public func update(_ body: (inout PluginStatistics) -> Void) {
        state.withLock { body(&$0) }
        changes.wrappingAdd(1, ordering: .releasing)
    }

    func recordBatch(samples: Int, at monotonic: Double) {
        rate.withLock { entries in
            entries.append((monotonic, samples))
            if entries.count > 512 { entries.removeFirst(entries.count - 256) }
            while let first = entries.first, monotonic - first.0 > 60 { entries.removeFirst() }
        }
    }

    private func samplesPerSecond() -> Double? {
        rate.withLock { entries -> Double? in
            guard let first = entries.first, let last = entries.last, entries.count >= 2, last.0 > first.0 else { return nil }
            let total = entries.dropFirst().reduce(0) { $0 + $1.1 }
            return Double(total) / (last.0 - first.0)
        }
    }

    func noteRejection(_ text: String) {
        state.withLock { value in
            value.recentRejections.append(String(text.prefix(300)))
            if value.recentRejections.count > 10 { value.recentRejections.removeFirst() }
        }
        changes.wrappingAdd(1, ordering: .releasing)
    }
}
