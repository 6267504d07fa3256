//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentCollectors
import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Figures read from the kernel's files (a boot time, a tick count, a file's modification time) are converted without
/// trapping arithmetic: an absurd value saturates, it never stops the agent.
struct KernelValueBoundsTests {
    @Test func processStartTimesAreExactAndSaturate() {
        // btime 1795982212 + 1016781 ticks at 100 Hz = 1795982212 + 10167.81 s.
        #expect(ServicesCollector.startTime(bootTime: 1_795_982_212, startTicks: 1_016_781, ticksPerSecond: 100)
            == Timestamp(nanosecondsSinceEpoch: 1_795_992_379_810_000_000))
        #expect(ServicesCollector.startTime(bootTime: 1e300, startTicks: 5, ticksPerSecond: 100).nanosecondsSinceEpoch == Int64.max)
        #expect(ServicesCollector.startTime(bootTime: .nan, startTicks: 250, ticksPerSecond: 100) == Timestamp(nanosecondsSinceEpoch: 2_500_000_000))
        #expect(ServicesCollector.startTime(bootTime: -1e300, startTicks: 0, ticksPerSecond: 100).nanosecondsSinceEpoch == Int64.min)
        #expect(ServicesCollector.startTime(bootTime: 1_795_982_212, startTicks: UInt64.max, ticksPerSecond: 100).nanosecondsSinceEpoch == Int64.max)
        #expect(ServicesCollector.startTime(bootTime: 0, startTicks: 3, ticksPerSecond: 0) == Timestamp(nanosecondsSinceEpoch: 3_000_000_000))
        #expect(ServicesCollector.startTime(bootTime: 0, startTicks: 3, ticksPerSecond: .infinity) == Timestamp(nanosecondsSinceEpoch: 3_000_000_000))
    }

    @Test func aFileStampedInTheYear3000HasASaturatedFingerprint() throws {
        let path = "/tmp/viworks-fingerprint-\(getpid())"
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        try #require(fd >= 0)
        HostFile.writeAll(fd, Array("x\n".utf8))
        close(fd)
        defer { unlink(path) }
        // 32503680000 s = 3000-01-01T00:00:00Z, past the Int64 nanosecond range (2262).
        // (Fields set one by one: the memberwise initializer of timespec lives in a module a clean build does not see here.)
        var year3000 = timespec()
        year3000.tv_sec = 32_503_680_000
        year3000.tv_nsec = 0
        var times = [year3000, year3000]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let fingerprint = HostFile.fingerprint(path)
        #expect(fingerprint.modifiedNanoseconds == Int64.max)
        #expect(fingerprint.size == 2)
    }
}
