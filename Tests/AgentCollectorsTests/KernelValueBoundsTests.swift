//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentCollectors
import AgentRuntime
import Foundation
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
        // (Set through Foundation: timespec's members come from a module a clean build of this target does not import.)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 32_503_680_000)], ofItemAtPath: path)
        let fingerprint = HostFile.fingerprint(path)
        #expect(fingerprint.modifiedNanoseconds == Int64.max)
        #expect(fingerprint.size == 2)
    }
}
