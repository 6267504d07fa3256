//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// Per-interface counters and rates from `/proc/net/dev`.
///
/// Stateful: rates are deltas against the previous collection over the elapsed
/// ``CollectorContext/monotonicSeconds``. A counter that went backwards (the interface was recreated,
/// or a 32-bit counter wrapped) has a nil rate for that interval and the new value as its baseline.
///
/// The totals (`bytes_sent`, `bytes_received`) count each packet once: over the interfaces backed by a device
/// (`/sys/class/net/<if>/device` exists: NICs, virtio), not the virtual ones a packet also crosses on its way (a
/// container's veth, the docker0 bridge, a bond or VLAN on top of the NIC); on a host with no device-backed interface
/// (inside a container, or a capture without that link) over every interface but loopback.
public actor NetworkCollector: Collector {
    public nonisolated let descriptor = CollectorDescriptor(id: "network", isCore: true, reads: [.proc("net/dev"), .sys("class/net/*/type"), .sys("class/net/*/device/uevent")])

    private let settings: NetworkSettings
    private var previous: [String: NetDevCounters] = [:]
    private var previousSeconds: Double?
    /// What `/sys/class/net/<if>` says of an interface never changes while it exists; read once per name.
    private var kindByName: [String: InterfaceKind] = [:]

    struct InterfaceKind: Sendable, Hashable {
        /// `lo`, or `type` 772 (ARPHRD_LOOPBACK).
        var loopback: Bool
        /// `device` exists: a NIC or a paravirtual one, not a veth, bridge, bond, VLAN, tunnel or ifb.
        var hasDevice: Bool
    }

    public init(settings: NetworkSettings = NetworkSettings()) {
        self.settings = settings
    }

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let path = context.paths.proc("net/dev")
        let all = try NetDevParser.parse(try HostFile.read(path), file: path)
        let counters = all.filter { !Self.isExcluded($0.name, patterns: settings.excludeInterfaces) }
        let elapsed = previousSeconds.map { context.monotonicSeconds - $0 }

        var interfaces: [InterfaceReport] = []
        interfaces.reserveCapacity(counters.count)
        var current: [String: NetDevCounters] = [:]
        var devices: Set<String> = []
        for counter in counters {
            let kind = kind(counter.name, paths: context.paths)
            interfaces.append(Self.interfaceReport(counter, previous: previous[counter.name], elapsedSeconds: elapsed, loopback: kind.loopback))
            current[counter.name] = counter
            if kind.hasDevice, !kind.loopback { devices.insert(counter.name) }
        }
        previous = current
        previousSeconds = context.monotonicSeconds
        // Forget interfaces that went away, so a name reused later is re-read.
        kindByName = kindByName.filter { current[$0.key] != nil }

        let report = Self.report(interfaces, devices: devices)
        return CollectorOutput(samples: Self.samples(report), report: .network(report))
    }

    /// Counters and rates of one interface. Rates are nil without a previous reading, without elapsed
    /// time, or for a counter that went backwards.
    public static func interfaceReport(
        _ counters: NetDevCounters, previous: NetDevCounters?, elapsedSeconds: Double?, loopback: Bool
    ) -> InterfaceReport {
        func rate(_ key: KeyPath<NetDevCounters, UInt64>) -> Double? {
            guard let previous, let elapsedSeconds,
                let value = CounterDelta.rate(from: previous[keyPath: key], to: counters[keyPath: key], over: elapsedSeconds)
            else { return nil }
            return roundedTo2(value)
        }
        return InterfaceReport(
            name: counters.name, receiveBytes: counters.receiveBytes, receivePackets: counters.receivePackets,
            receiveErrors: counters.receiveErrors, receiveDrops: counters.receiveDrops, transmitBytes: counters.transmitBytes,
            transmitPackets: counters.transmitPackets, transmitErrors: counters.transmitErrors,
            transmitDrops: counters.transmitDrops, receiveBytesPerSecond: rate(\.receiveBytes),
            transmitBytesPerSecond: rate(\.transmitBytes), receivePacketsPerSecond: rate(\.receivePackets),
            transmitPacketsPerSecond: rate(\.transmitPackets), loopback: loopback)
    }

    /// The report with `bytesSent`/`bytesReceived` summed over the interfaces named in `devices` (those backed by a
    /// device), or over every non-loopback interface when `devices` is empty.
    public static func report(_ interfaces: [InterfaceReport], devices: Set<String> = []) -> NetworkReport {
        var sent: UInt64 = 0
        var received: UInt64 = 0
        for interface in interfaces where !interface.loopback && (devices.isEmpty || devices.contains(interface.name)) {
            sent = sent &+ interface.transmitBytes
            received = received &+ interface.receiveBytes
        }
        return NetworkReport(interfaces: interfaces, bytesSent: sent, bytesReceived: received)
    }

    /// Whether `name` matches one of the patterns: exact names, or a prefix when the pattern ends in `*`.
    public static func isExcluded(_ name: String, patterns: [String]) -> Bool {
        patterns.contains { pattern in
            if pattern.hasSuffix("*") { return name.hasPrefix(pattern.dropLast()) }
            return name == pattern
        }
    }

    /// Loopback: `lo`, or `/sys/class/net/<if>/type` 772 (ARPHRD_LOOPBACK); backed by a device: `device` exists.
    private func kind(_ name: String, paths: HostPaths) -> InterfaceKind {
        if let known = kindByName[name] { return known }
        // A name with "/" cannot be a sysfs entry; never build a path out of it.
        let sysfs = !name.contains("/")
        let kind = InterfaceKind(
            loopback: name == "lo" || (sysfs && HostFile.readLine(paths.sys("class/net/\(name)/type")) == "772"),
            hasDevice: sysfs && HostFile.exists(paths.sys("class/net/\(name)/device")))
        kindByName[name] = kind
        return kind
    }

    /// How many interface names the collector remembers (rates and kinds): those of the last collection only.
    var rememberedInterfaces: Int { max(previous.count, kindByName.count) }

    static func samples(_ report: NetworkReport) -> [MetricSample] {
        var samples: [MetricSample] = []
        samples.reserveCapacity(report.interfaces.count * 8)
        for interface in report.interfaces {
            let labels = [MetricLabel("interface", interface.name)]
            func counter(_ name: String, _ value: UInt64, _ help: String) {
                samples.append(MetricSample(name, .counter, Double(value), labels: labels, help: help))
            }
            counter(MetricName.networkReceiveBytesTotal, interface.receiveBytes, "Bytes received by the interface.")
            counter(MetricName.networkReceivePacketsTotal, interface.receivePackets, "Packets received by the interface.")
            counter(MetricName.networkReceiveErrsTotal, interface.receiveErrors, "Receive errors of the interface.")
            counter(MetricName.networkReceiveDropTotal, interface.receiveDrops, "Received packets dropped by the interface.")
            counter(MetricName.networkTransmitBytesTotal, interface.transmitBytes, "Bytes transmitted by the interface.")
            counter(MetricName.networkTransmitPacketsTotal, interface.transmitPackets, "Packets transmitted by the interface.")
            counter(MetricName.networkTransmitErrsTotal, interface.transmitErrors, "Transmit errors of the interface.")
            counter(MetricName.networkTransmitDropTotal, interface.transmitDrops, "Transmitted packets dropped by the interface.")
        }
        return samples
    }
}
