//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// One line of `/proc/self/mountinfo` (proc(5)).
public struct MountInfo: Sendable, Hashable {
    public var mountID: Int
    public var parentID: Int
    public var major: UInt32
    public var minor: UInt32
    /// The directory of the filesystem that is mounted here (`/` unless it is a bind mount of a subtree).
    public var root: String
    public var mountPoint: String
    /// Per-mount options (`rw,relatime`).
    public var mountOptions: [String]
    public var fsType: String
    /// Mount source, e.g. `/dev/vda1`, `tmpfs`, `server:/export`.
    public var source: String
    public var superOptions: [String]

    public init(
        mountID: Int, parentID: Int, major: UInt32, minor: UInt32, root: String, mountPoint: String, mountOptions: [String],
        fsType: String, source: String, superOptions: [String]
    ) {
        self.mountID = mountID
        self.parentID = parentID
        self.major = major
        self.minor = minor
        self.root = root
        self.mountPoint = mountPoint
        self.mountOptions = mountOptions
        self.fsType = fsType
        self.source = source
        self.superOptions = superOptions
    }

    /// Mounted read-only (`ro` in the per-mount or the superblock options).
    public var readOnly: Bool { mountOptions.contains("ro") || superOptions.contains("ro") }
}

/// Parses `/proc/self/mountinfo`:
/// ```
/// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
/// ```
/// Fields: mount id, parent id, major:minor, root, mount point, mount options, zero or more optional
/// fields up to a lone `-`, then the filesystem type, the source and the superblock options.
/// Paths escape space, tab, newline and backslash as octal (`\040`, `\011`, `\012`, `\134`).
public enum MountInfoParser {
    /// - Throws: ``ParseError`` for a line with too few fields, no `-` separator or a bad device number.
    public static func parse(_ text: String, file: String = "/proc/self/mountinfo") throws -> [MountInfo] {
        var mounts: [MountInfo] = []
        for (number, line) in text.numberedLines {
            let fields = line.fields
            guard !fields.isEmpty else { continue }
            guard fields.count >= 9, let separator = fields[6...].firstIndex(of: "-"), separator + 2 < fields.count else {
                throw ParseError(file: file, line: number, reason: "expected 6 fields, optional fields, \"-\" and 3 more")
            }
            guard let mountID = parseUInt64(fields[0]), let parentID = parseUInt64(fields[1]),
                mountID <= UInt64(Int.max), parentID <= UInt64(Int.max)
            else {
                throw ParseError(file: file, line: number, reason: "mount ids are not numbers")
            }
            let device = fields[2].split(byte: 0x3A)
            guard device.count == 2, let major = parseUInt64(device[0]), let minor = parseUInt64(device[1]),
                major <= UInt64(UInt32.max), minor <= UInt64(UInt32.max)
            else {
                throw ParseError(file: file, line: number, reason: "\"\(fields[2])\" is not major:minor")
            }
            mounts.append(
                MountInfo(
                    mountID: Int(mountID), parentID: Int(parentID), major: UInt32(major), minor: UInt32(minor),
                    root: unescape(fields[3]), mountPoint: unescape(fields[4]),
                    mountOptions: fields[5].split(byte: 0x2C).filter { !$0.isEmpty }.map(String.init), fsType: unescape(fields[separator + 1]),
                    source: unescape(fields[separator + 2]),
                    superOptions: separator + 3 < fields.count ? fields[separator + 3].split(byte: 0x2C).filter { !$0.isEmpty }.map(String.init) : []))
        }
        return mounts
    }

    /// Decodes the kernel's octal escapes (`\040` → space); anything else is kept as it is.
    public static func unescape<S: StringProtocol>(_ text: S) -> String {
        let bytes = Array(text.utf8)
        guard bytes.contains(0x5C) else { return String(text) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        func octal(_ b: UInt8) -> UInt8? { b >= 0x30 && b <= 0x37 ? b - 0x30 : nil }
        while index < bytes.count {
            if bytes[index] == 0x5C, index + 3 < bytes.count, let a = octal(bytes[index + 1]), a <= 3,
                let b = octal(bytes[index + 2]), let c = octal(bytes[index + 3])
            {
                out.append(a << 6 | b << 3 | c)
                index += 4
                continue
            }
            out.append(bytes[index])
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
