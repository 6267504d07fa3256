//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import AgentRuntime
import Synchronization

/// Host identity: hostname, OS, kernel, boot time, machine id and architecture.
///
/// The boot time is reported in ``HostReport/bootTime``; its sample `viworks_boot_time_seconds` is
/// emitted once, by ``UptimeCollector`` (the same series from two collectors would be a duplicate in
/// the Prometheus exposition).
public final class HostCollector: Collector {
    public let descriptor = CollectorDescriptor(
        id: "host", isCore: false,
        reads: [
            .proc("sys/kernel/hostname"), .proc("sys/kernel/osrelease"), .proc("sys/kernel/arch"), .proc("stat"), .rootfs("etc/os-release"),
            .rootfs("usr/lib/os-release"), .rootfs("etc/machine-id"), .rootfs("etc/hostname"),
        ])

    /// os-release, machine id, kernel, boot time and architecture change only with an upgrade or a reboot: they are
    /// re-read every ``staticFactsLifetime`` seconds; the hostname, which can change at any time, every collection.
    public static let staticFactsLifetime = 600.0
    private let cached = Mutex<(report: HostReport, readAt: Double)?>(nil)

    public init() {}

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let paths = context.paths
        var report: HostReport
        if let cached = cached.withLock({ $0 }), context.monotonicSeconds - cached.readAt < Self.staticFactsLifetime,
            context.monotonicSeconds >= cached.readAt
        {
            report = cached.report
        } else {
            report = Self.readStaticFacts(paths)
            cached.withLock { $0 = (report, context.monotonicSeconds) }
        }
        report.hostname = Self.hostname(paths)
        return CollectorOutput(samples: [Self.infoSample(report)], report: .host(report))
    }

    /// `proc/sys/kernel/hostname`; when it is missing, `uname(2)` only if `paths` describe the running kernel (a replayed
    /// tree is another machine: its `etc/hostname`, else "unknown").
    static func hostname(_ paths: HostPaths) -> String {
        HostFile.readLine(paths.proc("sys/kernel/hostname"))
            ?? (paths.describesRunningKernel ? Self.uname().nodename : HostFile.readLine(paths.rootfs("etc/hostname"))) ?? "unknown"
    }

    static func readStaticFacts(_ paths: HostPaths) -> HostReport {
        // uname(2) describes the kernel this process runs on: a replayed tree gets its facts from its own files only.
        let system: (nodename: String?, machine: String?) = paths.describesRunningKernel ? Self.uname() : (nil, nil)
        let osRelease = (HostFile.readIfPresent(paths.rootfs("etc/os-release")) ?? HostFile.readIfPresent(paths.rootfs("usr/lib/os-release")))
            .map(OSReleaseParser.parse) ?? [:]
        let bootTime = HostFile.readIfPresent(paths.proc("stat")).flatMap(ProcStatParser.bootTime)
        return HostReport(
            hostname: hostname(paths), osName: osRelease["NAME"], osVersion: osRelease["VERSION"] ?? osRelease["VERSION_ID"],
            osID: osRelease["ID"], kernelVersion: HostFile.readLine(paths.proc("sys/kernel/osrelease")),
            bootTime: bootTime.map { Timestamp(nanosecondsSinceEpoch: $0 &* 1_000_000_000) },
            machineID: HostFile.readLine(paths.rootfs("etc/machine-id")),
            architecture: HostFile.readLine(paths.proc("sys/kernel/arch")) ?? system.machine)
    }

    static func infoSample(_ report: HostReport) -> MetricSample {
        MetricSample(
            MetricName.hostInfo, .gauge, 1,
            labels: [
                MetricLabel("hostname", report.hostname), MetricLabel("os_name", report.osName ?? ""),
                MetricLabel("os_version", report.osVersion ?? ""), MetricLabel("kernel_version", report.kernelVersion ?? ""),
                MetricLabel("machine_id", report.machineID ?? ""), MetricLabel("architecture", report.architecture ?? ""),
            ],
            help: "Host identity; the value is always 1.")
    }

    /// `uname(2)` of the running kernel: node name and machine (architecture).
    static func uname() -> (nodename: String?, machine: String?) {
        var names = utsname()
        guard Glibc.uname(&names) == 0 else { return (nil, nil) }
        func string<T>(_ field: inout T) -> String? {
            let value = withUnsafeBytes(of: &field) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            return value.isEmpty ? nil : value
        }
        return (string(&names.nodename), string(&names.machine))
    }
}
