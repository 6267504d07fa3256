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
import Logging

/// Every real filesystem from `<proc>/self/mountinfo`, sized with a time-bounded `statvfs` of the
/// mount point resolved under ``HostPaths/rootfs``.
///
/// The mounts are probed under one deadline, ``DiskSettings/statfsTimeout`` (``StatfsGuard``: one worker
/// thread, and a thread per call when a call hangs); a mount that does not answer is reported `stale`
/// with sizes 0, and a mount whose `statvfs` fails (it vanished between reading mountinfo and the
/// call) is left out.
public struct DiskCollector: Collector {
    public let descriptor = CollectorDescriptor(id: "disk", isCore: true, reads: [.proc("self/mountinfo")])

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
        let results: [StatfsResult?]
        if !context.paths.describesRunningKernel, let recorded = Self.recordedStatfs(context.paths) {
            // A capture replayed: the answers its host gave; a mount it has no answer for had vanished.
            results = mounts.map { recorded[$0.mountPoint] ?? .failed(ENOENT) }
        } else {
            results = await statfs.stat(mounts.map { HostPaths.join(rootfs, $0.mountPoint) }, timeout: timeout)
        }
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

extension DiskCollector: RecordsSystemCalls {
    /// Where a capture keeps the `statvfs` answers of its host's mounts, under the tree's root.
    static let statfsRecord = "viworks-capture/statvfs"

    /// Writes the `statvfs` answer for every mount of `paths`' mountinfo (unfiltered, so that a replay with other
    /// `[collectors.disk]` filters has them too), one line each: `bsize frsize blocks bfree bavail files ffree ro
    /// mountpoint` (the mount point escaped as in mountinfo), or `timeout mountpoint` for a mount that did not answer
    /// within the timeout. A mount whose call failed is left out, as ``collect(_:)`` leaves it out.
    public func record(from paths: HostPaths, into tree: HostPaths) async throws {
        let path = paths.proc("self/mountinfo")
        let mounts = try MountInfoParser.parse(try HostFile.read(path), file: path)
        let results = await statfs.stat(mounts.map { HostPaths.join(paths.rootfs, $0.mountPoint) }, timeout: settings.statfsTimeout)
        var text = ""
        var seen: Set<String> = []
        for (mount, result) in zip(mounts, results) where seen.insert(mount.mountPoint).inserted {
            let point = Self.escape(mount.mountPoint)
            switch result {
            case .ok(let s):
                let fields = [s.blockSize, s.fragmentSize, s.blocks, s.blocksFree, s.blocksAvailable, s.files, s.filesFree, s.readOnly ? 1 : 0]
                text += fields.map(String.init).joined(separator: " ") + " " + point + "\n"
            case .timedOut:
                text += "timeout " + point + "\n"
            case .failed:
                continue
            }
        }
        let destination = tree.rootfs(Self.statfsRecord)
        if let slash = destination.lastIndex(of: "/") { try HostFile.makeDirectories(String(destination[..<slash]), mode: 0o755) }
        try HostFile.replaceContents(destination, Array(text.utf8))
    }

    /// The answers a capture recorded, by mount point; nil when the tree has no record (a hand-written fixture: its
    /// mount points are then looked up under its root as before). Malformed lines are skipped.
    static func recordedStatfs(_ paths: HostPaths) -> [String: StatfsResult]? {
        guard let text = HostFile.readIfPresent(paths.rootfs(statfsRecord), limit: 4 << 20) else { return nil }
        var answers: [String: StatfsResult] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            if fields.count == 2, fields[0] == "timeout" {
                answers[MountInfoParser.unescape(fields[1])] = .timedOut
                continue
            }
            let numbers = fields.prefix(8).compactMap { UInt64($0) }
            guard fields.count == 9, numbers.count == 8 else { continue }
            answers[MountInfoParser.unescape(fields[8])] = .ok(
                FilesystemStats(
                    blockSize: numbers[0], fragmentSize: numbers[1], blocks: numbers[2], blocksFree: numbers[3], blocksAvailable: numbers[4],
                    files: numbers[5], filesFree: numbers[6], readOnly: numbers[7] != 0))
        }
        return answers
    }

    /// A mount point as mountinfo writes it: space, tab, newline and backslash as octal escapes.
    static func escape(_ mountPoint: String) -> String {
        var bytes: [UInt8] = []
        for byte in mountPoint.utf8 {
            switch byte {
            case 0x20: bytes += Array(#"\040"#.utf8)
            case 0x09: bytes += Array(#"\011"#.utf8)
            case 0x0A: bytes += Array(#"\012"#.utf8)
            case 0x5C: bytes += Array(#"\134"#.utf8)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
