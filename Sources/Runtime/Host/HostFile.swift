//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSystemd

/// An error reading a host file; `errno` tells a missing file (ENOENT, ESRCH for a vanished PID) from a real failure.
public struct HostFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var operation: String

    public init(path: String, errno: Int32, operation: String) {
        self.path = path
        self.errno = errno
        self.operation = operation
    }

    /// The file (or the process it belonged to) does not exist: a normal case for `/proc/PID` and optional files.
    public var isMissing: Bool { errno == ENOENT || errno == ESRCH || errno == ENOTDIR }

    public var description: String {
        "\(operation) \(path): \(reason)"
    }

    /// The system's text for `errno` alone, e.g. `No such file or directory`.
    public var reason: String { String(cString: strerror(errno)) }
}

/// Small, allocation-lean reads of procfs/sysfs files with plain POSIX calls.
///
/// procfs files report a size of 0, so the file is read in chunks until EOF, never past `limit` bytes.
public enum HostFile {
    /// Reads a whole file as UTF-8 text (invalid bytes are repaired), at most `limit` bytes.
    /// - Throws: ``HostFileError`` with the errno of `open` or `read`.
    public static func read(_ path: String, limit: Int = 4 << 20) throws(HostFileError) -> String {
        let bytes = try readBytes(path, limit: limit)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Like ``read(_:limit:)`` but returns nil when the file does not exist or cannot be read.
    public static func readIfPresent(_ path: String, limit: Int = 4 << 20) -> String? {
        try? read(path, limit: limit)
    }

    /// Creates `path` and any missing parents (like `mkdir -p`) with `mode`; an existing directory is fine. The error
    /// names the component that could not be made and the system's reason, e.g. `mkdir /var/lib/x: Permission denied`.
    public static func makeDirectories(_ path: String, mode: UInt32 = 0o750) throws(HostFileError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode_t(mode)) != 0, errno != EEXIST {
                throw HostFileError(path: current, errno: errno, operation: "mkdir")
            }
        }
    }

    /// The first line of a file with surrounding whitespace removed; nil when missing, unreadable or empty.
    public static func readLine(_ path: String) -> String? {
        guard let text = try? read(path, limit: 64 << 10) else { return nil }
        let trimmed = text.trimmingASCIIWhitespace()
        guard let line = trimmed.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first else {
            return nil
        }
        let value = String(line).trimmingASCIIWhitespace()
        return value.isEmpty ? nil : value
    }

    /// Reads raw bytes, at most `limit`.
    public static func readBytes(_ path: String, limit: Int = 4 << 20) throws(HostFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw HostFileError(path: path, errno: errno, operation: "open") }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = 8192
        while result.count < limit {
            let want = min(chunk, limit - result.count)
            let start = result.count
            result.reserveCapacity(start + want)
            var readError: Int32 = 0
            let got = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: want) { buffer -> Int in
                while true {
                    let n = Glibc.read(fd, buffer.baseAddress, want)
                    if n < 0 {
                        if errno == EINTR { continue }
                        readError = errno
                        return -1
                    }
                    if n > 0 { result.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<n])) }
                    return n
                }
            }
            if got < 0 { throw HostFileError(path: path, errno: readError, operation: "read") }
            if got == 0 { break }
            chunk = min(chunk * 2, 1 << 20)
        }
        return result
    }

    /// Names in a directory, without `.` and `..`, unsorted. Throws when the directory cannot be opened.
    public static func list(_ path: String) throws(HostFileError) -> [String] {
        guard let dir = opendir(path) else { throw HostFileError(path: path, errno: errno, operation: "opendir") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names
    }

    /// Writes every byte to a file descriptor, retrying short writes and EINTR; stops silently on another error
    /// (a closed stderr must not take the agent down).
    public static func writeAll(_ fileDescriptor: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fileDescriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// Creates or truncates `path` (mode 0600) and writes `bytes` to it, retrying short writes and EINTR; the error names
    /// the path and the system's reason.
    public static func replaceContents(_ path: String, _ bytes: [UInt8]) throws(HostFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HostFileError(path: path, errno: errno, operation: "open") }
        defer { close(fd) }
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n < 0, errno == EINTR { continue }
                if n < 0 {
                    failure = errno
                    return
                }
                offset += n
            }
        }
        if failure != 0 { throw HostFileError(path: path, errno: failure, operation: "write") }
    }

    /// The directory a file's path names it in (`/etc/x.toml` → `/etc`, `/x` → `/`, `x` → `.`).
    public static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        let directory = String(file[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// Whether a path exists (following symlinks).
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Why a directory cannot be at `path` or be made there, or nil: the path or, when it does not exist yet, the
    /// nearest existing directory above it is not a directory, is a symbolic link to nothing, lies on a file system
    /// of the kernel's (procfs, sysfs, cgroupfs, …) where no file can be made, or (`writable`) on a file system
    /// mounted read-only. Permissions are not judged: `check-config` may run as another user than the agent.
    public static func directoryProblem(_ path: String, writable: Bool = true) -> String? {
        var existing = path
        while kind(existing) == nil, existing != "/", !existing.isEmpty {
            if entryExists(existing) { return "\(existing) is a symbolic link to a missing target" }
            existing = "/" + existing.split(separator: "/").dropLast().joined(separator: "/")
        }
        guard let kind = kind(existing) else { return nil }
        if kind != .directory { return "\(existing) is not a directory" }
        if let name = kernelFileSystems[UInt(viworks_fs_type(existing))] { return "\(existing) is on \(name), where no file can be made" }
        if writable, access(existing, W_OK) != 0, errno == EROFS { return "\(existing) is on a read-only file system" }
        return nil
    }

    /// statfs `f_type` of the kernel's own file systems (linux/magic.h), where the agent cannot keep files.
    static let kernelFileSystems: [UInt: String] = [
        0x9fa0: "procfs", 0x6265_6572: "sysfs", 0x27e0eb: "cgroupfs", 0x6367_7270: "cgroup2fs", 0x1cd1: "devpts",
        0x6462_6720: "debugfs", 0x7472_6163: "tracefs", 0x7363_6673: "securityfs", 0xcafe_4a11: "bpffs",
        0x6165_676c: "pstore", 0x6265_6570: "configfs", 0xde5e_81e4: "efivarfs",
    ]

    /// The target of a symlink, or nil.
    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, Int(PATH_MAX))
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension StringProtocol {
    /// The string without leading and trailing ASCII spaces, tabs, CR and LF.
    public func trimmingASCIIWhitespace() -> String {
        let bytes = Array(self.utf8)
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }
        var start = 0
        var end = bytes.count
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
