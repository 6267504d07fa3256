//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Where the collectors find the host's pseudo filesystems, like node_exporter's `--path.procfs`,
/// `--path.sysfs` and `--path.rootfs`. Pointing these at a fixture tree replays a captured machine.
public struct HostPaths: Sendable, Hashable {
    /// The procfs mount, `/proc` by default.
    public var procRoot: String
    /// The sysfs mount, `/sys` by default.
    public var sysRoot: String
    /// The host's root filesystem, `/` by default: `etc/os-release` and `etc/machine-id` are read under it,
    /// and mount points from mountinfo are resolved under it for `statvfs`.
    public var rootfs: String

    public init(procRoot: String = "/proc", sysRoot: String = "/sys", rootfs: String = "/") {
        self.procRoot = procRoot
        self.sysRoot = sysRoot
        self.rootfs = rootfs
    }

    /// A fixture or replay directory holding `proc/`, `sys/` and `etc/` subtrees.
    public init(fixtureRoot: String) {
        let base = fixtureRoot.hasSuffix("/") ? String(fixtureRoot.dropLast()) : fixtureRoot
        self.init(procRoot: base + "/proc", sysRoot: base + "/sys", rootfs: base)
    }

    /// Whether `procRoot` is the procfs of the kernel this process runs on, so that system calls such as `uname(2)`
    /// describe the same machine as the files; false for a replayed or fixture tree.
    public var describesRunningKernel: Bool { procRoot == "/proc" || procRoot == "/proc/" }

    /// `proc("net/dev")` → `/proc/net/dev`.
    public func proc(_ relative: String) -> String { Self.join(procRoot, relative) }
    /// `sys("class/hwmon")` → `/sys/class/hwmon`.
    public func sys(_ relative: String) -> String { Self.join(sysRoot, relative) }
    /// `rootfs("etc/os-release")` → `/etc/os-release`; an absolute path is taken relative to the root.
    public func rootfs(_ relative: String) -> String { Self.join(rootfs, relative) }

    public static func join(_ base: String, _ relative: String) -> String {
        var rel = Substring(relative)
        while rel.hasPrefix("/") { rel = rel.dropFirst() }
        if rel.isEmpty { return base }
        if base.hasSuffix("/") { return base + rel }
        return base + "/" + rel
    }
}
