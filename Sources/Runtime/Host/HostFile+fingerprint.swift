//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// `timespec`'s members are declared by the stdlib's shims: named here so that a clean build under MemberImportVisibility sees them.
#if canImport(SwiftOverlayShims)
import SwiftOverlayShims
#endif

/// What tells that a file was replaced or rewritten: modification time, size and inode.
public struct FileFingerprint: Sendable, Hashable {
    public var path: String
    /// Nanoseconds since the epoch; 0 when the file cannot be stat'ed.
    public var modifiedNanoseconds: Int64
    public var size: Int64
    public var inode: UInt64
}

extension HostFile {
    /// What a path is, following symlinks.
    public enum Kind: Sendable, Hashable {
        case directory, regularFile, socket, other
    }

    /// Whether `path` itself (not what it links to) exists: true for a symbolic link whose target is missing.
    public static func entryExists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// What `path` is (following symlinks), or nil when it does not exist or cannot be looked at.
    public static func kind(_ path: String) -> Kind? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regularFile
        case S_IFSOCK: return .socket
        default: return .other
        }
    }

    /// The fingerprint of `path` (following symlinks, as a reader would); zeros when it does not exist.
    public static func fingerprint(_ path: String) -> FileFingerprint {
        var info = stat()
        guard stat(path, &info) == 0 else { return FileFingerprint(path: path, modifiedNanoseconds: 0, size: 0, inode: 0) }
        #if os(Linux)
        let modified = Timestamp(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int64(info.st_mtim.tv_nsec)).nanosecondsSinceEpoch
        #else
        let modified = Timestamp(seconds: Int64(info.st_mtimespec.tv_sec), nanoseconds: Int64(info.st_mtimespec.tv_nsec)).nanosecondsSinceEpoch
        #endif
        return FileFingerprint(path: path, modifiedNanoseconds: modified, size: Int64(info.st_size), inode: UInt64(info.st_ino))
    }
}
