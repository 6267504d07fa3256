//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentCollectors
import AgentRuntime
import Testing

extension CollectorOutput {
    var pressure: PressureReport? { if case .section(let r as PressureReport)? = report { r } else { nil } }
}

private func line(_ avg10: Double, _ avg60: Double, _ avg300: Double, _ total: UInt64) -> PressureLine {
    PressureLine(avg10: avg10, avg60: avg60, avg300: avg300, totalMicroseconds: total)
}

@Suite("pressure: /proc/pressure (PSI)")
struct PressureCollectorTests {
    /// The collector declares its `system_info` section; the catalog hands its key to the snapshot.
    @Test func declaresItsSystemInfoSection() {
        #expect(PressureCollector().descriptor.sectionKey == "pressure")
        #expect(CollectorCatalog.systemInfoSectionKeys == ["pressure"])
    }

    @Test func parsesSomeAndFull() {
        let resource = PressureParser.parse(
            "some avg10=55.27 avg60=40.26 avg300=21.34 total=1151616499\nfull avg10=0.50 avg60=0.25 avg300=0.10 total=1500000\n")
        #expect(resource.some == line(55.27, 40.26, 21.34, 1_151_616_499))
        #expect(resource.full == line(0.5, 0.25, 0.1, 1_500_000))
        // total is in microseconds: 1151616499 µs = 1151.616499 s.
        #expect(resource.some?.totalSeconds == 1151.616499)
        #expect(resource.full?.totalSeconds == 1.5)
    }

    @Test func cpuWithoutFullLineBeforeLinux513() {
        let resource = PressureParser.parse("some avg10=55.27 avg60=40.26 avg300=21.34 total=1151616499\n")
        #expect(resource.some == line(55.27, 40.26, 21.34, 1_151_616_499))
        #expect(resource.full == nil)
    }

    @Test(arguments: [
        "",
        "\n\n",
        "some\n",
        "some avg10=1.00 avg60=2.00 avg300=3.00\n",  // no total
        "some avg10=1.00 avg60=2.00 total=5\n",  // no avg300
        "some avg10=x avg60=2.00 avg300=3.00 total=5\n",
        "some avg10=1.00 avg60=2.00 avg300=3.00 total=-5\n",
        "some avg10=1.00 avg60=2.00 avg300=3.00 total=5.5\n",
        "some avg10=1.00 avg60=2.00 avg300=3.00 total=18446744073709551616\n",  // 2^64: beyond UInt64
        "some avg10=1.00 avg60=2.00 avg300=3.00 total=99999999999999999999999999999\n",
        "some avg10=nan avg60=2.00 avg300=3.00 total=5\n",
        "some avg10=inf avg60=2.00 avg300=3.00 total=5\n",
        "some avg10=-1.00 avg60=2.00 avg300=3.00 total=5\n",
        "some avg10=100.01 avg60=2.00 avg300=3.00 total=5\n",
        "some avg10=1e400 avg60=2.00 avg300=3.00 total=5\n",
        "some avg10=1.00 avg10=1.00 avg60=2.00 avg300=3.00 total=5\n",  // repeated key
        "some avg10=1.00=2 avg60=2.00 avg300=3.00 total=5\n",
        "some avg10 avg60=2.00 avg300=3.00 total=5\n",
        "half avg10=1.00 avg60=2.00 avg300=3.00 total=5\n",
        "\u{0}\u{ff}some avg10=1.00 avg60=2.00 avg300=3.00 total=5\n",
    ])
    func malformedLinesAreSkipped(_ text: String) {
        #expect(PressureParser.parse(text) == PressureResource(some: nil, full: nil))
    }

    @Test func aMalformedLineDoesNotHideAGoodOne() {
        let resource = PressureParser.parse(
            """
            some avg10=1.00 avg60=2.00 avg300=3.00 total=18446744073709551616
            some avg10=1.00 avg60=2.00 avg300=3.00 total=5
            full avg10=garbage
            full avg300=0.30 avg60=0.20 total=7 avg10=0.10 extra=1
            """)
        #expect(resource.some == line(1, 2, 3, 5))
        // Fields in another order, and a field a later kernel might add, are accepted.
        #expect(resource.full == line(0.1, 0.2, 0.3, 7))
    }

    @Test func totalsBeyondInt64DoNotTrap() {
        let resource = PressureParser.parse(
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551615\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=9223372036854775808\n")
        #expect(resource.some?.totalMicroseconds == UInt64.max)
        #expect(resource.full?.totalMicroseconds == 9_223_372_036_854_775_808)
        #expect(resource.some?.totalSeconds == Double(UInt64.max) / 1e6)
    }

    /// Captured from the development VM (Linux 6.x, PSI enabled).
    @Test func capturedHostWithPSI() async throws {
        let output = try await PressureCollector().collect(Fixtures.context(Fixtures.host("debian12-amd-epyc-vm")))
        let report = try #require(output.pressure)
        #expect(report.cpu == PressureResource(some: line(34.31, 36.59, 24.38, 1_179_179_328), full: line(0, 0, 0, 0)))
        #expect(report.memory == PressureResource(some: line(0, 0, 0, 205_174), full: line(0, 0, 0, 120_594)))
        #expect(report.io == PressureResource(some: line(0, 0, 0.21, 49_978_014), full: line(0, 0, 0.15, 34_903_275)))

        #expect(output.value("viworks_pressure_cpu_waiting_seconds_total") == 1179.179328)
        #expect(output.value("viworks_pressure_cpu_stalled_seconds_total") == 0)
        #expect(output.value("viworks_pressure_memory_waiting_seconds_total") == 0.205174)
        #expect(output.value("viworks_pressure_memory_stalled_seconds_total") == 0.120594)
        #expect(output.value("viworks_pressure_io_waiting_seconds_total") == 49.978014)
        #expect(output.value("viworks_pressure_io_stalled_seconds_total") == 34.903275)
        #expect(output.value("viworks_pressure_avg_percent", ["resource": "cpu", "kind": "some", "window": "10s"]) == 34.31)
        #expect(output.value("viworks_pressure_avg_percent", ["resource": "cpu", "kind": "some", "window": "60s"]) == 36.59)
        #expect(output.value("viworks_pressure_avg_percent", ["resource": "cpu", "kind": "some", "window": "300s"]) == 24.38)
        #expect(output.value("viworks_pressure_avg_percent", ["resource": "io", "kind": "full", "window": "300s"]) == 0.15)
        // 3 resources × (2 counters + 2 kinds × 3 windows).
        #expect(output.samples.count == 24)
        #expect(output.samples.filter { $0.kind == .counter }.count == 6)
        expectWellFormed(output)
    }

    @Test func kernelBefore513HasNoCPUFullAndNoSampleForIt() async throws {
        let paths = HostPaths(fixtureRoot: Fixtures.root + "/cases/pressure/kernel-5.10")
        let output = try await PressureCollector().collect(Fixtures.context(paths, monotonicSeconds: 1))
        let report = try #require(output.pressure)
        #expect(report.cpu == PressureResource(some: line(55.27, 40.26, 21.34, 1_151_616_499), full: nil))
        #expect(report.memory == PressureResource(some: line(1.5, 0.75, 0.25, 3_000_000), full: line(0.5, 0.25, 0.1, 1_500_000)))
        #expect(output.value("viworks_pressure_cpu_waiting_seconds_total") == 1151.616499)
        #expect(output.value("viworks_pressure_cpu_stalled_seconds_total") == nil)
        #expect(output.value("viworks_pressure_avg_percent", ["resource": "cpu", "kind": "full", "window": "10s"]) == nil)
        #expect(output.value("viworks_pressure_memory_waiting_seconds_total") == 3)
        #expect(output.value("viworks_pressure_memory_stalled_seconds_total") == 1.5)
        // u64 totals: 2^64 - 1 µs and 2^63 µs, as seconds.
        #expect(output.value("viworks_pressure_io_waiting_seconds_total") == Double(UInt64.max) / 1e6)
        #expect(output.value("viworks_pressure_io_stalled_seconds_total") == 9_223_372_036_854.775808)
        // cpu: 1 counter + 3 averages; memory and io: 2 counters + 6 averages each.
        #expect(output.samples.count == 20)
        expectWellFormed(output)
    }

    @Test func unreadableFilesAreNullBesideReadableOnes() async throws {
        let paths = HostPaths(fixtureRoot: Fixtures.root + "/cases/pressure/only-memory")
        let output = try await PressureCollector().collect(Fixtures.context(paths, monotonicSeconds: 1))
        #expect(output.pressure == PressureReport(cpu: nil, memory: PressureResource(some: line(0.1, 0.2, 0.3, 42), full: line(0, 0, 0, 7)), io: nil))
        #expect(output.value("viworks_pressure_memory_waiting_seconds_total") == 0.000042)
        #expect(output.value("viworks_pressure_cpu_waiting_seconds_total") == nil)
        expectWellFormed(output)
    }

    /// No `/proc/pressure` (a kernel before 4.20, CONFIG_PSI=n, `psi=0`): nothing to report, not a failure.
    @Test(arguments: ["centos6-kernel-2.6.32", "raspberry-pi-4-arm64"])
    func kernelWithoutPSIHasNoData(_ host: String) async throws {
        let collector = PressureCollector()
        for _ in 0..<2 {
            do {
                _ = try await collector.collect(Fixtures.context(Fixtures.host(host), monotonicSeconds: 1))
                Issue.record("expected no data")
            } catch CollectorError.noData(let reason) {
                #expect(reason.hasPrefix("pressure stall information is not supported by this kernel (open "))
            }
        }
    }

    @Test func isRegisteredAsAnOptionalBuiltin() {
        let collector = CollectorCatalog.builtins(configuration: AgentConfiguration()).first { $0.descriptor.id == "pressure" }
        #expect(collector is PressureCollector)
        #expect(collector?.descriptor.isCore == false)
        #expect(collector?.descriptor.enabledByDefault == true)
    }

    @Test func liveHost() async throws {
        guard HostFile.exists("/proc/pressure/cpu"), HostFile.readIfPresent("/proc/pressure/cpu") != nil else { return }
        let output = try await PressureCollector().collect(Fixtures.live())
        let report = try #require(output.pressure)
        for resource in [report.cpu, report.memory, report.io] {
            let some = try #require(resource?.some)
            #expect((0...100).contains(some.avg10) && (0...100).contains(some.avg60) && (0...100).contains(some.avg300))
        }
        // memory and io have had a full line since PSI appeared (4.20).
        #expect(report.memory?.full != nil)
        #expect(report.io?.full != nil)
        let cpuTotal = try #require(output.value("viworks_pressure_cpu_waiting_seconds_total"))
        #expect(cpuTotal >= 0)
        expectWellFormed(output)
    }
}
