//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import Logging

/// Every real filesystem from `<proc>/self/mountinfo`, sized with a time-bounded `statvfs` of the
/// mount point resolved under ``HostPaths/rootfs``.
///
/// All mounts are probed concurrently, each against ``DiskSettings/statfsTimeout``; a mount that
/// does not answer is reported `stale` with sizes 0, and a mount whose `statvfs` fails (it vanished
/// between reading mountinfo and the call) is left out.
public struct DiskCollector: Collector {
    public let descriptor = CollectorDescriptor(id: "disk", isCore: true)

    private let settings: DiskSettings
    private let statfs: StatfsGuard

    /// - Parameters:
    ///   - settings: filters and the `statvfs` timeout.
    ///   - statfs: the blocking call, `statvfs(3)` by default; tests inject fakes (a hung mount).
    public init(settings: DiskSettings = DiskSettings(), statfs: @escaping StatfsFunction = FilesystemStats.systemStatvfs(path:)) {
        self.settings = settings
        self.statfs = StatfsGuard(function: statfs)
    }

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let path = context.paths.proc("self/mountinfo")
        let mounts = FilesystemSelection.select(try MountInfoParser.parse(try HostFile.read(path), file: path), settings: settings)
        let rootfs = context.paths.rootfs
        let timeout = settings.statfsTimeout
        let results: [StatfsResult?] = await statfs.stat(mounts.map { HostPaths.join(rootfs, $0.mountPoint) }, timeout: timeout)
        var filesystems: [FilesystemReport] = []
        filesystems.reserveCapacity(mounts.count)
        for (mount, result) in zip(mounts, results) {
            switch result {
            case .ok(let stats)?:
                filesystems.append(Self.report(mount: mount, stats: stats))
            case .timedOut?:
                context.logger.debug(
                    "statvfs timed out; filesystem reported stale", metadata: ["disk.mount_point": "\(mount.mountPoint)"])
                filesystems.append(Self.staleReport(mount: mount))
            case .failed(let errno)?:
                context.logger.debug(
                    "statvfs failed; filesystem skipped", metadata: ["disk.mount_point": "\(mount.mountPoint)", "disk.errno": "\(errno)"])
            case nil:
                continue
            }
        }
        let root = filesystems.first { $0.mountPoint == "/" && !$0.stale }
        let report = DiskReport(filesystems: filesystems, rootUsagePercent: root?.usagePercent)
        return CollectorOutput(samples: Self.samples(report), report: .disk(report))
    }

    /// The entry of a mount whose `statvfs` answered.
    public static func report(mount: MountInfo, stats: FilesystemStats) -> FilesystemReport {
        let usage = FilesystemUsage.compute(stats)
        return FilesystemReport(
            device: mount.source, mountPoint: mount.mountPoint, fsType: mount.fsType, totalBytes: usage.totalBytes,
            usedBytes: usage.usedBytes, availableBytes: usage.availableBytes, usagePercent: usage.usagePercent,
            inodesTotal: stats.files, inodesFree: stats.filesFree, readOnly: mount.readOnly || stats.readOnly, stale: false)
    }

    /// The entry of a mount whose `statvfs` did not answer in time.
    public static func staleReport(mount: MountInfo) -> FilesystemReport {
        FilesystemReport(
            device: mount.source, mountPoint: mount.mountPoint, fsType: mount.fsType, totalBytes: 0, usedBytes: 0,
            availableBytes: 0, usagePercent: 0, inodesTotal: 0, inodesFree: 0, readOnly: mount.readOnly, stale: true)
    }

    /// Size samples are left out for stale filesystems (their zeros are not measurements); `_stale`
    /// and `_readonly` are always present.
    static func samples(_ report: DiskReport) -> [MetricSample] {
        var samples: [MetricSample] = []
        samples.reserveCapacity(report.filesystems.count * 8 + 1)
        for fs in report.filesystems {
            let labels = [MetricLabel("device", fs.device), MetricLabel("mountpoint", fs.mountPoint), MetricLabel("fstype", fs.fsType)]
            func gauge(_ name: String, _ value: Double, _ help: String) {
                samples.append(MetricSample(name, .gauge, value, labels: labels, help: help))
            }
            if !fs.stale {
                gauge(MetricName.filesystemSizeBytes, Double(fs.totalBytes), "Filesystem size in bytes.")
                gauge(MetricName.filesystemUsedBytes, Double(fs.usedBytes), "Filesystem space in use, reserved blocks excluded.")
                gauge(MetricName.filesystemAvailBytes, Double(fs.availableBytes), "Filesystem space available to unprivileged users.")
                gauge(MetricName.filesystemUsagePercent, fs.usagePercent, "Percent of the filesystem in use, as df computes it.")
                gauge(MetricName.filesystemFiles, Double(fs.inodesTotal), "Inodes of the filesystem.")
                gauge(MetricName.filesystemFilesFree, Double(fs.inodesFree), "Free inodes of the filesystem.")
            }
            gauge(MetricName.filesystemReadonly, fs.readOnly ? 1 : 0, "1 when the filesystem is mounted read-only.")
            gauge(MetricName.filesystemStale, fs.stale ? 1 : 0, "1 when statvfs did not answer within the timeout.")
        }
        if let root = report.rootUsagePercent {
            samples.append(MetricSample(MetricName.diskUsagePercent, .gauge, root, help: "Percent of the root filesystem in use."))
        }
        return samples
    }
}
