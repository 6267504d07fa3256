//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import CSystemd
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One journal entry as the logs API returns it.
public struct JournalEntry: Sendable, Hashable {
    /// `__REALTIME_TIMESTAMP`.
    public var time: Timestamp
    /// `_SYSTEMD_UNIT`, else `UNIT` (systemd's own messages about a unit).
    public var unit: String?
    /// `PRIORITY`, 0 (emerg) … 7 (debug).
    public var priority: Int?
    /// `_PID`.
    public var pid: Int?
    /// `SYSLOG_IDENTIFIER`.
    public var identifier: String?
    /// `MESSAGE`; bytes that are not UTF-8 are written as `\xNN`.
    public var message: String
    /// The entry's cursor: `after=` resumes after it.
    public var cursor: String

    public init(time: Timestamp, unit: String?, priority: Int?, pid: Int?, identifier: String?, message: String, cursor: String) {
        self.time = time
        self.unit = unit
        self.priority = priority
        self.pid = pid
        self.identifier = identifier
        self.message = message
        self.cursor = cursor
    }
}

/// What to read. Units are matched on `_SYSTEMD_UNIT` or `UNIT` (as `journalctl -u` does for messages about a unit).
public struct JournalQuery: Sendable, Hashable {
    public var units: [String]
    public var since: Timestamp?
    public var until: Timestamp?
    /// Entries at this priority or more urgent (`PRIORITY` ≤ it).
    public var maxPriority: Int?
    /// Case-insensitive substring of `MESSAGE`.
    public var grep: String?
    /// At most this many entries: the newest ones.
    public var lines: Int

    public init(units: [String], since: Timestamp? = nil, until: Timestamp? = nil, maxPriority: Int? = nil, grep: String? = nil, lines: Int = 100) {
        self.units = units
        self.since = since
        self.until = until
        self.maxPriority = maxPriority
        self.grep = grep
        self.lines = lines
    }
}

/// A journal that cannot be opened or read.
public struct JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// What a follower receives: an entry, or a heartbeat after a quiet interval (so the HTTP layer writes something and
/// notices a client that left).
public enum JournalEvent: Sendable, Hashable {
    case entry(JournalEntry)
    case heartbeat
}

/// Reads the systemd journal through sd-journal: the local journal (`SD_JOURNAL_LOCAL_ONLY`), or the journal files of
/// one directory. Every read and every follower runs on a thread of its own (``spawnDetachedThread(stackSize:_:)``):
/// sd-journal handles are not thread-safe and block on I/O and in `sd_journal_wait`, and on Linux libdispatch's pool
/// (which Swift concurrency shares) grows slowly once its threads block. Followers are capped (``maximumFollowers``).
public struct JournalReader: Sendable {
    /// A directory of journal files (`/var/log/journal/<machine-id>`, a standalone journald's); nil for the local journal.
    public var directory: String?
    /// Concurrent `follow` streams allowed; more get ``JournalError`` `EBUSY`.
    public var maximumFollowers: Int
    /// A heartbeat is sent after this long without an entry.
    public var heartbeatInterval: Duration
    private let followers = FollowerCount()

    public init(directory: String? = nil, maximumFollowers: Int = 8, heartbeatInterval: Duration = .seconds(5)) {
        self.directory = directory
        self.maximumFollowers = maximumFollowers
        self.heartbeatInterval = heartbeatInterval
    }

    /// Followers running now.
    public var activeFollowers: Int { followers.count.load(ordering: .relaxed) }

    final class FollowerCount: Sendable {
        let count = Atomic<Int>(0)
    }

    /// The newest `query.lines` entries matching `query`, oldest first.
    public func read(_ query: JournalQuery) async throws(JournalError) -> [JournalEntry] {
        let directory = self.directory
        let result: Result<[JournalEntry], JournalError> = await withCheckedContinuation { continuation in
            let started = spawnDetachedThread(stackSize: 512 << 10) {
                continuation.resume(returning: Result { () throws(JournalError) in try Self.readBlocking(query, directory: directory) })
            }
            if !started { continuation.resume(returning: .failure(JournalError(operation: "start a reader thread", code: EAGAIN))) }
        }
        return try result.get()
    }

    /// New entries matching `query` (after `afterCursor`, or from now), as they are written, until the consumer stops
    /// iterating or cancels. Polls `sd_journal_wait` with a 250 ms timeout so a departed consumer is noticed quickly, and
    /// yields a heartbeat after ``heartbeatInterval`` without entries.
    /// - Throws: `EBUSY` when ``maximumFollowers`` streams are already running.
    public func follow(_ query: JournalQuery, afterCursor: String? = nil) throws(JournalError) -> AsyncThrowingStream<JournalEvent, any Error> {
        let directory = self.directory
        let counter = followers
        guard counter.count.add(1, ordering: .relaxed).newValue <= maximumFollowers else {
            counter.count.subtract(1, ordering: .relaxed)
            throw JournalError(operation: "follow (at most \(maximumFollowers) at once)", code: EBUSY)
        }
        let heartbeat = heartbeatInterval.secondsDouble
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: JournalEvent.self, bufferingPolicy: .bufferingNewest(1024))
        let stopped = StopFlag()
        continuation.onTermination = { _ in stopped.stop() }
        let started = spawnDetachedThread(stackSize: 512 << 10) {
            defer { counter.count.subtract(1, ordering: .relaxed) }
            var quietSince = ContinuousClock.now
            do throws(JournalError) {
                let journal = try Self.open(directory: directory)
                defer { sd_journal_close(journal) }
                // Start after `afterCursor`, or after the journal's last entry of any kind, found before the matches are
                // added: with them, seek_tail + previous finds nothing when no earlier entry matches (a unit that never
                // logged), and the first new matching entry was then skipped.
                var start = afterCursor
                if start == nil, sd_journal_seek_tail(journal) >= 0, sd_journal_previous(journal) > 0 { start = Self.cursor(journal) }
                try Self.addMatches(journal, query)
                // True when the current entry is a new one still to deliver.
                var pending = false
                if let start {
                    guard sd_journal_seek_cursor(journal, start) >= 0 else { throw JournalError(operation: "seek to the cursor", code: EINVAL) }
                    // The cursor's own entry when it matches (skip it); else already the first matching entry after it.
                    if sd_journal_next(journal) > 0, sd_journal_test_cursor(journal, start) <= 0 { pending = true }
                } else {
                    _ = sd_journal_seek_head(journal)  // an empty journal: every entry is new
                }
                while !stopped.isStopped {
                    let next = pending ? 1 : sd_journal_next(journal)
                    pending = false
                    if next < 0 { throw JournalError(operation: "sd_journal_next", code: -next) }
                    if next == 0 {
                        _ = sd_journal_wait(journal, 250_000)
                        if (ContinuousClock.now - quietSince).secondsDouble >= heartbeat {
                            continuation.yield(.heartbeat)
                            quietSince = ContinuousClock.now
                        }
                        continue
                    }
                    guard let entry = Self.entry(journal, units: query.units), Self.matches(entry, query) else { continue }
                    if let until = query.until, until < entry.time { break }
                    continuation.yield(.entry(entry))
                    quietSince = ContinuousClock.now
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        if !started {
            counter.count.subtract(1, ordering: .relaxed)
            throw JournalError(operation: "start a follower thread", code: EAGAIN)
        }
        return stream
    }

    final class StopFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        func stop() { flag.store(true, ordering: .relaxed) }
        var isStopped: Bool { flag.load(ordering: .relaxed) }
    }

    // MARK: - Blocking sd-journal work

    static func open(directory: String?) throws(JournalError) -> OpaquePointer {
        var journal: OpaquePointer?
        let code: Int32
        if let directory {
            code = sd_journal_open_directory(&journal, directory, 0)
        } else {
            code = sd_journal_open(&journal, Int32(SD_JOURNAL_LOCAL_ONLY))
        }
        guard code >= 0, let journal else { throw JournalError(operation: "open the journal\(directory.map { " in \($0)" } ?? "")", code: -code) }
        return journal
    }

    static func addMatches(_ journal: OpaquePointer, _ query: JournalQuery) throws(JournalError) {
        // (unit matches) AND (priority matches): sd-journal ORs matches of one field and ANDs fields; UNIT and
        // _SYSTEMD_UNIT are two fields, so they go in two terms joined by a disjunction, each ANDed with the priorities.
        let priorities = query.maxPriority.map { Array(0...max(0, min(7, $0))) } ?? []
        var terms: [[String]] = []
        if query.units.isEmpty {
            terms.append([])
        } else {
            terms.append(query.units.map { "_SYSTEMD_UNIT=\($0)" })
            terms.append(query.units.map { "UNIT=\($0)" })
        }
        for (index, term) in terms.enumerated() {
            if index > 0 { _ = sd_journal_add_disjunction(journal) }
            for match in term + priorities.map({ "PRIORITY=\($0)" }) {
                let code = match.withCString { sd_journal_add_match(journal, $0, 0) }
                guard code >= 0 else { throw JournalError(operation: "add match \(match)", code: -code) }
            }
        }
    }

    static func readBlocking(_ query: JournalQuery, directory: String?) throws(JournalError) -> [JournalEntry] {
        let journal = try open(directory: directory)
        defer { sd_journal_close(journal) }
        // Without journal files (no systemd-journald: a container, a minimal host) the open succeeds and reads nothing;
        // say so rather than answer an empty list that looks like a quiet service.
        var usage: UInt64 = 0
        if sd_journal_get_usage(journal, &usage) >= 0, usage == 0 {
            throw JournalError(operation: "no journal files in \(directory ?? "/run/log/journal or /var/log/journal") (is systemd-journald running?)", code: ENOENT)
        }
        try addMatches(journal, query)
        var entries: [JournalEntry] = []
        // Walk backwards from the end (or from `until`) and stop at `lines` entries or at `since`.
        if let until = query.until {
            _ = sd_journal_seek_realtime_usec(journal, UInt64(max(0, until.nanosecondsSinceEpoch / 1000)))
        } else {
            _ = sd_journal_seek_tail(journal)
        }
        var scanned = 0
        while entries.count < query.lines, scanned < 1_000_000 {
            let step = sd_journal_previous(journal)
            if step < 0 { throw JournalError(operation: "sd_journal_previous", code: -step) }
            if step == 0 { break }
            scanned += 1
            guard let entry = entry(journal, units: query.units) else { continue }
            if let until = query.until, until < entry.time { continue }
            if let since = query.since, entry.time < since { break }
            if matches(entry, query) { entries.append(entry) }
        }
        return entries.reversed()
    }

    static func matches(_ entry: JournalEntry, _ query: JournalQuery) -> Bool {
        guard let grep = query.grep, !grep.isEmpty else { return true }
        return entry.message.lowercased().contains(grep.lowercased())
    }

    /// The cursor of the current entry.
    static func cursor(_ journal: OpaquePointer) -> String? {
        var pointer: UnsafeMutablePointer<CChar>?
        guard sd_journal_get_cursor(journal, &pointer) >= 0, let pointer else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// The current entry; its `unit` is the one of `units` it matched on when there is one (systemd's own messages about
    /// nginx.service carry `_SYSTEMD_UNIT=init.scope` and `UNIT=nginx.service`), else `_SYSTEMD_UNIT`, else `UNIT`.
    static func entry(_ journal: OpaquePointer, units: [String] = []) -> JournalEntry? {
        var usec: UInt64 = 0
        guard sd_journal_get_realtime_usec(journal, &usec) >= 0 else { return nil }
        var cursorPointer: UnsafeMutablePointer<CChar>?
        guard sd_journal_get_cursor(journal, &cursorPointer) >= 0, let cursorPointer else { return nil }
        let cursor = String(cString: cursorPointer)
        free(cursorPointer)
        let ownUnit = field(journal, "_SYSTEMD_UNIT").map(text)
        let aboutUnit = field(journal, "UNIT").map(text)
        let unit = [ownUnit, aboutUnit].compactMap { $0 }.first { units.contains($0) } ?? ownUnit ?? aboutUnit
        return JournalEntry(
            time: Timestamp(seconds: Int64(clamping: usec / 1_000_000), nanoseconds: Int64(clamping: usec % 1_000_000) * 1000), unit: unit, priority: field(journal, "PRIORITY").flatMap { Int(text($0)) },
            pid: field(journal, "_PID").flatMap { Int(text($0)) }, identifier: field(journal, "SYSLOG_IDENTIFIER").map(text),
            message: field(journal, "MESSAGE").map(text) ?? "", cursor: cursor)
    }

    /// The value bytes of a field of the current entry (after `NAME=`), at most 64 KiB.
    static func field(_ journal: OpaquePointer, _ name: String) -> [UInt8]? {
        var data: UnsafeRawPointer?
        var length = 0
        let code = name.withCString { sd_journal_get_data(journal, $0, &data, &length) }
        guard code >= 0, let data else { return nil }
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        let skip = name.utf8.count + 1
        guard bytes.count >= skip else { return nil }
        return Array(bytes[skip..<min(bytes.count, skip + 65_536)])
    }

    /// UTF-8 text; bytes that are not valid UTF-8 become `\xNN` (so no byte is lost or silently replaced).
    public static func text(_ bytes: [UInt8]) -> String {
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }
        var result = ""
        var index = 0
        while index < bytes.count {
            let length = sequenceLength(bytes, at: index)
            if length > 0, let piece = String(validating: bytes[index..<(index + length)], as: UTF8.self) {
                result += piece
                index += length
            } else {
                result += "\\x" + Hex.encode([bytes[index]])
                index += 1
            }
        }
        return result
    }

    private static func sequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        let lead = bytes[index]
        let length: Int
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 0
        }
        return index + length <= bytes.count ? length : 0
    }
}
