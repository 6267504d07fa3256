//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import Foundation
import Testing

/// The stats arithmetic against stats documents: `cgroup-v1.json` and `cgroup-v1-first-read.json` were captured from
/// Docker 20.10.24 on this build machine (cgroup v1, 2 CPUs; a busybox container busy-looping under a 0.5 CPU cap after
/// writing 20 MiB to its root filesystem); `cgroup-v2.json` is written from the Engine API documentation's cgroup v2
/// shape (no `percpu_usage`, `inactive_file` instead of `total_inactive_file`) with round numbers.
@Suite struct ContainerStatsTests {
    static func fixture(_ name: String) throws -> ContainerStats {
        let file = "\(#filePath)"
        let directory = file.lastIndex(of: "/").map { String(file[..<$0]) } ?? "."
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/Fixtures/stats/" + name))
        return try JSONDecoder().decode(ContainerStats.self, from: data)
    }

    @Test func cgroupV1CPUPercentFromTheDocumentsOwnPreviousSample() throws {
        let stats = try Self.fixture("cgroup-v1.json")
        // total_usage 2059249058 - 1559403111 = 499845947 ns; system_cpu_usage 22996530000000 - 22994530000000 =
        // 2000000000 ns; online_cpus 2: 499845947 / 2000000000 × 2 × 100 = 49.9845947 % (the 0.5 CPU cap, busy).
        let percent = try #require(ContainerStatsMath.cpuPercent(stats))
        #expect(abs(percent - 49.9845947) < 1e-9)
    }

    @Test func cgroupV1WithoutOnlineCPUsCountsThePerCPUUsage() throws {
        var stats = try Self.fixture("cgroup-v1.json")
        stats.cpuStats.onlineCPUs = nil
        // percpu_usage has 2 entries: the same 49.9845947 %.
        #expect(stats.cpuStats.cpuUsage.percpuUsage?.count == 2)
        let percent = try #require(ContainerStatsMath.cpuPercent(stats))
        #expect(abs(percent - 49.9845947) < 1e-9)
        stats.cpuStats.onlineCPUs = 0
        #expect(abs((ContainerStatsMath.cpuPercent(stats) ?? 0) - 49.9845947) < 1e-9)
    }

    @Test func cgroupV1MemoryIsUsageMinusTotalInactiveFile() throws {
        let stats = try Self.fixture("cgroup-v1.json")
        // usage 22196224 - total_inactive_file 20971520 (the 20 MiB written by dd) = 1224704 bytes.
        #expect(ContainerStatsMath.memoryBytes(stats.memoryStats) == 1_224_704)
        #expect(ContainerStatsMath.memoryLimitBytes(stats.memoryStats) == 134_217_728)
        #expect(stats.networkBytes == 516)
    }

    @Test func firstOneShotReadHasNoCPUPercent() throws {
        let first = try Self.fixture("cgroup-v1-first-read.json")
        // precpu_stats is all zero (no system_cpu_usage): nil, not 0 and not total_usage / system_cpu_usage.
        #expect(first.precpuStats?.systemCPUUsage == nil)
        #expect(ContainerStatsMath.cpuPercent(first) == nil)
        #expect(ContainerStatsMath.cpuPercent(current: first.cpuStats, previous: nil) == nil)
        // Memory needs no previous sample: 22196224 - 20971520 = 1224704.
        #expect(ContainerStatsMath.memoryBytes(first.memoryStats) == 1_224_704)
    }

    @Test func twoOneShotReadsGiveThePercentBetweenThem() throws {
        let earlier = try Self.fixture("cgroup-v1.json")
        let later = try Self.fixture("cgroup-v1-first-read.json")
        // 4210628002 - 2059249058 = 2151378944 ns over 23005150000000 - 22996530000000 = 8620000000 ns, 2 CPUs:
        // 2151378944 / 8620000000 × 200 = 49.91598477958237 %.
        let percent = try #require(ContainerStatsMath.cpuPercent(current: later.cpuStats, previous: earlier.cpuStats))
        #expect(abs(percent - 49.91598477958237) < 1e-9)
        // Backwards (a restarted container's counter is smaller): nil, not a negative number or a spike.
        #expect(ContainerStatsMath.cpuPercent(current: earlier.cpuStats, previous: later.cpuStats) == nil)
    }

    @Test func cgroupV2CPUAndMemory() throws {
        let stats = try Self.fixture("cgroup-v2.json")
        #expect(stats.cpuStats.cpuUsage.percpuUsage == nil)
        // 1250000000 - 1000000000 = 250000000 ns over 100004000000000 - 100000000000000 = 4000000000 ns, 4 CPUs:
        // 250000000 / 4000000000 × 4 × 100 = 25 %.
        #expect(ContainerStatsMath.cpuPercent(stats) == 25)
        // usage 52428800 (50 MiB) - inactive_file 10485760 (10 MiB) = 41943040 (40 MiB).
        #expect(ContainerStatsMath.memoryBytes(stats.memoryStats) == 41_943_040)
        #expect(ContainerStatsMath.memoryLimitBytes(stats.memoryStats) == 268_435_456)
        // rx 2048 + tx 1024.
        #expect(stats.networkBytes == 3072)
        #expect(stats.sentBytes == 1024)
    }

    @Test func cgroupV2WithoutOnlineCPUsOrPerCPUIsUnknown() throws {
        var stats = try Self.fixture("cgroup-v2.json")
        stats.cpuStats.onlineCPUs = nil
        #expect(ContainerStatsMath.cpuPercent(stats) == nil)
    }

    @Test func limitsThatMeanUnlimitedAreNil() throws {
        // Decoding the largest values is no error, and none of them reads as a limit.
        for raw in ["9223372036854771712", "9223372036854710272", "9223372036854775807", "18446744073709551615"] {
            let json = #"{"memory_stats": {"usage": 4096, "limit": \#(raw), "stats": {}}, "pids_stats": {"current": 1, "limit": \#(raw)}}"#
            let stats = try JSONDecoder().decode(ContainerStats.self, from: Data(json.utf8))
            #expect(stats.memoryStats.limit == UInt64(raw), "\(raw) decodes exactly")
            #expect(ContainerStatsMath.memoryLimitBytes(stats.memoryStats) == nil, "\(raw) is no limit")
            #expect(ContainerStatsMath.memoryBytes(stats.memoryStats) == 4096)
        }
        // A real limit, even a large one (1 TiB), stays.
        #expect(ContainerStatsMath.memoryLimitBytes(ContainerStats.MemoryStats(usage: 1, limit: 1 << 40, stats: [:])) == 1 << 40)
    }

    @Test func inactiveCacheLargerThanUsageLeavesTheUsage() {
        let memory = ContainerStats.MemoryStats(usage: 1000, limit: 0, stats: ["inactive_file": 5000])
        #expect(ContainerStatsMath.memoryBytes(memory) == 1000)
        #expect(ContainerStatsMath.memoryLimitBytes(memory) == nil)
        #expect(ContainerStatsMath.memoryBytes(ContainerStats.MemoryStats(usage: nil, limit: nil, stats: [:])) == nil)
    }
}
