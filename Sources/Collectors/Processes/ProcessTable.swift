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
import Synchronization

/// One process as `/proc/PID/stat` describes it.
public struct ProcessStat: Sendable, Hashable {
    public var pid: Int
    /// `comm`: the executable name, at most 15 bytes, may contain spaces and parentheses.
    public var comm: String
    /// The state letter: R, S, D, Z, T, t, X, I, …
    public var state: UInt8
    public var ppid: Int
    /// utime + stime, in clock ticks (`USER_HZ`).
    public var cpuTicks: UInt64
    /// `num_threads`.
    public var threads: Int
    /// `starttime`: clock ticks after boot.
    public var startTicks: UInt64
    /// `rss`: resident pages.
    public var rssPages: UInt64

    public init(pid: Int, comm: String, state: UInt8, ppid: Int, cpuTicks: UInt64, threads: Int, startTicks: UInt64, rssPages: UInt64) {
        self.pid = pid
        self.comm = comm
        self.state = state
        self.ppid = ppid
        self.cpuTicks = cpuTicks
        self.threads = threads
        self.startTicks = startTicks
        self.rssPages = rssPages
    }

    public var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }
    public var stateLetter: String { String(UnicodeScalar(state)) }

    /// Parses the text of `/proc/PID/stat`. The command is between the first `(` and the **last** `)`, since `comm` may
    /// itself contain `)` or spaces; fields after it are counted from there (`state` is field 3 of proc(5)).
    /// - Returns: nil when the text is not a stat line (truncated, or fewer than 24 fields).
    public static func parse<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> ProcessStat? where Bytes.Element == UInt8, Bytes.Index == Int {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")), open < close else { return nil }
        var pid = 0
        for byte in bytes[bytes.startIndex..<open] where byte != UInt8(ascii: " ") {
            guard byte >= 48, byte <= 57 else { return nil }
            pid = pid &* 10 &+ Int(byte - 48)
        }
        let comm = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        // Fields after ") ": index 0 = state (field 3), 1 = ppid, 11 = utime (14), 12 = stime, 17 = num_threads (20),
        // 19 = starttime (22), 21 = rss (24).
        var index = 0
        var value: UInt64 = 0
        var inField = false
        var state: UInt8 = 0
        var ppid = 0
        var utime: UInt64 = 0
        var stime: UInt64 = 0
        var threads = 0
        var start: UInt64 = 0
        var rss: UInt64 = 0
        var seen = 0
        var position = close + 1
        func finish(_ index: Int, _ value: UInt64) {
            switch index {
            case 1: ppid = Int(truncatingIfNeeded: value)
            case 11: utime = value
            case 12: stime = value
            case 17: threads = Int(truncatingIfNeeded: value)
            case 19: start = value
            case 21: rss = value
            default: break
            }
        }
        while position < bytes.endIndex {
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                if inField {
                    finish(index, value)
                    seen = index + 1
                    index += 1
                    inField = false
                    value = 0
                    if index > 21 { break }
                }
                continue
            }
            if index == 0 {
                if !inField { state = byte }
                inField = true
                continue
            }
            inField = true
            if byte >= 48, byte <= 57 {
                value = value &* 10 &+ UInt64(byte - 48)
            } else if byte != UInt8(ascii: "-") {
                return nil
            }
        }
        if inField {
            finish(index, value)
            seen = index + 1
        }
        guard seen >= 22, state != 0 else { return nil }
        return ProcessStat(
            pid: pid, comm: comm, state: state, ppid: ppid, cpuTicks: utime &+ stime, threads: threads, startTicks: start, rssPages: rss)
    }
}

/// A snapshot of the process table read from `<proc>/[0-9]*/stat`.
///
/// A process that exits between the directory listing and the read of its `stat` is simply not in the table: that is
/// the normal life of `/proc`, not an error (counted in ``vanished``).
public struct ProcessTable: Sendable {
    public var processes: [ProcessStat]
    /// PIDs listed whose `stat` could no longer be read.
    public var vanished: Int
    /// Monotonic seconds (`CLOCK_BOOTTIME`) when the table was read.
    public var monotonicSeconds: Double

    public init(processes: [ProcessStat], vanished: Int, monotonicSeconds: Double) {
        self.processes = processes
        self.vanished = vanished
        self.monotonicSeconds = monotonicSeconds
    }

    /// Reads every process under `procRoot`.
    /// - Throws: when `procRoot` itself cannot be listed.
    public static func read(procRoot: String, monotonicSeconds: Double) throws(HostFileError) -> ProcessTable {
        let reader = try ProcFileReader(root: procRoot)
        var processes: [ProcessStat] = []
        var vanished = 0
        var buffer = [UInt8](repeating: 0, count: 1024)
        for pid in reader.pids() {
            guard let count = reader.read("\(pid)/stat", into: &buffer), let stat = buffer.withUnsafeBufferPointer({ ProcessStat.parse($0[0..<count]) }) else {
                vanished += 1
                continue
            }
            processes.append(stat)
        }
        return ProcessTable(processes: processes, vanished: vanished, monotonicSeconds: monotonicSeconds)
    }
}

/// One read of the process table per collection round for the collectors that need it (`processes` and the `/proc`
/// side of `services`), instead of one each.
///
/// Each collector takes a table at most once: the first to ask in a round reads `/proc`, another that asks within
/// ``reuseWindow`` gets the same table, and a collector that asks again (its next round) always gets a fresh read. So
/// collectors whose runners tick together share a scan, and a lone collector behaves exactly as if it read its own.
/// A table carries the monotonic time of the context it was read for: callers ask at the start of their collection.
/// The scan runs under the lock, so a collector that asks while another scans waits for that table.
public final class SharedProcessTable: Sendable {
    private struct Entry {
        var procRoot: String
        var readAt: ContinuousClock.Instant
        var table: ProcessTable
        var takenBy: Set<String>
    }

    /// How old a table another collector read may be to be taken (collectors of one round start within milliseconds).
    let reuseWindow: Duration
    private let last = Mutex<Entry?>(nil)

    public init(reuseWindow: Duration = .milliseconds(250)) {
        self.reuseWindow = reuseWindow
    }

    /// The process table under `procRoot` for `consumer` (a collector id).
    /// - Throws: when `procRoot` itself cannot be listed.
    func table(for consumer: String, procRoot: String, monotonicSeconds: Double) throws(HostFileError) -> ProcessTable {
        try last.withLock { last throws(HostFileError) -> ProcessTable in
            let now = ContinuousClock.now
            if var entry = last, entry.procRoot == procRoot, !entry.takenBy.contains(consumer), entry.readAt.duration(to: now) <= reuseWindow {
                entry.takenBy.insert(consumer)
                last = entry
                return entry.table
            }
            let table = try ProcessTable.read(procRoot: procRoot, monotonicSeconds: monotonicSeconds)
            last = Entry(procRoot: procRoot, readAt: now, table: table, takenBy: [consumer])
            return table
        }
    }
}

/// Reads small files under a `/proc` root through one directory descriptor (`openat`), into a reused buffer.
struct ProcFileReader: ~Copyable {
    let root: String
    let directory: Int32

    init(root: String) throws(HostFileError) {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw HostFileError(path: root, errno: errno, operation: "open") }
        self.root = root
        self.directory = fd
    }

    deinit { close(directory) }

    /// The numeric entries of the root, in directory order.
    func pids() -> [Int] {
        let fd = openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let dir = fdopendir(fd) else {
            if fd >= 0 { close(fd) }
            return []
        }
        defer { closedir(dir) }
        var pids: [Int] = []
        pids.reserveCapacity(512)
        while let entry = readdir(dir) {
            let pid = withUnsafeBytes(of: entry.pointee.d_name) { raw -> Int? in
                var value = 0
                var digits = 0
                for byte in raw {
                    if byte == 0 { break }
                    guard byte >= 48, byte <= 57 else { return nil }
                    value = value &* 10 &+ Int(byte - 48)
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            if let pid { pids.append(pid) }
        }
        return pids
    }

    /// Reads `relative` into `buffer` (growing it up to `limit`); the number of bytes, or nil when it cannot be read.
    ///
    /// A read that leaves room in the buffer is taken as the end of the file, without a further read that would return
    /// 0: procfs generates a `stat`, `status`, `smaps_rollup` (one record each) or `cmdline` file whole into the reader's
    /// buffer, and a regular file (a captured tree) returns less than asked only at its end. That is one system call
    /// fewer per file, a quarter of the calls per process of a `/proc` scan. Not for files of many records (`maps`,
    /// `mountinfo`, `net/*`): procfs returns those a page at a time.
    func read(_ relative: String, into buffer: inout [UInt8], limit: Int = 1 << 16) -> Int? {
        let fd = openat(directory, relative, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var total = 0
        while true {
            if total == buffer.count {
                guard buffer.count < limit else { break }
                buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, limit - buffer.count)))
            }
            let n = buffer.withUnsafeMutableBytes { raw in Glibc.read(fd, raw.baseAddress.map { $0 + total }, raw.count - total) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            total += n
            if total < buffer.count { break }
        }
        return total
    }

    /// The whole file as text (nil when unreadable).
    func text(_ relative: String, limit: Int = 1 << 16) -> String? {
        var buffer = [UInt8](repeating: 0, count: 512)
        guard let count = read(relative, into: &buffer, limit: limit) else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// `cmdline` with NUL separators as spaces, at most `limit` bytes; empty for kernel threads and zombies.
    func commandLine(_ pid: Int, limit: Int = 512) -> String? {
        commandLineBytes(pid, limit: limit).map { bytes in String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self) }
    }

    /// The first `limit` bytes of `cmdline` without its trailing NULs; empty for kernel threads and zombies.
    func commandLineBytes(_ pid: Int, limit: Int) -> ArraySlice<UInt8>? {
        var buffer = [UInt8](repeating: 0, count: min(limit, 512))
        guard let count = read("\(pid)/cmdline", into: &buffer, limit: limit) else { return nil }
        var bytes = buffer[0..<count]
        while bytes.last == 0 { bytes = bytes.dropLast() }
        return bytes
    }

    /// The arguments of `cmdline` (NUL-separated), from its first `limit` bytes; empty for kernel threads and zombies.
    func arguments(_ pid: Int, limit: Int) -> [String]? {
        commandLineBytes(pid, limit: limit).map(Self.arguments(of:))
    }

    /// The NUL-separated arguments of `cmdline` bytes whose trailing NULs are cut (``commandLineBytes(_:limit:)``).
    static func arguments(of bytes: ArraySlice<UInt8>) -> [String] {
        if bytes.isEmpty { return [] }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// How much of `cmdline` the masking of ``displayCommandLine(of:limit:)`` sees: 4 KiB of arguments, so that a long
    /// line is cut after its secrets are hidden.
    static let displayedCommandLineBytes = 4096

    /// The command line as the API shows it, from the first ``displayedCommandLineBytes`` of `cmdline`: the arguments
    /// with secret values masked (``CommandLineRedaction``), joined by spaces, cut to at most `limit` bytes (at a
    /// character boundary).
    static func displayCommandLine(of bytes: ArraySlice<UInt8>, limit: Int = 512) -> String {
        prefix(CommandLineRedaction.redact(arguments(of: bytes)).joined(separator: " "), maxBytes: limit)
    }

    /// The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that ends on a character boundary.
    static func prefix(_ text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var result = ""
        var bytes = 0
        for character in text {
            bytes += character.utf8.count
            if bytes > maxBytes { break }
            result.append(character)
        }
        return result
    }

    /// The real uid (`Uid:` line of `status`).
    func uid(_ pid: Int) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        guard let count = read("\(pid)/status", into: &buffer, limit: 8192) else { return nil }
        return Self.parseUid(String(decoding: buffer[0..<count], as: UTF8.self))
    }

    /// The first number of the `Uid:` line of `status` text (real, effective, saved and filesystem uid follow).
    static func parseUid(_ text: String) -> Int? {
        var text = text
        var uid: Int?
        var seen = false
        text.forEachByteLine { line in
            guard !seen, line.count >= 1, line.equals(line.fields[0], "Uid:") else { return }
            seen = true
            uid = line.count >= 2 ? line.uint64(line.fields[1]).flatMap { Int(exactly: $0) } : nil
        }
        return uid
    }

    /// `Pss` of `smaps_rollup` in bytes (kernels ≥ 4.14); nil when absent or unreadable (another user's process).
    func pssBytes(_ pid: Int) -> UInt64? {
        guard let text = text("\(pid)/smaps_rollup", limit: 8192) else { return nil }
        return Self.parsePss(text)
    }

    /// The `Pss:` line of `smaps_rollup` text, in bytes.
    static func parsePss(_ text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("Pss:") {
            let parts = line.dropFirst(4).split(separator: " ")
            guard let kib = parts.first.flatMap({ UInt64($0) }) else { return nil }
            return kib * 1024
        }
        return nil
    }
}
