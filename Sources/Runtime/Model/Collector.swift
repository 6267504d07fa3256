//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging

/// Static facts about a collector: its id, whether it runs by default and how often.
public struct CollectorDescriptor: Sendable, Hashable {
    /// Stable id used in configuration (`[collectors.<id>]`), logs, metrics and the API (`cpu`, `memory`, …).
    public var id: String
    public var enabledByDefault: Bool
    /// Core collectors feed `system_health`; when one of them is `failed`, `/api/v1/health` is `unhealthy`.
    public var isCore: Bool
    /// Default deadline of one collection.
    public var defaultTimeout: Duration
    /// The key of the collector's own `system_info` section (``SystemInfoSection/key``), nil when it has none:
    /// the API then always carries `system_info.<key>`, `null` until the collector reports it.
    public var sectionKey: String?
    /// The host files the collector reads (globs under procfs, sysfs and the root filesystem): what
    /// `viworks-agent capture` copies so that `collect --root` replays the host. The one list of them.
    public var reads: [HostRead]

    /// - Parameters:
    ///   - section: the type of the ``CollectorReport/section(_:)`` the collector publishes, if any.
    ///   - reads: every host file `collect` reads.
    public init(
        id: String, enabledByDefault: Bool = true, isCore: Bool = true, defaultTimeout: Duration = .seconds(10),
        section: (any SystemInfoSection.Type)? = nil, reads: [HostRead] = []
    ) {
        self.id = id
        self.enabledByDefault = enabledByDefault
        self.isCore = isCore
        self.defaultTimeout = defaultTimeout
        self.sectionKey = section?.key
        self.reads = reads
    }
}

/// What a collection gets to work with.
public struct CollectorContext: Sendable {
    public var paths: HostPaths
    public var logger: Logger
    /// Wall-clock time of this collection.
    public var timestamp: Timestamp
    /// Seconds on a monotonic clock that does not stop in suspend (`CLOCK_BOOTTIME`, the same clock as
    /// `/proc/uptime`), used as the denominator of rates. Replays of captured trees use their `proc/uptime`.
    public var monotonicSeconds: Double
    /// The deadline of this collection: work with its own timeouts (probes, D-Bus calls) must fit inside it.
    public var timeout: Duration

    public init(paths: HostPaths, logger: Logger, timestamp: Timestamp, monotonicSeconds: Double, timeout: Duration = .seconds(10)) {
        self.paths = paths
        self.logger = logger
        self.timestamp = timestamp
        self.monotonicSeconds = monotonicSeconds
        self.timeout = timeout
    }
}

/// What one collection returns: samples for `/metrics` and history, and a typed report for the JSON API.
public struct CollectorOutput: Sendable {
    public var samples: [MetricSample]
    public var report: CollectorReport?

    public init(samples: [MetricSample], report: CollectorReport? = nil) {
        self.samples = samples
        self.report = report
    }
}

/// A built-in source of measurements. Stateful collectors (rates) are actors.
///
/// Parsing lives in pure static functions over text so fixtures can test it; `collect` reads the
/// files under ``CollectorContext/paths`` and never runs external commands.
public protocol Collector: Sendable {
    var descriptor: CollectorDescriptor { get }
    /// Collects once.
    /// - Throws: ``CollectorError/noData`` when there is nothing to report on this host, any other error on failure.
    func collect(_ context: CollectorContext) async throws -> CollectorOutput
}

/// A collector whose figures come from system calls rather than files (disk: `statvfs`): it writes their answers into a
/// capture tree as files, and its collection of such a tree reads them back instead of calling the system.
public protocol RecordsSystemCalls: Collector {
    /// Calls the system for the host that `paths` describe and writes the answers under `tree`.
    /// - Throws: ``HostFileError`` when a file of `paths` cannot be read or one of `tree` cannot be written.
    func record(from paths: HostPaths, into tree: HostPaths) async throws
}

/// Errors a collector throws.
public enum CollectorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Nothing to report on this host (e.g. no sensors); not a failure.
    case noData(String)
    /// The collection did not finish within its deadline.
    case timedOut(Duration)

    public var description: String {
        switch self {
        case .noData(let why): "no data: \(why)"
        case .timedOut(let limit): "timed out after \(limit.secondsDouble) s"
        }
    }
}

/// A file that could not be parsed: names the file, the 1-based line and the reason.
public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var reason: String

    public init(file: String, line: Int? = nil, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        if let line { return "\(file):\(line): \(reason)" }
        return "\(file): \(reason)"
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
