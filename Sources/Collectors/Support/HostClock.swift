//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import AgentRuntime

/// The clocks that feed ``CollectorContext/monotonicSeconds``.
public enum HostClock {
    /// Seconds on `CLOCK_BOOTTIME` (the clock of `/proc/uptime`: monotonic, keeps counting in suspend).
    public static func bootTimeSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The first field of `<proc>/uptime`: the monotonic time of a captured tree, used when replaying
    /// fixture steps (`collect --root step0 --root step1`). Nil when the file is missing or malformed.
    public static func uptimeSeconds(paths: HostPaths) -> Double? {
        guard let text = HostFile.readIfPresent(paths.proc("uptime"), limit: 4096) else { return nil }
        return try? UptimeParser.parse(text).uptimeSeconds
    }

    /// `btime` of `<proc>/stat`: when the host booted, in seconds since the epoch; nil when missing.
    public static func bootTimeEpochSeconds(paths: HostPaths) -> Double? {
        guard let text = HostFile.readIfPresent(paths.proc("stat"), limit: 1 << 20) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingASCIIWhitespace())
        }
        return nil
    }
}
