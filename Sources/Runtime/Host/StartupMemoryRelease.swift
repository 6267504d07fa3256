//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
public import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Gives back, once, the memory that only start-up used.
///
/// Start-up runs code that never runs again (argument parsing, the TOML parser, configuration, bootstrap) and the
/// kernel maps the binary's code around every page fault in large windows, so right after start the agent's RSS
/// counts megabytes of code it will not touch again. Once the agent is ready (server listening, first collections
/// done) and has served a while, this service asks the kernel to drop the executable's code pages from the process
/// (`madvise(MADV_PAGEOUT)` on the read-only, executable mapping of the agent's own binary: code pages are clean and
/// never written, so nothing is lost; what is still used faults back in at once). Afterwards RSS is the steady-state
/// working set. (The heap is left alone: the agent's anonymous memory is about 2 MB.) It runs once and is switched off with
/// `[agent] release_startup_memory = false`.
public struct StartupMemoryRelease: Service {
    private let enabled: Bool
    private let isReady: @Sendable () -> Bool
    private let delay: Duration
    private let logger: Logger

    /// - Parameters:
    ///   - enabled: false makes the service do nothing (`[agent] release_startup_memory = false`).
    ///   - isReady: true once the agent serves and has collected (the same gate as systemd's READY).
    ///   - delay: how long after readiness to wait, so that the steady-state paths have run at least once.
    public init(enabled: Bool = true, isReady: @escaping @Sendable () -> Bool, delay: Duration = .seconds(10), logger: Logger) {
        self.enabled = enabled
        self.isReady = isReady
        self.delay = delay
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                guard enabled else {
                    try await gracefulShutdown()
                    return
                }
                while !isReady() { try await Task.sleep(for: .milliseconds(200)) }
                try await Task.sleep(for: delay)
                let before = Self.residentKilobytes()
                let released = Self.releaseExecutableCode()
                logger.debug(
                    "released start-up memory",
                    metadata: ["memory.code_bytes_advised": "\(released)", "memory.rss_kb_before": "\(before ?? -1)",
                        "memory.rss_kb_after": "\(Self.residentKilobytes() ?? -1)"])
                // Stay alive like every other service until shutdown.
                try await gracefulShutdown()
            }
        } catch is CancellationError {
            return
        }
    }

    /// `MADV_PAGEOUT` (Linux 5.4): reclaim the pages of a range as if under memory pressure.
    static let madvisePageout: Int32 = 21

    /// Advises the kernel to page out the read-only executable mappings of `/proc/self/exe`; returns the bytes advised.
    @discardableResult
    public static func releaseExecutableCode(maps: String? = HostFile.readIfPresent("/proc/self/maps"), executable: String? = HostFile.readLink("/proc/self/exe"))
        -> Int
    {
        guard let maps, let executable, !executable.isEmpty else { return 0 }
        var advised = 0
        for range in executableCodeRanges(maps: maps, executable: executable) {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            if madvise(start, range.count, madvisePageout) == 0 { advised += range.count }
        }
        return advised
    }

    /// The address ranges of `r-xp` mappings of `executable` in a `/proc/PID/maps` text (only code: never written,
    /// never relocated, so dropping its pages loses nothing).
    public static func executableCodeRanges(maps: String, executable: String) -> [Range<UInt>] {
        var ranges: [Range<UInt>] = []
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "r-xp", fields[5...].joined(separator: " ") == executable else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let low = UInt(bounds[0], radix: 16), let high = UInt(bounds[1], radix: 16), low < high else { continue }
            ranges.append(low..<high)
        }
        return ranges
    }

    /// VmRSS of this process in kB.
    static func residentKilobytes() -> Int? {
        guard let status = HostFile.readIfPresent("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }
}
