//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Testing

@Suite("network")
struct NetworkCollectorTests {
    private func interface(_ output: CollectorOutput, _ name: String) throws -> InterfaceReport {
        try #require(output.network?.interfaces.first { $0.name == name })
    }

    @Test func namesWithColonsAndGluedCounters() throws {
        let parsed = try NetDevParser.parse(
            """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
              eth0:68210035552 52030412    0   12    0     0          0     10391 9127631283 30212345    0    0    0     0       0          0
            team0:1:  421900    3012    1    2    0     0          0         0   312000    2400    3    4    0     0       0          0
            team0:1:421900 3012 1 2 0 0 0 0 312000 2400 3 4 0 0 0 0
            """)
        #expect(parsed.map(\.name) == ["eth0", "team0:1", "team0:1"])
        #expect(
            parsed[0]
                == NetDevCounters(
                    name: "eth0", receiveBytes: 68_210_035_552, receivePackets: 52_030_412, receiveErrors: 0, receiveDrops: 12,
                    transmitBytes: 9_127_631_283, transmitPackets: 30_212_345, transmitErrors: 0, transmitDrops: 0))
        let team = NetDevCounters(
            name: "team0:1", receiveBytes: 421_900, receivePackets: 3012, receiveErrors: 1, receiveDrops: 2, transmitBytes: 312_000,
            transmitPackets: 2400, transmitErrors: 3, transmitDrops: 4)
        #expect(parsed[1] == team)
        #expect(parsed[2] == team)
    }

    @Test func malformedLinesThrow() {
        #expect(throws: ParseError(file: "/proc/net/dev", line: 1, reason: "eth0: 3 counters, expected 16")) {
            try NetDevParser.parse("eth0: 1 2 3\n")
        }
        #expect(throws: ParseError(file: "/proc/net/dev", line: 1, reason: "no \":\" after the interface name")) {
            try NetDevParser.parse("eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
        }
        #expect(throws: ParseError.self) { try NetDevParser.parse("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -16\n") }
        #expect(throws: ParseError.self) { try NetDevParser.parse(": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n") }
        #expect((try? NetDevParser.parse("")) == [])
    }

    @Test func gluedNamesCase() async throws {
        let steps = try Fixtures.steps("network", "glued-names")
        let collector = NetworkCollector()
        let first = try await collector.collect(Fixtures.context(steps[0]))
        #expect(first.network?.interfaces.map(\.name) == ["lo", "eth0", "team0:1"])
        #expect(try interface(first, "eth0").receiveBytesPerSecond == nil)
        // Non-loopback totals: rx 68210035552 + 421900, tx 9127631283 + 312000.
        #expect(first.network?.bytesReceived == 68_210_457_452)
        #expect(first.network?.bytesSent == 9_127_943_283)
        #expect(first.value("viworks_network_receive_bytes_total", ["interface": "eth0"]) == 68_210_035_552)
        #expect(first.value("viworks_network_receive_drop_total", ["interface": "eth0"]) == 12)
        #expect(first.value("viworks_network_transmit_errs_total", ["interface": "team0:1"]) == 3)

        // uptime 1000 → 1010: 10 s.
        let second = try await collector.collect(Fixtures.context(steps[1]))
        let eth0 = try interface(second, "eth0")
        #expect(eth0.receiveBytesPerSecond == 10_000)  // 68210135552 − 68210035552 = 100000 B / 10 s
        #expect(eth0.receivePacketsPerSecond == 10)  // 100 packets / 10 s
        #expect(eth0.transmitBytesPerSecond == 5000)  // 50000 B / 10 s
        #expect(eth0.transmitPacketsPerSecond == 5)
        let team = try interface(second, "team0:1")
        #expect(team.receiveBytesPerSecond == 421.9)  // 4219 B / 10 s
        #expect(team.transmitPacketsPerSecond == 0.5)  // 5 / 10 s
        #expect(try interface(second, "lo").loopback)
        expectWellFormed(second)
    }

    @Test func counterResetGivesNilThenNormal() async throws {
        let steps = try Fixtures.steps("network", "counter-reset")
        #expect(steps.count == 4)
        let collector = NetworkCollector()
        let first = try await collector.collect(Fixtures.context(steps[0]))
        #expect(try interface(first, "eth0").receiveBytesPerSecond == nil)

        // 1000 → 1010 s: eth0 rx 5000000 → 5100000 (10000 B/s), 4000 → 4100 packets (10/s),
        // tx 2000000 → 2050000 (5000 B/s), 3000 → 3050 packets (5/s).
        let second = try await collector.collect(Fixtures.context(steps[1]))
        let eth0 = try interface(second, "eth0")
        #expect(eth0.receiveBytesPerSecond == 10_000)
        #expect(eth0.receivePacketsPerSecond == 10)
        #expect(eth0.transmitBytesPerSecond == 5000)
        #expect(eth0.transmitPacketsPerSecond == 5)
        #expect(try interface(second, "lo").receiveBytesPerSecond == 10_000)
        // Totals exclude lo.
        #expect(second.network?.bytesReceived == 5_100_000)
        #expect(second.network?.bytesSent == 2_050_000)

        // 1020 s: eth0 was reset (driver reload: 5100000 → 12000): nil rates, never a spike; wlan0 is new: nil.
        let reset = try await collector.collect(Fixtures.context(steps[2]))
        let eth0Reset = try interface(reset, "eth0")
        #expect(eth0Reset.receiveBytesPerSecond == nil)
        #expect(eth0Reset.receivePacketsPerSecond == nil)
        #expect(eth0Reset.transmitBytesPerSecond == nil)
        #expect(eth0Reset.transmitPacketsPerSecond == nil)
        #expect(eth0Reset.receiveBytes == 12_000)
        #expect(try interface(reset, "wlan0").receiveBytesPerSecond == nil)
        #expect(reset.network?.bytesReceived == 19_000)  // 12000 + 7000
        #expect(reset.network?.bytesSent == 4_000)  // 3000 + 1000

        // 1030 s, from the new baseline: eth0 rx 12000 → 62000 (5000 B/s), 10 → 60 packets (5/s),
        // tx 3000 → 23000 (2000 B/s), 8 → 28 packets (2/s); wlan0 rx 7000 → 17000 (1000 B/s), tx 1000 → 1500 (50 B/s).
        let normal = try await collector.collect(Fixtures.context(steps[3]))
        let eth0Normal = try interface(normal, "eth0")
        #expect(eth0Normal.receiveBytesPerSecond == 5000)
        #expect(eth0Normal.receivePacketsPerSecond == 5)
        #expect(eth0Normal.transmitBytesPerSecond == 2000)
        #expect(eth0Normal.transmitPacketsPerSecond == 2)
        let wlan0 = try interface(normal, "wlan0")
        #expect(wlan0.receiveBytesPerSecond == 1000)
        #expect(wlan0.transmitBytesPerSecond == 50)
        #expect(wlan0.transmitPacketsPerSecond == 0.5)
    }

    @Test func noElapsedTimeGivesNilRates() {
        let counters = NetDevCounters(
            name: "eth0", receiveBytes: 10, receivePackets: 1, receiveErrors: 0, receiveDrops: 0, transmitBytes: 10, transmitPackets: 1,
            transmitErrors: 0, transmitDrops: 0)
        let report = NetworkCollector.interfaceReport(counters, previous: counters, elapsedSeconds: 0, loopback: false)
        #expect(report.receiveBytesPerSecond == nil)
        let backwardsClock = NetworkCollector.interfaceReport(counters, previous: counters, elapsedSeconds: -5, loopback: false)
        #expect(backwardsClock.transmitBytesPerSecond == nil)
    }

    @Test func thisMachineWithExclusions() async throws {
        let paths = Fixtures.host("debian12-amd-epyc-vm")
        let all = try await NetworkCollector().collect(Fixtures.context(paths))
        #expect(all.network?.interfaces.map(\.name) == ["lo", "ifb0", "ifb1", "eth0"])
        #expect(all.network?.interfaces.map(\.loopback) == [true, false, false, false])
        #expect(all.network?.bytesReceived == 5904)
        #expect(all.network?.bytesSent == 5713)

        var settings = NetworkSettings()
        settings.excludeInterfaces = ["ifb*", "lo"]
        let some = try await NetworkCollector(settings: settings).collect(Fixtures.context(paths))
        #expect(some.network?.interfaces.map(\.name) == ["eth0"])
        #expect(some.samples.count == 8)
        #expect(NetworkCollector.isExcluded("veth1234", patterns: ["veth*"]))
        #expect(!NetworkCollector.isExcluded("eth0", patterns: ["eth", "eth0*x"]))
    }
}
