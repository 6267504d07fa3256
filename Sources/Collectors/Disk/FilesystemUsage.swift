//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AgentRuntime

/// The fields of `struct statvfs` the agent uses, as plain integers so usage can be computed in tests.
public struct FilesystemStats: Sendable, Hashable {
    /// `f_bsize`.
    public var blockSize: UInt64
    /// `f_frsize`, the unit of the block counts (0 on some old filesystems: then `f_bsize` is used).
    public var fragmentSize: UInt64
    public var blocks: UInt64
    public var blocksFree: UInt64
    /// Free blocks available to unprivileged users (`f_bavail`, excludes the reserved blocks).
    public var blocksAvailable: UInt64
    public var files: UInt64
    public var filesFree: UInt64
    /// `ST_RDONLY` in `f_flag`.
    public var readOnly: Bool

    public init(
        blockSize: UInt64, fragmentSize: UInt64 = 0, blocks: UInt64, blocksFree: UInt64, blocksAvailable: UInt64,
        files: UInt64 = 0, filesFree: UInt64 = 0, readOnly: Bool = false
    ) {
        self.blockSize = blockSize
        self.fragmentSize = fragmentSize
        self.blocks = blocks
        self.blocksFree = blocksFree
        self.blocksAvailable = blocksAvailable
        self.files = files
        self.filesFree = filesFree
        self.readOnly = readOnly
    }

    /// Calls `statvfs(3)` on `path`; blocking (a dead NFS server can hang it for minutes).
    public static func systemStatvfs(path: String) -> StatfsResult {
        var buffer = Glibc.statvfs()
        guard callStatvfs(path, &buffer) == 0 else { return .failed(errno) }
        return .ok(
            FilesystemStats(
                blockSize: UInt64(buffer.f_bsize), fragmentSize: UInt64(buffer.f_frsize), blocks: UInt64(buffer.f_blocks),
                blocksFree: UInt64(buffer.f_bfree), blocksAvailable: UInt64(buffer.f_bavail), files: UInt64(buffer.f_files),
                filesFree: UInt64(buffer.f_ffree), readOnly: buffer.f_flag & UInt(ST_RDONLY) != 0))
    }
}

/// The outcome of one `statvfs` call.
public enum StatfsResult: Sendable, Hashable {
    case ok(FilesystemStats)
    /// `statvfs` failed with this errno (the mount point vanished, permission denied…).
    case failed(Int32)
    /// No answer within the timeout (or a previous call on this mount point is still stuck).
    case timedOut
}

/// Sizes and usage of one filesystem, computed as `df` does.
public struct FilesystemUsage: Sendable, Hashable {
    public var totalBytes: UInt64
    public var usedBytes: UInt64
    public var availableBytes: UInt64
    public var usagePercent: Double

    public init(totalBytes: UInt64, usedBytes: UInt64, availableBytes: UInt64, usagePercent: Double) {
        self.totalBytes = totalBytes
        self.usedBytes = usedBytes
        self.availableBytes = availableBytes
        self.usagePercent = usagePercent
    }

    /// used = (blocks − bfree) × frsize, available = bavail × frsize, and usage = used / (used +
    /// available): blocks reserved for root count as used capacity, as in `df`. With bsize 4096,
    /// 1000 blocks, 100 free and 50 available, usage is 900 / 950 = 94.74 %, not 900 / 1000 = 90 %.
    public static func compute(_ stats: FilesystemStats) -> FilesystemUsage {
        let unit = stats.fragmentSize > 0 ? stats.fragmentSize : stats.blockSize
        let usedBlocks = stats.blocks >= stats.blocksFree ? stats.blocks - stats.blocksFree : 0
        let total = stats.blocks.multipliedReportingOverflow(by: unit)
        let used = usedBlocks.multipliedReportingOverflow(by: unit)
        let available = stats.blocksAvailable.multipliedReportingOverflow(by: unit)
        let capacity = Double(usedBlocks) + Double(stats.blocksAvailable)
        return FilesystemUsage(
            totalBytes: total.overflow ? .max : total.partialValue, usedBytes: used.overflow ? .max : used.partialValue,
            availableBytes: available.overflow ? .max : available.partialValue,
            usagePercent: percent(Double(usedBlocks), of: capacity))
    }
}

/// Which mounts are reported.
public enum FilesystemSelection {
    /// Applies the filters of ``DiskSettings`` and removes duplicates.
    ///
    /// - A type is reported when `includeFSTypes` lists it, or, when `includeFSTypes` is empty, when
    ///   `excludeFSTypes` does not list it.
    /// - A mount point listed in `excludeMountPoints` is skipped; an entry ending in `/*` skips
    ///   everything below that directory.
    /// - Two mounts at the same mount point: only the last (the visible one) is kept.
    /// - Bind mounts: one entry per (major:minor, root), the one with the shortest mount point.
    ///
    /// The result keeps the order of `/proc/self/mountinfo`.
    public static func select(_ mounts: [MountInfo], settings: DiskSettings) -> [MountInfo] {
        let included = Set(settings.includeFSTypes)
        let excluded = Set(settings.excludeFSTypes)
        var byMountPoint: [String: Int] = [:]
        var candidates: [MountInfo?] = []
        for mount in mounts {
            if included.isEmpty ? excluded.contains(mount.fsType) : !included.contains(mount.fsType) { continue }
            if isExcluded(mountPoint: mount.mountPoint, patterns: settings.excludeMountPoints) { continue }
            if let earlier = byMountPoint[mount.mountPoint] { candidates[earlier] = nil }
            byMountPoint[mount.mountPoint] = candidates.count
            candidates.append(mount)
        }
        struct DeviceRoot: Hashable {
            var major: UInt32
            var minor: UInt32
            var root: String
        }
        var byDevice: [DeviceRoot: Int] = [:]
        var result: [MountInfo] = []
        for case let mount? in candidates {
            let key = DeviceRoot(major: mount.major, minor: mount.minor, root: mount.root)
            if let index = byDevice[key] {
                let kept = result[index].mountPoint
                if mount.mountPoint.utf8.count < kept.utf8.count { result[index] = mount }
            } else {
                byDevice[key] = result.count
                result.append(mount)
            }
        }
        return result
    }

    /// Whether a mount point matches one of the patterns: exact, or below `dir` for `dir/*`.
    public static func isExcluded(mountPoint: String, patterns: [String]) -> Bool {
        patterns.contains { pattern in
            if pattern.hasSuffix("/*") { return mountPoint.hasPrefix(pattern.dropLast()) }
            return mountPoint == pattern
        }
    }
}

/// `statvfs` names both a struct and a function; outside any type the call resolves to the function.
private func callStatvfs(_ path: String, _ buffer: inout Glibc.statvfs) -> Int32 {
    statvfs(path, &buffer)
}
