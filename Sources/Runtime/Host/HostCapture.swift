//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Subprocess

/// Host files a collector reads, named by a glob(7) pattern under one of the ``HostPaths`` roots:
/// `.proc("net/dev")`, `.sys("class/net/*/type")`, `.proc("[0-9]*/cmdline", private: true)`.
public struct HostRead: Sendable, Hashable {
    public enum Base: Sendable, Hashable {
        case proc, sys, rootfs
    }

    public var base: Base
    /// Relative to the base; `*`, `?` and `[...]` match as in glob(7) (hidden names are not matched by `*`).
    public var pattern: String
    /// What the processes' users may consider theirs (command lines): captured only when asked (`--with-processes`).
    public var isPrivate: Bool

    public init(_ base: Base, _ pattern: String, private isPrivate: Bool = false) {
        self.base = base
        self.pattern = pattern
        self.isPrivate = isPrivate
    }

    public static func proc(_ pattern: String, private isPrivate: Bool = false) -> HostRead { HostRead(.proc, pattern, private: isPrivate) }
    public static func sys(_ pattern: String) -> HostRead { HostRead(.sys, pattern) }
    public static func rootfs(_ pattern: String) -> HostRead { HostRead(.rootfs, pattern) }

    /// The directory of `base` in `paths`.
    public func root(in paths: HostPaths) -> String {
        switch base {
        case .proc: paths.procRoot
        case .sys: paths.sysRoot
        case .rootfs: paths.rootfs
        }
    }
}

/// Copies the host files the collectors read into a tree that ``HostPaths/init(fixtureRoot:)`` replays, and packs such
/// trees into a `.tar.gz` with GNU tar: what `viworks-agent capture` writes for a bug report.
public enum HostCapture {
    /// What one copy did.
    public struct Copied: Sendable, Hashable {
        /// Files written into the tree.
        public var files: Int = 0
        /// Bytes written into the tree.
        public var bytes: Int = 0
        /// Files that matched but could not be read (another user's process, a sensor that fails): left out.
        public var unreadable: Int = 0
    }

    /// Copies every file matching `reads` under `source` into the same relative place under `tree` (`proc/…`, `sys/…`,
    /// and the root filesystem's files at the tree's top), reading each one as the collectors do (procfs files report a
    /// size of 0), at most `limit` bytes each. Private reads are skipped unless `includePrivate`. Directories that
    /// are symbolic links in sysfs (`class/net/eth0`) become plain directories.
    /// - Throws: ``HostFileError`` when the tree cannot be written.
    public static func copy(_ reads: [HostRead], from source: HostPaths, into tree: HostPaths, includePrivate: Bool, limit: Int = 4 << 20)
        throws(HostFileError) -> Copied
    {
        var copied = Copied()
        var done: Set<String> = []
        for read in reads where includePrivate || !read.isPrivate {
            let base = read.root(in: source)
            let destinationBase = read.root(in: tree)
            for path in expand(base: base, pattern: read.pattern) {
                let relative = String(path.dropFirst(base.count).drop { $0 == "/" })
                let destination = HostPaths.join(destinationBase, relative)
                guard !relative.isEmpty, done.insert(destination).inserted else { continue }
                guard let bytes = try? HostFile.readBytes(path, limit: limit) else {
                    copied.unreadable += 1
                    continue
                }
                if let slash = destination.lastIndex(of: "/") { try HostFile.makeDirectories(String(destination[..<slash]), mode: 0o755) }
                try HostFile.replaceContents(destination, bytes)
                copied.files += 1
                copied.bytes += bytes.count
            }
        }
        return copied
    }

    /// The regular files matching `pattern` under `base`, sorted (glob(3); the base's own wildcards are escaped).
    public static func expand(base: String, pattern: String) -> [String] {
        var escapedBase = ""
        for character in base {
            if "*?[\\".contains(character) { escapedBase.append("\\") }
            escapedBase.append(character)
        }
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(HostPaths.join(escapedBase, pattern), 0, nil, &result) == 0 else { return [] }
        var paths: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            guard let pointer = result.gl_pathv[index] else { continue }
            let path = String(cString: pointer)
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, path.hasPrefix(base) else { continue }
            paths.append(path)
        }
        return paths
    }

    /// Errors of ``archive(directory:to:)``.
    public struct ArchiveError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Writes `directory` into a gzip-compressed tar archive at `archive` (GNU tar `-czf`, files owned by root in the
    /// archive), the directory's last component as the archive's top folder.
    /// - Throws: ``ArchiveError`` with tar's own message when tar cannot be started or fails.
    public static func archive(directory: String, to archive: String) async throws(ArchiveError) {
        let trimmed = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        guard let slash = trimmed.lastIndex(of: "/") else { throw ArchiveError(description: "\(directory): not an absolute path") }
        let parent = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
        let name = String(trimmed[trimmed.index(after: slash)...])
        do {
            let result = try await Subprocess.run(
                .name("tar"), arguments: ["--create", "--gzip", "--file", archive, "--owner=0", "--group=0", "--numeric-owner", "-C", parent, "--", name],
                output: .discarded, error: .string(limit: 8192))
            guard case .exited(0) = result.terminationStatus else {
                let message = (result.standardError ?? "").trimmingASCIIWhitespace()
                throw ArchiveError(description: "tar: \(message.isEmpty ? "\(result.terminationStatus)" : message)")
            }
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError(description: "tar could not be started: \(error)")
        }
    }

    /// Removes a directory made for a capture and everything in it.
    public static func removeTree(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
