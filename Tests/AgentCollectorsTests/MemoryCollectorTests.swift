//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Testing

@Suite("memory")
struct MemoryCollectorTests {
    @Test func thisMachine() async throws {
        let output = try await MemoryCollector().collect(Fixtures.context(Fixtures.host("debian12-amd-epyc-vm")))
        // MemTotal 24684092 kB, MemAvailable 24278908 kB, no swap.
        // used = 405184 kB = 414908416 B; 405184 / 24684092 = 1.6415 % → 1.64.
        #expect(
            output.memory
                == MemoryReport(
                    totalBytes: 25_276_510_208, usedBytes: 414_908_416, availableBytes: 24_861_601_792, usagePercent: 1.64,
                    availableEstimated: false, swapTotalBytes: 0, swapFreeBytes: 0))
        #expect(output.value("viworks_memory_total_bytes") == 25_276_510_208)
        #expect(output.value("viworks_memory_used_bytes") == 414_908_416)
        #expect(output.value("viworks_memory_available_bytes") == 24_861_601_792)
        #expect(output.value("viworks_memory_usage_percent") == 1.64)
        #expect(output.value("viworks_memory_swap_total_bytes") == 0)
        #expect(output.value("viworks_memory_swap_free_bytes") == 0)
        expectWellFormed(output)
    }

    @Test func memAvailableMissingIsEstimated() async throws {
        // CentOS 6, kernel 2.6.32: available ≈ MemFree 105508 + Active(file) 683912 + Inactive(file) 669120
        // + SReclaimable 148412 = 1606952 kB; used = 1922052 − 1606952 = 315100 kB;
        // 315100 / 1922052 = 16.394 % → 16.39.
        let output = try await MemoryCollector().collect(Fixtures.context(Fixtures.host("centos6-kernel-2.6.32")))
        let report = try #require(output.memory)
        #expect(report.availableEstimated)
        #expect(report.totalBytes == 1_922_052 * 1024)
        #expect(report.availableBytes == 1_606_952 * 1024)
        #expect(report.usedBytes == 315_100 * 1024)
        #expect(report.usagePercent == 16.39)
        #expect(report.swapTotalBytes == 4_128_760 * 1024)
        #expect(report.swapFreeBytes == 4_118_496 * 1024)
    }

    @Test func veryOldKernelFallsBackToBuffersAndCached() throws {
        // 2.6.18 has no Active(file)/Inactive(file): MemFree 100000 + Buffers 50000 + Cached 250000 = 400000 kB
        // of 1000000 kB → used 600000 kB = 60 %.
        let values = try MeminfoParser.parse(
            """
            MemTotal:      1000000 kB
            MemFree:        100000 kB
            Buffers:         50000 kB
            Cached:         250000 kB
            Active:         300000 kB
            """)
        let report = try MeminfoParser.report(values)
        #expect(report.availableEstimated)
        #expect(report.availableBytes == 400_000 * 1024)
        #expect(report.usagePercent == 60)
    }

    @Test func unitlessValuesAndErrors() throws {
        let values = try MeminfoParser.parse("HugePages_Total:       7\nHugepagesize:       2048 kB\nnonsense line\n")
        #expect(values["HugePages_Total"] == 7)
        #expect(values["Hugepagesize"] == 2048 * 1024)
        #expect(throws: ParseError(file: "/proc/meminfo", line: 2, reason: "MemFree: \"lots\" is not a number")) {
            try MeminfoParser.parse("MemTotal: 1 kB\nMemFree: lots kB\n")
        }
        #expect(throws: ParseError.self) { try MeminfoParser.report([:]) }
        // MemAvailable above MemTotal (never seen, but no underflow): clamped, 0 % used.
        let report = try MeminfoParser.report(["MemTotal": 1024, "MemAvailable": 4096])
        #expect(report.usedBytes == 0)
        #expect(report.usagePercent == 0)
    }
}
