//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("load, uptime and host")
struct LoadAndHostTests {
    @Test func loadavg() async throws {
        #expect(
            try LoadavgParser.parse("0.45 0.71 0.33 1/81 8628\n")
                == LoadReport(oneMinute: 0.45, fiveMinutes: 0.71, fifteenMinutes: 0.33, runnableTasks: 1, totalTasks: 81))
        #expect(throws: ParseError(file: "/proc/loadavg", line: 1, reason: "\"1-81\" is not runnable/total")) {
            try LoadavgParser.parse("0.45 0.71 0.33 1-81 8628")
        }
        #expect(throws: ParseError.self) { try LoadavgParser.parse("") }
        #expect(throws: ParseError.self) { try LoadavgParser.parse("a b c 1/2 3") }

        let output = try await LoadCollector().collect(Fixtures.context(Fixtures.host("debian12-amd-epyc-vm")))
        #expect(output.load == LoadReport(oneMinute: 0.45, fiveMinutes: 0.71, fifteenMinutes: 0.33, runnableTasks: 1, totalTasks: 81))
        #expect(output.value("viworks_load1") == 0.45)
        #expect(output.value("viworks_load5") == 0.71)
        #expect(output.value("viworks_load15") == 0.33)
        #expect(output.value("viworks_load_runnable_tasks") == 1)
        #expect(output.value("viworks_load_tasks") == 81)
        expectWellFormed(output)
    }

    @Test func uptime() async throws {
        #expect(try UptimeParser.parse("344.93 416.93\n") == UptimeReport(uptimeSeconds: 344.93, idleSeconds: 416.93))
        #expect(throws: ParseError.self) { try UptimeParser.parse("soon") }
        let paths = Fixtures.host("debian12-amd-epyc-vm")
        let output = try await UptimeCollector().collect(Fixtures.context(paths))
        let expected = try UptimeParser.parse(HostFile.read(paths.proc("uptime")))
        #expect(output.uptime == expected)
        #expect(output.value("viworks_uptime_seconds") == expected.uptimeSeconds)
        // btime 1795982212 in the captured /proc/stat.
        #expect(output.value("viworks_boot_time_seconds") == 1_795_982_212)
        expectWellFormed(output)
    }

    @Test func osReleaseQuotingAndEscapes() {
        let values = OSReleaseParser.parse(
            #"""
            # a comment
            NAME="Debian GNU/Linux"
            VERSION='12 (bookworm)'
            ID=debian
            PRETTY_NAME="A \"quoted\" \$name with \\ and \`tick\`"
            EMPTY=
            not an assignment
            BAD KEY=x
            UNQUOTED=with\ space
            """#)
        #expect(values["NAME"] == "Debian GNU/Linux")
        #expect(values["VERSION"] == "12 (bookworm)")
        #expect(values["ID"] == "debian")
        #expect(values["PRETTY_NAME"] == #"A "quoted" $name with \ and `tick`"#)
        #expect(values["EMPTY"] == "")
        #expect(values["UNQUOTED"] == "with space")
        #expect(values["BAD KEY"] == nil)
        #expect(values.count == 6)
    }

    @Test func hostFromThisMachine() async throws {
        let paths = Fixtures.host("debian12-amd-epyc-vm")
        let output = try await HostCollector().collect(Fixtures.context(paths))
        let report = try #require(output.host)
        #expect(report.hostname == "vm")
        #expect(report.osName == "Debian GNU/Linux")
        #expect(report.osVersion == "12 (bookworm)")
        #expect(report.osID == "debian")
        #expect(report.kernelVersion == "6.18.44-fc-v657")
        #expect(report.bootTime == Timestamp(nanosecondsSinceEpoch: 1_795_982_212 * 1_000_000_000))
        #expect(report.machineID == HostFile.readLine(paths.rootfs("etc/machine-id")))
        #expect(report.machineID?.count == 32)
        #expect(report.architecture != nil)
        let info = try #require(output.samples.first { $0.name == "viworks_host_info" })
        #expect(info.value == 1)
        #expect(info.labels.map(\.name) == ["hostname", "os_name", "os_version", "kernel_version", "machine_id", "architecture"])
        #expect(info.labels.first?.value == "vm")
        expectWellFormed(output)
    }

    @Test func aHostnameChangeShowsAtTheNextCollection() async throws {
        // The other facts are cached for `staticFactsLifetime`; the hostname is read at every collection.
        var template = Array("/tmp/viworks-hostname-XXXXXX".utf8CString)
        let root = String(cString: try #require(mkdtemp(&template)))
        defer { HostCapture.removeTree(root) }
        try HostFile.makeDirectories(root + "/proc/sys/kernel")
        try HostFile.replaceContents(root + "/proc/sys/kernel/hostname", Array("before\n".utf8))
        let collector = HostCollector()
        let paths = HostPaths(fixtureRoot: root)
        #expect(try await collector.collect(Fixtures.context(paths, monotonicSeconds: 100)).host?.hostname == "before")
        try HostFile.replaceContents(root + "/proc/sys/kernel/hostname", Array("after\n".utf8))
        let output = try await collector.collect(Fixtures.context(paths, monotonicSeconds: 101))
        #expect(output.host?.hostname == "after")
        #expect(output.samples.first { $0.name == "viworks_host_info" }?.labels.first { $0.name == "hostname" }?.value == "after")
    }

    @Test func hostWithNothingButHostname() async throws {
        // The Raspberry Pi tree has no etc/ and no kernel files: optional fields are nil, nothing throws.
        let output = try await HostCollector().collect(Fixtures.context(Fixtures.host("raspberry-pi-4-arm64")))
        let report = try #require(output.host)
        #expect(report.osName == nil)
        #expect(report.osVersion == nil)
        #expect(report.kernelVersion == nil)
        #expect(report.machineID == nil)
        #expect(report.bootTime == Timestamp(nanosecondsSinceEpoch: 1_714_032_000 * 1_000_000_000))
        #expect(!report.hostname.isEmpty)
    }

    /// A replayed tree is another machine: without its own hostname and arch files it must not borrow this host's
    /// uname(2) (an arm64 capture replayed here was reported as x86_64 with this machine's name).
    @Test func replayedTreeNeverTakesTheLiveHostsIdentity() async throws {
        let graviton = try #require(try await HostCollector().collect(Fixtures.context(Fixtures.host("aws-graviton2-arm64"))).host)
        #expect(graviton.hostname == "unknown")
        #expect(graviton.architecture == nil)
        let pi = try #require(try await HostCollector().collect(Fixtures.context(Fixtures.host("raspberry-pi-4-arm64"))).host)
        #expect(pi.hostname == "unknown")
        #expect(pi.architecture == nil)
        // The tree's own files win: proc/sys/kernel/hostname and proc/sys/kernel/arch of the capture.
        let vm = try #require(try await HostCollector().collect(Fixtures.context(Fixtures.host("debian12-amd-epyc-vm"))).host)
        #expect(vm.hostname == "vm")
        #expect(vm.architecture == "x86_64")
        #expect(HostPaths(fixtureRoot: "/tmp/capture").describesRunningKernel == false)
        #expect(HostPaths().describesRunningKernel)
    }

    @Test func osReleaseFallsBackToUsrLibAndVersionID() async throws {
        // Amazon Linux 2023 tree: only usr/lib/os-release.
        let amazon = try await HostCollector().collect(Fixtures.context(Fixtures.host("aws-graviton2-arm64")))
        #expect(amazon.host?.osName == "Amazon Linux")
        #expect(amazon.host?.osVersion == "2023")
        #expect(amazon.host?.osID == "amzn")
        // Alpine has VERSION_ID but no VERSION.
        let alpine = try await HostCollector().collect(Fixtures.context(Fixtures.host("alpine-3.19-container")))
        #expect(alpine.host?.osName == "Alpine Linux")
        #expect(alpine.host?.osVersion == "3.19.1")
        // CentOS 6 predates os-release.
        let centos = try await HostCollector().collect(Fixtures.context(Fixtures.host("centos6-kernel-2.6.32")))
        #expect(centos.host?.osName == nil)
        #expect(centos.host?.osVersion == nil)
    }
}
