//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// `[collectors.disk]`.
public struct DiskSettings: CollectorOptions {
    /// `exclude_fs_types`: pseudo and virtual filesystems, never reported unless listed in `include_fs_types`.
    public var excludeFSTypes: [String] = DiskSettings.defaultExcludedFSTypes
    /// `include_fs_types`: when not empty, only these types are reported.
    public var includeFSTypes: [String] = []
    /// `exclude_mount_points`: mount points to skip; an entry ending in `/*` skips everything below it.
    public var excludeMountPoints: [String] = ["/proc/*", "/sys/*", "/dev/*", "/run/credentials/*"]
    /// `statfs_timeout`: a `statvfs` that takes longer (dead NFS server) marks the mount `stale`.
    public var statfsTimeout: Duration = .seconds(2)

    public init() {}

    public static let keys: [ConfigKey<Self>] = [
        .strings("exclude_fs_types", \.excludeFSTypes),
        .strings("include_fs_types", \.includeFSTypes),
        .strings("exclude_mount_points", \.excludeMountPoints),
        .duration("statfs_timeout", \.statfsTimeout, min: .milliseconds(10)),
    ]

    public static let defaultExcludedFSTypes = [
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "efivarfs",
        "fuse.lxcfs", "fuse.portal", "fusectl", "hugetlbfs", "mqueue", "nsfs", "overlay", "proc", "procfs", "pstore",
        "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs", "nfsd", "rootfs",
    ]
}
