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

    @Test func fiveHundredVethsComingAndGoingAreNotCountedTwiceNorRemembered() async throws {
        // A docker host: eth0 (a NIC: `device` exists), the docker0 bridge and 500 container veths, each veth carrying
        // 1000 bytes each way that also cross docker0 and eth0. Then the 500 are replaced by 500 others, then all go.
        var template = Array("/tmp/viworks-veth-XXXXXX".utf8CString)
        let root = String(cString: try #require(mkdtemp(&template)))
        defer { HostCapture.removeTree(root) }
        let paths = HostPaths(fixtureRoot: root)
        func write(_ relative: String, _ text: String) throws {
            let path = root + "/" + relative
            try HostFile.makeDirectories(String(path[..<path.lastIndex(of: "/")!]))
            try HostFile.replaceContents(path, Array(text.utf8))
        }
        func line(_ name: String, rx: Int, tx: Int) -> String { "\(name): \(rx) 10 0 0 0 0 0 0 \(tx) 10 0 0 0 0 0 0\n" }
        func netDev(veths: [String]) -> String {
            "Inter-|   Receive                                                |  Transmit\n"
                + " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
                + line("lo", rx: 100, tx: 100) + line("eth0", rx: 900_000, tx: 800_000) + line("docker0", rx: 500_000, tx: 500_000)
                + veths.map { line($0, rx: 1000, tx: 1000) }.joined()
        }
        for name in ["lo", "eth0", "docker0"] + (0..<500).map({ "veth\($0)" }) + (0..<500).map({ "vethb\($0)" }) {
            try write("sys/class/net/\(name)/type", name == "lo" ? "772\n" : "1\n")
        }
        try write("sys/class/net/eth0/device/uevent", "DRIVER=virtio_net\n")
        let collector = NetworkCollector()
        var outputs: [CollectorOutput] = []
        for (step, veths) in [(0..<500).map { "veth\($0)" }, (0..<500).map { "vethb\($0)" }, []].enumerated() {
            try write("proc/net/dev", netDev(veths: veths))
            outputs.append(try await collector.collect(Fixtures.context(paths, monotonicSeconds: 100 + Double(step) * 10)))
            // Only the interfaces of this collection are remembered: 500 gone are 500 forgotten.
            #expect(await collector.rememberedInterfaces == 3 + veths.count)
        }
        for output in outputs {
            // eth0 alone: the veths' and docker0's bytes are the same packets again.
            #expect(output.network?.bytesReceived == 900_000)
            #expect(output.network?.bytesSent == 800_000)
        }
        #expect(outputs[0].network?.interfaces.count == 503)
        #expect(outputs[2].network?.interfaces.map(\.name) == ["lo", "eth0", "docker0"])
        // The series of the last collection are those of three interfaces, as before any veth came.
        let names = Set(outputs[2].samples.compactMap { $0.labels.first { $0.name == "device" || $0.name == "interface" }?.value })
        #expect(names == ["lo", "eth0", "docker0"])
        // Without any device-backed interface (inside a container, a capture without the link): every one but lo.
        #expect(NetworkCollector.report(try #require(outputs[0].network?.interfaces)).bytesReceived == 900_000 + 500_000 + 500 * 1000)
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
