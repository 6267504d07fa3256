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

/// Every collector against this machine's real `/proc` and `/sys`, checked against invariants and
/// against direct reads of the same files.
@Suite("live host")
struct LiveHostTests {
    @Test func theProcessTableHoldsThisProcessWithItsParent() throws {
        let table = try ProcessTable.read(procRoot: "/proc", monotonicSeconds: 0)
        let me = try #require(table.processes.first { $0.pid == Int(getpid()) })
        #expect(me.ppid == Int(getppid()))
        #expect(me.threads >= 1)
        #expect(me.rssPages > 0)
        #expect(table.processes.contains { $0.pid == 1 })
    }

    @Test func catalogListsTheElevenBuiltins() {
        let collectors = CollectorCatalog.builtins(configuration: AgentConfiguration())
        #expect(
            collectors.map(\.descriptor.id) == ["cpu", "memory", "disk", "load", "uptime", "network", "temperature", "host", "services", "processes", "pressure"])
        #expect(collectors.filter { $0.descriptor.isCore }.map(\.descriptor.id) == ["cpu", "memory", "disk", "load", "uptime", "network"])
        #expect(collectors.allSatisfy { $0.descriptor.enabledByDefault })
    }

    @Test func everyCollectorOnThisMachine() async throws {
        var outputs: [String: CollectorOutput] = [:]
        let collectors = CollectorCatalog.builtins(configuration: AgentConfiguration())
        for collector in collectors {
            // No data (pressure on a kernel without PSI) is not a failure.
            do { outputs[collector.descriptor.id] = try await collector.collect(Fixtures.live()) } catch CollectorError.noData {}
        }
        // A second round after a short pause gives the rate collectors a delta.
        try await Task.sleep(for: .milliseconds(250))
        for collector in collectors {
            // No data (pressure on a kernel without PSI) is not a failure.
            do { outputs[collector.descriptor.id] = try await collector.collect(Fixtures.live()) } catch CollectorError.noData {}
        }

        for (id, output) in outputs {
            expectWellFormed(output)
            for sample in output.samples where sample.name.hasSuffix("_percent") {
                #expect((0...100).contains(sample.value), "\(id): \(sample.name) = \(sample.value)")
            }
        }

        // cpu: usage in range, one entry per cpuN line of /proc/stat.
        let cpu = try #require(outputs["cpu"]?.cpu)
        let statLines = try HostFile.read("/proc/stat").split(separator: "\n")
        let cpuLines = statLines.filter { $0.hasPrefix("cpu") && !$0.hasPrefix("cpu ") }
        #expect(cpu.cores == cpuLines.count)
        #expect(cpu.perCore.count == cpu.cores)
        let usage = try #require(cpu.usagePercent)
        #expect((0...100).contains(usage))
        for core in cpu.perCore { #expect(core.usagePercent.map { (0...100).contains($0) } ?? true) }
        #expect(cpu.brand?.isEmpty == false)

        // memory: total equals MemTotal × 1024 read directly.
        let memory = try #require(outputs["memory"]?.memory)
        let memTotalLine = try #require(try HostFile.read("/proc/meminfo").split(separator: "\n").first { $0.hasPrefix("MemTotal:") })
        let memTotalKB = try #require(memTotalLine.split(separator: " ").dropFirst().first.flatMap { UInt64($0) })
        #expect(memory.totalBytes == memTotalKB * 1024)
        #expect(memory.usedBytes + memory.availableBytes == memory.totalBytes)
        #expect((0...100).contains(memory.usagePercent))

        // network: every non-loopback interface of /proc/net/dev is present, rates are never negative.
        let network = try #require(outputs["network"]?.network)
        let devLines = try HostFile.read("/proc/net/dev").split(separator: "\n").dropFirst(2)
        let names = devLines.compactMap { line in line.split(separator: ":").first.map { String($0).trimmingASCIIWhitespace() } }
        for name in names where name != "lo" {
            #expect(network.interfaces.contains { $0.name == name && !$0.loopback }, "\(name) missing")
        }
        for interface in network.interfaces {
            for rate in [interface.receiveBytesPerSecond, interface.transmitBytesPerSecond] { #expect((rate ?? 0) >= 0) }
        }
        // Totals: over the interfaces backed by a device (eth0 here, not docker0 or a veth) when there is one.
        let nonLoopback = network.interfaces.filter { !$0.loopback }
        let devices = nonLoopback.filter { HostFile.exists("/sys/class/net/\($0.name)/device") }
        #expect(network.bytesReceived == (devices.isEmpty ? nonLoopback : devices).reduce(0) { $0 + $1.receiveBytes })

        // disk: the root filesystem is present with a size, and it is the root usage.
        let disk = try #require(outputs["disk"]?.disk)
        let root = try #require(disk.filesystems.first { $0.mountPoint == "/" })
        #expect(root.totalBytes > 0)
        #expect(!root.stale)
        #expect(disk.rootUsagePercent == root.usagePercent)
        #expect(Set(disk.filesystems.map(\.mountPoint)).count == disk.filesystems.count)

        // load and uptime.
        let load = try #require(outputs["load"]?.load)
        #expect(load.totalTasks >= load.runnableTasks && load.totalTasks > 0)
        let uptime = try #require(outputs["uptime"]?.uptime)
        #expect(uptime.uptimeSeconds > 0)

        // temperature: a VM may have none; whatever is reported is a plausible reading.
        let temperature = try #require(outputs["temperature"]?.temperature)
        for sensor in temperature.sensors { #expect((-60...150).contains(sensor.celsius), "\(sensor)") }

        // host.
        let host = try #require(outputs["host"]?.host)
        #expect(host.hostname == HostFile.readLine("/proc/sys/kernel/hostname"))
        #expect(host.kernelVersion == HostFile.readLine("/proc/sys/kernel/osrelease"))
        #expect(host.architecture?.isEmpty == false)
        #expect(host.bootTime != nil)
    }
}
