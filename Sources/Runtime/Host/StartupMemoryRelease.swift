//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
public import ServiceLifecycle

#if canImport(Glibc)
import CSystemd
import Glibc
#endif

/// Gives back, once, the memory that only start-up used.
///
/// Start-up runs code that never runs again (argument parsing, the TOML parser, configuration, bootstrap) and the
/// kernel maps the binary's code around every page fault in large windows, so right after start the agent's RSS
/// counts megabytes of code and constant data it will not touch again (the HTTP server's date cache, for one, loads
/// the time zone through ICU's data, 34 MB in the binary, once). Once the agent is ready (server listening, first
/// collections done) and has served a while, this service asks the kernel to drop those pages from the process
/// (`madvise(MADV_PAGEOUT)`): the whole executable mapping of the agent's own binary, and in its other mappings the
/// pages that are still the file's own (``cleanFilePageRuns(_:pagemap:)``: constant data never written; a page that
/// relocation or the program wrote is anonymous by now and stays); the same for the private mappings of the shared
/// libraries it loaded (the C and C++ runtimes, SQLite, libsystemd: their start-up paths and tables). Such pages are
/// clean, so nothing is lost; what is still used faults back in at once. Afterwards RSS is the steady-state working
/// set. Before that, the caches that start-up filled give back what they hold (``init(enabled:isReady:delay:releaseCaches:logger:)``:
/// the databases' page caches after their integrity checks) and the heap's free pages go back to the kernel
/// (`malloc_trim`). The kernel pages out a file's pages only for a process that owns the file or may
/// write it (root and root's files under the systemd unit), and keeps any page another process maps too; the bytes
/// logged are the bytes advised. It runs once and is switched off with `[agent] release_startup_memory = false`.
public struct StartupMemoryRelease: Service {
    private let enabled: Bool
    private let isReady: @Sendable () -> Bool
    private let releaseCaches: @Sendable () -> Void
    private let delay: Duration
    private let logger: Logger

    /// - Parameters:
    ///   - enabled: false makes the service do nothing (`[agent] release_startup_memory = false`).
    ///   - isReady: true once the agent serves and has collected (the same gate as systemd's READY) and the one-time
    ///     work that follows start-up is done (the agent waits for the history writer's first flush).
    ///   - delay: how long after readiness to wait, so that the steady-state paths have run at least once.
    ///   - releaseCaches: called first, to give back what caches filled at start-up hold (the databases' page caches);
    ///     the heap's free pages are then returned to the kernel (`malloc_trim`).
    public init(
        enabled: Bool = true, isReady: @escaping @Sendable () -> Bool, delay: Duration = .seconds(10),
        releaseCaches: @escaping @Sendable () -> Void = {}, logger: Logger
    ) {
        self.enabled = enabled
        self.isReady = isReady
        self.releaseCaches = releaseCaches
        self.delay = delay
        self.logger = logger
    }

    public func run() async throws {
        guard enabled else {
            do { try await gracefulShutdown() } catch is CancellationError {}
            return
        }
        await withTaskGroup(of: Void.self) { group in
            // Stays alive like every other service until shutdown. The wait begins before the release, so that its code
            // is not paged back in only to wait.
            group.addTask { try? await gracefulShutdown() }
            group.addTask {
                try? await cancelWhenGracefulShutdown {
                    while !isReady() { try await Task.sleep(for: .milliseconds(200)) }
                    try await Task.sleep(for: delay)
                    releaseNow()
                }
            }
        }
    }

    private func releaseNow() {
        let before = Self.residentKilobytes()
        releaseCaches()
        #if canImport(Glibc)
        _ = malloc_trim(0)
        #endif
        let maps = HostFile.readIfPresent("/proc/self/maps")
        // The binary last, and in it its code: what runs after that (the end of the loop, the log line) faults back in.
        let released = Self.releaseSharedLibraryPages(maps: maps) + Self.releaseExecutablePages(maps: maps)
        logger.debug(
            "released start-up memory",
            metadata: ["memory.bytes_advised": "\(released)", "memory.rss_kb_before": "\(before ?? -1)",
                "memory.rss_kb_after": "\(Self.residentKilobytes() ?? -1)"])
    }

    /// `MADV_PAGEOUT` (Linux 5.4): reclaim the pages of a range as if under memory pressure.
    static let madvisePageout: Int32 = 21

    /// Advises the kernel to page out the pages of `/proc/self/exe` that are clean: its executable mappings whole, and
    /// the runs of pages of its other mappings that are still the file's (without a readable `pagemap`, only the
    /// executable mappings). Returns the bytes advised.
    @discardableResult
    public static func releaseExecutablePages(
        maps: String? = HostFile.readIfPresent("/proc/self/maps"), executable: String? = HostFile.readLink("/proc/self/exe"),
        pagemap: String = "/proc/self/pagemap"
    ) -> Int {
        guard let maps, let executable, !executable.isEmpty else { return 0 }
        return release(executableMappings(maps: maps, executable: executable), pagemap: pagemap)
    }

    /// Pages out the `r-xp` mappings whole and the clean file page runs of the others. Returns the bytes advised.
    private static func release(_ mappings: [(range: Range<UInt>, permissions: Substring)], pagemap: String) -> Int {
        advise(pageoutRanges(mappings, pagemap: pagemap))
    }

    /// The ranges of `mappings` to page out: the `r-xp` mappings whole, after the runs of pages of the others that are
    /// still the file's (none of those without a readable `pagemap`).
    private static func pageoutRanges(_ mappings: [(range: Range<UInt>, permissions: Substring)], pagemap: String) -> [Range<UInt>] {
        let pagemapDescriptor = open(pagemap, O_RDONLY | O_CLOEXEC)
        defer { if pagemapDescriptor >= 0 { close(pagemapDescriptor) } }
        var data: [Range<UInt>] = []
        var code: [Range<UInt>] = []
        for mapping in mappings {
            if mapping.permissions == "r-xp" {
                code.append(mapping.range)
            } else if pagemapDescriptor >= 0 {
                data += cleanFilePageRuns(mapping.range, pagemap: pagemapDescriptor)
            }
        }
        return data + code
    }

    /// `madvise(MADV_PAGEOUT)` over `ranges` in order. Returns the bytes advised.
    private static func advise(_ ranges: [Range<UInt>]) -> Int {
        var advised = 0
        for range in ranges {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            if madvise(start, range.count, madvisePageout) == 0 { advised += range.count }
        }
        return advised
    }

    /// Advises the kernel to page out the clean pages of the shared libraries mapped into this process (their code
    /// mappings whole, the file's pages of the others; ``sharedLibraryMappings(maps:)``). Returns the bytes advised.
    @discardableResult
    public static func releaseSharedLibraryPages(
        maps: String? = HostFile.readIfPresent("/proc/self/maps"), pagemap: String = "/proc/self/pagemap"
    ) -> Int {
        guard let maps else { return 0 }
        return release(sharedLibraryMappings(maps: maps), pagemap: pagemap)
    }

    /// The private mappings of shared libraries (a path whose file name ends in `.so` or in `.so` and a version of
    /// digits, `libc.so.6`, `libsqlite3.so.0.8.6`) in a `/proc/PID/maps` text, with their permissions. A shared
    /// mapping (`rw-s`) is left out: paging out its written pages would write them back to the file.
    public static func sharedLibraryMappings(maps: String) -> [(range: Range<UInt>, permissions: Substring)] {
        mappings(maps: maps) { path in
            guard path.hasPrefix("/"), let name = path.split(separator: "/").last else { return false }
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            guard let so = parts.lastIndex(of: "so"), so > 0, !parts[so - 1].isEmpty else { return false }
            return parts[(so + 1)...].allSatisfy { !$0.isEmpty && $0.allSatisfy { ("0"..."9").contains($0) } }
        }.filter { $0.permissions.hasSuffix("p") }
    }

    /// Every mapping of `executable` in a `/proc/PID/maps` text, with its permissions (`r-xp`, `r--p`, `rw-p`). The
    /// `r-xp` ones are code: never written, never relocated, so dropping their pages loses nothing.
    public static func executableMappings(maps: String, executable: String) -> [(range: Range<UInt>, permissions: Substring)] {
        mappings(maps: maps) { $0 == executable }
    }

    /// The mappings of a `/proc/PID/maps` text whose path (everything after the inode, spaces included) `matches`.
    private static func mappings(
        maps: String, where matches: (String) -> Bool
    ) -> [(range: Range<UInt>, permissions: Substring)] {
        var mappings: [(range: Range<UInt>, permissions: Substring)] = []
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, matches(fields[5...].joined(separator: " ")) else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let low = UInt(bounds[0], radix: 16), let high = UInt(bounds[1], radix: 16), low < high else { continue }
            mappings.append((low..<high, fields[1]))
        }
        return mappings
    }

    /// The runs of pages of `range` that are present and still pages of the mapped file (`/proc/self/pagemap`: bit 63
    /// present, bit 61 file page or shared anonymous; a private mapping's page that was written is an anonymous copy).
    static func cleanFilePageRuns(_ range: Range<UInt>, pagemap: Int32) -> [Range<UInt>] {
        let pageSize = UInt(max(sysconf(Int32(_SC_PAGESIZE)), 4096))
        let firstPage = range.lowerBound / pageSize
        let pages = Int((range.upperBound - range.lowerBound) / pageSize)
        var entries = [UInt64](repeating: 0, count: pages)
        let wanted = pages * MemoryLayout<UInt64>.size
        let read = entries.withUnsafeMutableBytes { pread(pagemap, $0.baseAddress, wanted, off_t(firstPage) * 8) }
        guard read == wanted else { return [] }
        var runs: [Range<UInt>] = []
        var runStart: Int?
        for index in 0...pages {
            let entry = index < pages ? entries[index] : 0  // past the end: closes the last run
            let clean = entry & (1 << 63) != 0 && entry & (1 << 61) != 0
            if clean, runStart == nil { runStart = index }
            if !clean, let start = runStart {
                runs.append((range.lowerBound + UInt(start) * pageSize)..<(range.lowerBound + UInt(index) * pageSize))
                runStart = nil
            }
        }
        return runs
    }

    /// VmRSS of this process in kB.
    static func residentKilobytes() -> Int? {
        guard let status = HostFile.readIfPresent("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }
}
