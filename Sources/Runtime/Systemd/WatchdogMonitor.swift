//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Why a watchdog ping is sent or withheld.
public enum WatchdogVerdict: Sendable, Hashable, CustomStringConvertible {
    /// Ping: the agent is healthy.
    case healthy
    /// Withhold: the supervisor's heartbeat is older than the limit (nil age: it never beat, past the start grace).
    case heartbeatStale(age: Duration?, limit: Duration)
    /// Withhold: no batch was published on the bus for longer than the limit while a child was running.
    case busStalled(for: Duration, limit: Duration)

    public var isHealthy: Bool { self == .healthy }

    public var description: String {
        switch self {
        case .healthy:
            return "healthy"
        case .heartbeatStale(let age, let limit):
            let ageText = age.map { "\($0.secondsDouble)s old" } ?? "missing"
            return "supervisor heartbeat \(ageText) (limit \(limit.secondsDouble)s)"
        case .busStalled(let stalled, let limit):
            return "no batch published for \(stalled.secondsDouble)s while collectors run (limit \(limit.secondsDouble)s)"
        }
    }
}

/// Decides, at each watchdog tick, whether the agent is healthy enough to send `WATCHDOG=1`.
///
/// The ping is **withheld** when either of these holds, and only then:
///
/// 1. **The supervisor's heartbeat is stale**: its age is greater than ``heartbeatLimit`` =
///    max(ping interval, 2 × the supervisor's heartbeat interval). The supervisor beats every
///    heartbeat interval (1 s) from a task of its own, so a stale beat means the supervisor, or the
///    executor it runs on, no longer makes progress. Before the first beat, a missing heartbeat counts
///    as fresh for ``heartbeatLimit`` after the monitor started, then as stale.
/// 2. **The bus stalled**: the bus's published-batch count did not change for longer than
///    ``busStallLimit`` = max(3 × the shortest collector interval, the ping interval) while at least one
///    supervised child was `running`. Progress is observed at each tick, so two ticks in a row without a
///    new batch are needed at least. While no child is `running` (all restarting, failed or disabled) the
///    bus is not expected to move; the clock of the stall restarts then.
///
/// A hung collector therefore never withholds the ping by itself: its runner's deadline (at most its
/// interval) turns the hang into a failure that the supervisor restarts with backoff, and the other
/// collectors keep the bus moving. A blocked cooperative executor withholds the ping without any check,
/// because the pings are sent from a task on that executor; a bus actor that never answers does too,
/// because the tick waits for its count.
public struct WatchdogMonitor<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public let heartbeatLimit: Duration
    public let busStallLimit: Duration
    private let started: Instant
    private var lastCount: UInt64?
    private var lastProgress: Instant

    /// - Parameters:
    ///   - start: when the monitor starts (the start grace of the heartbeat and of the bus counts from it).
    ///   - pingInterval: the watchdog tick, half of `WATCHDOG_USEC`.
    ///   - heartbeatInterval: the supervisor's beat interval.
    ///   - shortestCollectorInterval: the shortest interval of the enabled collectors (nil: none enabled).
    public init(start: Instant, pingInterval: Duration, heartbeatInterval: Duration, shortestCollectorInterval: Duration?) {
        self.started = start
        self.lastProgress = start
        self.heartbeatLimit = max(pingInterval, heartbeatInterval * 2)
        self.busStallLimit = max((shortestCollectorInterval ?? pingInterval) * 3, pingInterval)
    }

    /// Records this tick's observations and returns the verdict.
    /// - Parameters:
    ///   - now: the tick's time.
    ///   - heartbeatAge: `Supervisor.heartbeatAge()`.
    ///   - publishedCount: `MetricsBus.publishedCount()`.
    ///   - childRunning: whether at least one supervised child is `running`.
    public mutating func check(now: Instant, heartbeatAge: Duration?, publishedCount: UInt64, childRunning: Bool) -> WatchdogVerdict {
        if lastCount != publishedCount || !childRunning {
            lastCount = publishedCount
            lastProgress = now
        }
        if let heartbeatAge {
            if heartbeatAge > heartbeatLimit { return .heartbeatStale(age: heartbeatAge, limit: heartbeatLimit) }
        } else if started.duration(to: now) > heartbeatLimit {
            return .heartbeatStale(age: nil, limit: heartbeatLimit)
        }
        let stalled = lastProgress.duration(to: now)
        if stalled > busStallLimit { return .busStalled(for: stalled, limit: busStallLimit) }
        return .healthy
    }
}
