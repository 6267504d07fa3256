//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Testing

@Suite("cpu")
struct CPUCollectorTests {
    // MARK: parser

    @Test func parsesCPULinesAndBootTime() throws {
        let stat = try ProcStatParser.parse(
            """
            cpu  22368 0 4393 30205 189 0 25 12 0 0
            cpu0 10575 0 2116 15871 16 0 8 4 0 0
            cpu1 11793 0 2276 14333 173 0 17 7 0 0
            intr 164807 0 0
            cpufreq_unknown_key 1 2 3
            btime 1764446168
            """)
        #expect(stat.total == CPUTimes(user: 22368, system: 4393, idle: 30205, iowait: 189, softirq: 25, steal: 12))
        #expect(stat.cpus.map(\.name) == ["cpu0", "cpu1"])
        #expect(stat.cpus[1].times.iowait == 173)
        #expect(stat.bootTime == 1_764_446_168)
    }

    @Test func oldKernelWithFourColumns() throws {
        // Linux 2.4 printed user nice system idle only.
        let stat = try ProcStatParser.parse("cpu  100 2 30 400\ncpu0 100 2 30 400\n")
        #expect(stat.total == CPUTimes(user: 100, nice: 2, system: 30, idle: 400))
    }

    @Test func malformedLinesThrowWithFileAndLine() {
        #expect(throws: ParseError(file: "/proc/stat", line: 2, reason: "\"x\" is not a counter")) {
            try ProcStatParser.parse("cpu  1 2 3 4\ncpu0 1 x 3 4\n")
        }
        #expect(throws: ParseError.self) { try ProcStatParser.parse("cpu  1 2\n") }
        #expect(throws: ParseError(file: "/proc/stat", reason: "no aggregate \"cpu\" line")) { try ProcStatParser.parse("") }
        #expect(throws: ParseError.self) { try ProcStatParser.parse("cpu 99999999999999999999999 0 0 0\n") }
    }

    @Test func guestTimeIsNotCountedTwice() {
        // cpu 1000 0 500 8000 0 0 0 0 600 0 → cpu 1600 0 500 8400 0 0 0 0 1200 0:
        // Δuser 600 (of which Δguest 600 is a part), Δidle 400 → busy 600 / total 1000 = 60 %.
        // Adding guest again would give 1200 / 1600 = 75 %.
        let usage = CPUUsage.between(
            CPUTimes(user: 1000, system: 500, idle: 8000, guest: 600), CPUTimes(user: 1600, system: 500, idle: 8400, guest: 1200))
        #expect(usage.busyPercent == 60)
    }

    @Test func zeroIntervalIsZeroPercentNotNaN() {
        let times = CPUTimes(user: 10, idle: 10)
        #expect(CPUUsage.between(times, times) == CPUUsage(busyPercent: 0, iowaitPercent: 0, stealPercent: 0))
    }

    @Test func everyCounterBackwardsIsClampedInsideRange() {
        let usage = CPUUsage.between(CPUTimes(user: 500, idle: 500, iowait: 500), CPUTimes(user: 400, idle: 600, iowait: 0))
        #expect(usage.busyPercent == 0)
        let busy = CPUUsage.between(CPUTimes(user: 0, idle: 500), CPUTimes(user: 100, idle: 0))
        #expect(busy.busyPercent == 100)
    }

    // MARK: multi-step cases

    @Test func iowaitGoingBackwards() async throws {
        let steps = try Fixtures.steps("cpu", "iowait-backwards")
        #expect(steps.count == 3)
        let collector = CPUCollector()
        let first = try await collector.collect(Fixtures.context(steps[0]))
        #expect(first.cpu?.usagePercent == nil)
        #expect(first.cpu?.perCore.map(\.usagePercent) == [nil, nil])
        #expect(first.value("viworks_cpu_usage_percent") == nil)

        // step0 → step1 aggregate: Δuser 300, Δsystem 100, Δidle 500, Δiowait −100 → clamped to 0.
        // busy 400 / total 900 = 44.44 % (without the clamp: 400 / 800 = 50 %).
        let second = try await collector.collect(Fixtures.context(steps[1]))
        #expect(second.cpu?.usagePercent == 44.44)
        #expect(second.cpu?.iowaitPercent == 0)
        // cpu0: Δuser 150, Δsystem 50, Δidle 250 → 200 / 450; cpu1 the same with its iowait clamped.
        #expect(second.cpu?.perCore.map(\.usagePercent) == [44.44, 44.44])

        // step1 → step2: Δuser 200, Δsystem 100, Δidle 500, Δiowait 200, Δsoftirq 100
        // → busy 400 / total 1100 = 36.36 %, iowait 200 / 1100 = 18.18 %.
        let third = try await collector.collect(Fixtures.context(steps[2]))
        #expect(third.cpu?.usagePercent == 36.36)
        #expect(third.cpu?.iowaitPercent == 18.18)
        // cpu0: Δuser 100, Δsystem 50, Δsoftirq 50, Δidle 250, Δiowait 50 → 200 / 500 = 40 %.
        // cpu1: Δiowait 150 (from 1400) → 200 / 600 = 33.33 %.
        #expect(third.cpu?.perCore.map(\.usagePercent) == [40, 33.33])
        #expect(third.value("viworks_cpu_core_usage_percent", ["cpu": "cpu1"]) == 33.33)
        #expect(third.value("viworks_cpu_iowait_percent") == 18.18)
        #expect(third.value("viworks_cpu_steal_percent") == 0)
        expectWellFormed(third)
    }

    @Test func guestTimeCase() async throws {
        let steps = try Fixtures.steps("cpu", "guest-time")
        let collector = CPUCollector()
        _ = try await collector.collect(Fixtures.context(steps[0]))
        let output = try await collector.collect(Fixtures.context(steps[1]))
        // 600 busy of 1000 (guest 600 is already inside user): 60 %, not 75 %.
        #expect(output.cpu?.usagePercent == 60)
        #expect(output.cpu?.perCore.first?.usagePercent == 60)
    }

    @Test func cpuThatDisappearsAndComesBack() async throws {
        let steps = try Fixtures.steps("cpu", "cpu-offline-online")
        #expect(steps.count == 4)
        let collector = CPUCollector()
        _ = try await collector.collect(Fixtures.context(steps[0]))

        // step1: cpu1 went offline. cpu0: Δuser 300, Δsystem 100, Δidle 600 → 400 / 1000 = 40 %.
        let offline = try await collector.collect(Fixtures.context(steps[1]))
        #expect(offline.cpu?.cores == 1)
        #expect(offline.cpu?.perCore == [CPUReport.CoreUsage(cpu: "cpu0", usagePercent: 40)])
        #expect(offline.cpu?.usagePercent == 40)

        // step2: cpu1 is back with counters restarted near 0, so the aggregate line went backwards
        // (user 2300 → 1600). cpu1 gets a fresh baseline (nil); the total comes from cpu0 alone:
        // Δuser 200, Δsystem 50, Δidle 400 → 250 / 650 = 38.46 % (no spike, no 0 from clamped fields).
        let back = try await collector.collect(Fixtures.context(steps[2]))
        #expect(back.cpu?.cores == 2)
        #expect(back.cpu?.perCore == [CPUReport.CoreUsage(cpu: "cpu0", usagePercent: 38.46), CPUReport.CoreUsage(cpu: "cpu1", usagePercent: nil)])
        #expect(back.cpu?.usagePercent == 38.46)
        #expect(back.value("viworks_cpu_core_usage_percent", ["cpu": "cpu1"]) == nil)

        // step3: normal again. cpu0: Δuser 150, Δsystem 50, Δidle 450 → 200 / 650 = 30.77 %;
        // cpu1: Δuser 150, Δsystem 50, Δidle 350 → 200 / 550 = 36.36 %;
        // aggregate: Δuser 300, Δsystem 100, Δidle 800 → 400 / 1200 = 33.33 %.
        let normal = try await collector.collect(Fixtures.context(steps[3]))
        #expect(normal.cpu?.perCore.map(\.usagePercent) == [30.77, 36.36])
        #expect(normal.cpu?.usagePercent == 33.33)
    }

    // MARK: cpuinfo

    @Test func x86CPUInfoFromThisMachine() throws {
        let text = try HostFile.read(Fixtures.host("debian12-amd-epyc-vm").proc("cpuinfo"))
        #expect(CPUInfoParser.parse(text) == CPUInfo(brand: "AMD EPYC", frequencyMHz: 2596.12))
    }

    @Test func armBrandFromImplementerAndPart() throws {
        let pi = try HostFile.read(Fixtures.host("raspberry-pi-4-arm64").proc("cpuinfo"))
        #expect(CPUInfoParser.parse(pi) == CPUInfo(brand: "ARM Cortex-A72", frequencyMHz: nil))
        let graviton = try HostFile.read(Fixtures.host("aws-graviton2-arm64").proc("cpuinfo"))
        #expect(CPUInfoParser.parse(graviton).brand == "ARM Neoverse-N1")
        #expect(CPUInfoParser.armBrand(implementer: "0x41", part: "0xd03") == "ARM Cortex-A53")
        #expect(CPUInfoParser.armBrand(implementer: "0x41", part: "0xd40") == "ARM Neoverse-V1")
        #expect(CPUInfoParser.armBrand(implementer: "0x41", part: "0xd4f") == "ARM Neoverse-V2")
        #expect(CPUInfoParser.armBrand(implementer: "0x41", part: "0xd99") == "ARM implementer 0x41 part 0xd99")
        #expect(CPUInfoParser.armBrand(implementer: "0x6d", part: "0x001") == "ARM implementer 0x6d part 0x1")
    }

    @Test func oddCPUInfoDoesNotCrash() {
        #expect(CPUInfoParser.parse("") == CPUInfo(brand: nil, frequencyMHz: nil))
        #expect(CPUInfoParser.parse(":::\nmodel name\ncpu MHz : fast\n") == CPUInfo(brand: nil, frequencyMHz: nil))
        #expect(CPUInfoParser.parse("processor : 0\ncpu : POWER9 (architected), altivec supported\n").brand == "POWER9 (architected), altivec supported")
    }

    @Test func raspberryPiCollectorUsesCpufreq() async throws {
        let output = try await CPUCollector().collect(Fixtures.context(Fixtures.host("raspberry-pi-4-arm64")))
        let report = try #require(output.cpu)
        #expect(report.cores == 4)
        #expect(report.brand == "ARM Cortex-A72")
        // scaling_cur_freq 1500000 kHz → 1500 MHz.
        #expect(report.frequencyMHz == 1500)
        #expect(output.value("viworks_cpu_frequency_hertz") == 1_500_000_000)
        #expect(output.value("viworks_cpu_cores") == 4)
        #expect(report.usagePercent == nil)
        // cpu0 user 333471 jiffies at USER_HZ 100 = 3334.71 s.
        #expect(output.value("viworks_cpu_seconds_total", ["cpu": "cpu0", "mode": "user"]) == 3334.71)
        #expect(output.samples.filter { $0.name == "viworks_cpu_seconds_total" }.count == 4 * 8)
        expectWellFormed(output)
    }
}
