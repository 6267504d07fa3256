//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#endif
import Crypto
import FoundationEssentials
public import GRDB
public import Logging
import Synchronization

/// One record of the audit log.
///
/// A privileged action writes two records: `<kind>.start` **before** it runs (who, from where, what exactly: the final
/// argv) and `<kind>.end` after it (outcome, exit code, duration, SHA-256 of the output), linked by ``startID``. An action
/// that never ends (the agent was killed mid-command) keeps its start record, which is the point.
public struct AuditRecord: Sendable, Hashable {
    /// Row id: 1, 2, 3, … in write order.
    public var id: Int64
    public var time: Timestamp
    /// `command.start`, `command.end`, `service.start`, `service.end`, `recovery.start`, `recovery.end`, `session.start`,
    /// `session.end`, `auth.failure`.
    public var event: String
    /// The credential's name (API key name, JWT subject), or nil for the agent itself (auto-recovery) and anonymous callers.
    public var principal: String?
    public var role: String?
    public var clientAddress: String?
    public var requestID: String?
    /// The command id (`df`), `restart nginx` for a service action, `create alice/web` or `stop <session id>` for a session.
    public var action: String?
    /// The exact argv that ran (commands only).
    public var argv: [String]?
    /// The validated parameters of the request.
    public var parameters: [String: String]?
    /// `ok`, `exit 1`, `signal 9`, `timeout`, `refused: …`, `failed: …` on end records.
    public var outcome: String?
    public var exitCode: Int?
    public var durationSeconds: Double?
    /// Hex SHA-256 of the captured stdout followed by stderr (as captured, before truncation flags).
    public var outputSHA256: String?
    /// On an end record: the id of its start record.
    public var startID: Int64?
    /// Hex SHA-256 of the previous record (64 zeros before the first).
    public var previousHash: String
    /// Hex SHA-256 of ``previousHash`` and this record's canonical content (``canonicalContent``).
    public var hash: String

    public init(
        id: Int64 = 0, time: Timestamp, event: String, principal: String? = nil, role: String? = nil, clientAddress: String? = nil, requestID: String? = nil,
        action: String? = nil, argv: [String]? = nil, parameters: [String: String]? = nil, outcome: String? = nil, exitCode: Int? = nil,
        durationSeconds: Double? = nil, outputSHA256: String? = nil, startID: Int64? = nil, previousHash: String = "", hash: String = ""
    ) {
        self.id = id
        self.time = time
        self.event = event
        self.principal = principal
        self.role = role
        self.clientAddress = clientAddress
        self.requestID = requestID
        self.action = action
        self.argv = argv
        self.parameters = parameters
        self.outcome = outcome
        self.exitCode = exitCode
        self.durationSeconds = durationSeconds
        self.outputSHA256 = outputSHA256
        self.startID = startID
        self.previousHash = previousHash
        self.hash = hash
    }

    /// The bytes the hash covers: every field but the hash itself, each as `name=JSON value`, one per line, in a fixed
    /// order. JSON strings escape control characters, so no value can fake a line of its own.
    public var canonicalContent: String {
        func text(_ value: String?) -> String { value.map(JSONString.quote) ?? "null" }
        func number(_ value: (some BinaryInteger)?) -> String { value.map { "\($0)" } ?? "null" }
        let argvText = argv.map { "[" + $0.map(JSONString.quote).joined(separator: ",") + "]" } ?? "null"
        let parametersText = parameters.map { "{" + $0.sorted { $0.key < $1.key }.map { JSONString.quote($0.key) + ":" + JSONString.quote($0.value) }.joined(separator: ",") + "}" } ?? "null"
        return [
            "id=\(id)", "time=\(time.nanosecondsSinceEpoch)", "event=\(JSONString.quote(event))", "principal=\(text(principal))", "role=\(text(role))",
            "client=\(text(clientAddress))", "request=\(text(requestID))", "action=\(text(action))", "argv=\(argvText)", "parameters=\(parametersText)",
            "outcome=\(text(outcome))", "exit=\(number(exitCode))", "duration_ns=\(number(durationSeconds.map { Int64(($0 * 1e9).rounded()) }))",
            "output_sha256=\(text(outputSHA256))", "start=\(number(startID))", "previous=\(previousHash)",
        ].joined(separator: "\n")
    }

    static func digest(_ text: String) -> String { sha256(Array(text.utf8)) }

    /// Hex SHA-256 of arbitrary bytes (the output of a command).
    public static func sha256(_ bytes: [UInt8]) -> String { Hex.encode(SHA256.hash(data: bytes)) }
}

/// The result of ``AuditLog/verify()``.
public struct AuditVerification: Sendable, Hashable, CustomStringConvertible {
    public var records: Int
    /// The first record that does not verify, and why; nil when the chain is intact.
    public var firstBadRecord: Int64?
    public var problem: String?

    /// The anchor file is missing or unreadable: the end of the log cannot be checked.
    public var anchorProblem: String?

    public var isIntact: Bool { firstBadRecord == nil && anchorProblem == nil }

    public init(records: Int, firstBadRecord: Int64?, problem: String?, anchorProblem: String? = nil) {
        self.records = records
        self.firstBadRecord = firstBadRecord
        self.problem = problem
        self.anchorProblem = anchorProblem
    }

    public var description: String {
        if let firstBadRecord, let problem { return "audit log BROKEN at record \(firstBadRecord): \(problem) (\(records) records checked)" }
        if let anchorProblem { return "audit log NOT VERIFIED: \(anchorProblem) (\(records) records, hash chain verified)" }
        return "audit log intact: \(records) records, hash chain and both ends verified"
    }
}

/// The append-only, hash-chained audit log in the agent's SQLite state (`<state_directory>/audit.sqlite`, WAL).
///
/// Every record carries the SHA-256 of the previous record and of its own canonical content, so editing, inserting or
/// removing a record in the middle breaks the chain at that record (``verify()`` names it). SQLite triggers refuse
/// `UPDATE` outright, and `DELETE` of anything but the oldest record, and of it only once it is older than the
/// retention (`audit_state.retention_ns`, written from `[commands] audit_retention`). Retention records the last id it
/// removed (`audit_state.removed_through`), so records missing from the start are detected; and after every append the
/// newest id and hash go to an anchor file beside the database (`audit.sqlite.anchor`), so records missing from the
/// end are detected. Every record is also sent to the journal with `MESSAGE_ID=` ``AuditLog/journalMessageID`` and its
/// hash, a third copy outside the database.
///
/// What this cannot detect: someone able to write both the database and the anchor file (root) can cut the tail and
/// rewrite the anchor, or drop the triggers and rewrite `audit_state`; the journal copy (``journalMessageID``,
/// `AUDIT_ID`, `AUDIT_HASH`) then still shows the records that were removed.
public final class AuditLog: Sendable {
    /// `MESSAGE_ID` of audit journal entries: `journalctl MESSAGE_ID=8c3f0b1e5a7d4e29b6f1c2d3e4a5b6c7`.
    public static let journalMessageID = "8c3f0b1e5a7d4e29b6f1c2d3e4a5b6c7"
    static let genesis = String(repeating: "0", count: 64)
    /// Retention written when the database has none and none is given: the default of `[commands] audit_retention`.
    public static let defaultRetention: Duration = .seconds(365 * 86_400)

    /// Internal, not private: the tests read its connections' settings.
    let database: DatabasePool
    public let path: String
    /// The anchor file: `<id> <hash>` of the newest record.
    public var anchorPath: String { path + Self.anchorSuffix }
    static let anchorSuffix = ".anchor"
    private let journal: Bool
    private let health: StorageHealth?
    /// One append at a time, row and anchor together: two concurrent appends (a request and auto-recovery) would
    /// otherwise race on the anchor's temporary file, and the anchor could name an older record than the newest.
    private let appending = Mutex<Void>(())
    /// Device and inode of the database file when it was opened: a file removed or replaced under the running agent
    /// would otherwise take records to an unlinked inode.
    private let identity: FileIdentity?

    struct FileIdentity: Sendable, Hashable {
        var device: UInt64
        var inode: UInt64

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    /// Opens (creating when needed) the log at `path`.
    /// - Parameters:
    ///   - journal: also send each record to the journal.
    ///   - retention: records younger than this cannot be deleted (stored in the database); nil keeps the stored one.
    ///   - health: where failures to write are reported (`storage.audit` of status).
    public init(path: String, journal: Bool = true, retention: Duration? = nil, health: StorageHealth? = nil) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = StorageFiles.maximumReaders
        configuration.prepareDatabase { db in try StorageFiles.applyLimits(db) }
        database = try DatabasePool(path: path, configuration: configuration)
        self.path = path
        self.journal = journal
        self.health = health
        let retentionNanoseconds = retention.map { Self.nanoseconds($0) }
        let anchored = try database.write { db -> Bool in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS audit_log (
                        id INTEGER PRIMARY KEY,
                        time_ns INTEGER NOT NULL,
                        event TEXT NOT NULL,
                        principal TEXT, role TEXT, client_address TEXT, request_id TEXT, action TEXT,
                        argv TEXT, parameters TEXT, outcome TEXT, exit_code INTEGER, duration_seconds REAL, output_sha256 TEXT,
                        start_id INTEGER,
                        previous_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log(time_ns);
                    CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TABLE IF NOT EXISTS audit_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1), retention_ns INTEGER NOT NULL, removed_through INTEGER NOT NULL,
                        anchored INTEGER NOT NULL DEFAULT 0);
                    DROP TRIGGER IF EXISTS audit_log_delete_oldest_only;
                    CREATE TRIGGER audit_log_delete_oldest_only BEFORE DELETE ON audit_log
                        WHEN OLD.id != (SELECT MIN(id) FROM audit_log)
                          OR OLD.time_ns >= CAST(strftime('%s', 'now') AS INTEGER) * 1000000000
                             - coalesce((SELECT retention_ns FROM audit_state WHERE id = 1), 9223372036854775807)
                        BEGIN SELECT RAISE(ABORT, 'only the oldest audit records, once older than the retention, can be removed'); END;
                    """)
            // A log made before audit_state existed: what retention removed is everything before the oldest record.
            try db.execute(
                sql: "INSERT OR IGNORE INTO audit_state (id, retention_ns, removed_through) VALUES (1, ?, coalesce((SELECT MIN(id) - 1 FROM audit_log), 0))",
                arguments: [retentionNanoseconds ?? Self.nanoseconds(Self.defaultRetention)])
            if let retentionNanoseconds {
                try db.execute(sql: "UPDATE audit_state SET retention_ns = ? WHERE id = 1", arguments: [retentionNanoseconds])
            }
            return try Bool.fetchOne(db, sql: "SELECT anchored != 0 FROM audit_state WHERE id = 1") ?? false
        }
        let check = try StorageFiles.quickCheck(database)
        guard check == "ok" else { throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "quick_check: \(check.prefix(300))") }
        identity = FileIdentity(path: path)
        // The first open by an agent that keeps an anchor: start it from the newest record.
        if !anchored, access(anchorPath, F_OK) != 0 {
            if let newest = try database.read({ db in try Row.fetchOne(db, sql: "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1") }),
                let id = newest["id"] as Int64?, let hash = newest["hash"] as String?
            {
                try writeAnchor(id: id, hash: hash)
            } else {
                try database.write { db in try db.execute(sql: "UPDATE audit_state SET anchored = 1 WHERE id = 1") }
            }
        }
        health?.set(.audit, .ok)
    }

    /// Gives back the memory SQLite holds for the log (the writer's page cache and prepared statements; the readers are
    /// closed and open again on the next read): after start-up, whose integrity check read the whole file. Waits for an
    /// access in progress.
    public func releaseMemory() {
        database.releaseMemory()
    }

    /// Opens the log at `path` as the agent does: a file that is not a database or fails `PRAGMA quick_check` is moved
    /// aside (`audit.sqlite.corrupt-<time>`, with its `-wal`, `-shm` and anchor) and a new log started, with one log line.
    /// Returns nil when no log can be opened (then nothing privileged runs); `health` says why.
    public static func open(
        path: String, retention: Duration?, health: StorageHealth?, logger: Logger, journal: Bool = true
    ) -> AuditLog? {
        do {
            return try AuditLog(path: path, journal: journal, retention: retention, health: health)
        } catch where StorageFiles.isCorruption(error) {
            do {
                let moved = try StorageFiles.quarantine(path, component: .audit, extraSuffixes: [anchorSuffix])
                logger.error(
                    "the audit log is damaged; moved it aside and started a new one", metadata: ["path": "\(path)", "moved_to": "\(moved)", "error": "\(error)"])
                let log = try AuditLog(path: path, journal: journal, retention: retention, health: health)
                health?.set(
                    .audit, StorageCondition(status: .ok, reason: "the damaged audit log was moved to \(moved) at \(Timestamp.now().rfc3339); a new chain started"))
                return log
            } catch {
                health?.set(.audit, StorageCondition(status: .unavailable, reason: "the audit log \(path) is damaged and could not be replaced: \(error)"))
                logger.error("the audit log is damaged and could not be replaced: commands and service control are refused", metadata: ["path": "\(path)", "error": "\(error)"])
                return nil
            }
        } catch {
            health?.set(.audit, StorageCondition(status: .unavailable, reason: "the audit log \(path) cannot be opened: \(error)"))
            logger.error("the audit log cannot be opened: commands and service control are refused", metadata: ["path": "\(path)", "error": "\(error)"])
            return nil
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ attoseconds / 1_000_000_000
    }

    /// Writes `<id> <hash>` to the anchor file (a new file renamed over the old one).
    private func writeAnchor(id: Int64, hash: String) throws {
        let temporary = anchorPath + ".new"
        do {
            try HostFile.replaceContents(temporary, Array("\(id) \(hash)\n".utf8))
        } catch {
            throw StorageUnavailable(.audit, reason: "cannot write \(anchorPath): \(error.reason)")
        }
        guard rename(temporary, anchorPath) == 0 else {
            throw StorageUnavailable(.audit, reason: "cannot write \(anchorPath): \(String(cString: strerror(errno)))")
        }
        try database.write { db in try db.execute(sql: "UPDATE audit_state SET anchored = 1 WHERE id = 1 AND anchored = 0") }
    }

    /// The anchor file's id and hash; nil when there is none.
    func readAnchor() -> (id: Int64, hash: String)? {
        guard let text = HostFile.readIfPresent(anchorPath) else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let id = Int64(parts[0]) else { return (-1, "") }
        return (id, String(parts[1]))
    }

    /// The database file was removed or replaced while the agent ran.
    public struct Replaced: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var description: String { "\(path) was removed or replaced while the agent ran; restart the agent to open it again" }
    }

    /// Appends a record (its id, previous hash and hash are assigned here) and returns it as stored.
    @discardableResult
    public func append(_ record: AuditRecord) throws -> AuditRecord {
        guard let identity, FileIdentity(path: path) == identity else { throw Replaced(path: path) }
        let stored: AuditRecord
        do {
            stored = try appending.withLock { _ throws -> AuditRecord in
                let stored = try appendRow(record)
                try writeAnchor(id: stored.id, hash: stored.hash)
                return stored
            }
        } catch {
            health?.set(.audit, StorageCondition(status: .degraded, reason: "writes fail, commands are refused: \(error)"))
            throw error
        }
        if health?.condition(.audit).status == .degraded { health?.set(.audit, .ok) }
        if journal { Self.sendToJournal(stored) }
        return stored
    }

    private func appendRow(_ record: AuditRecord) throws -> AuditRecord {
        try database.write { db -> AuditRecord in
            var record = record
            let last = try Row.fetchOne(db, sql: "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
            record.id = (last?["id"] as Int64? ?? 0) + 1
            record.previousHash = last?["hash"] as String? ?? Self.genesis
            record.hash = AuditRecord.digest(record.canonicalContent)
            try db.execute(
                sql: """
                    INSERT INTO audit_log (id, time_ns, event, principal, role, client_address, request_id, action, argv, parameters, outcome,
                        exit_code, duration_seconds, output_sha256, start_id, previous_hash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.id, record.time.nanosecondsSinceEpoch, record.event, record.principal, record.role, record.clientAddress, record.requestID,
                    record.action, record.argv.map(Self.encode), record.parameters.map(Self.encode), record.outcome, record.exitCode,
                    record.durationSeconds, record.outputSHA256, record.startID, record.previousHash, record.hash,
                ])
            return record
        }
    }

    /// Records between `from` and `to` (inclusive), optionally of one principal, newest first, at most `limit`.
    public func records(from: Timestamp? = nil, to: Timestamp? = nil, principal: String? = nil, limit: Int = 1000) throws -> [AuditRecord] {
        guard let identity, FileIdentity(path: path) == identity else { throw Replaced(path: path) }
        return try database.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let from {
                conditions.append("time_ns >= ?")
                arguments.append(from.nanosecondsSinceEpoch)
            }
            if let to {
                conditions.append("time_ns <= ?")
                arguments.append(to.nanosecondsSinceEpoch)
            }
            if let principal {
                conditions.append("principal = ?")
                arguments.append(principal)
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(limit)
            return try Row.fetchAll(db, sql: "SELECT * FROM audit_log \(whereClause) ORDER BY id DESC LIMIT ?", arguments: StatementArguments(arguments))
                .map(Self.record)
        }
    }

    /// Recomputes the chain from the oldest record kept, and checks its ends: the oldest must follow the last record
    /// retention removed, and the newest must be the one the anchor file names (or newer). A log that no record was
    /// ever written to (none kept, none removed by retention) has no anchor file yet and verifies intact with 0 records.
    public func verify() throws -> AuditVerification {
        // The anchor first: it is written after each commit, so every record it names is already in the database.
        let anchor = readAnchor()
        return try database.read { db in
            let removedThrough = try Int64.fetchOne(db, sql: "SELECT removed_through FROM audit_state WHERE id = 1") ?? 0
            let anchored = try Bool.fetchOne(db, sql: "SELECT anchored != 0 FROM audit_state WHERE id = 1") ?? false
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit_log ORDER BY id")
            var previous: AuditRecord?
            var hashes: [Int64: String] = [:]
            var count = 0
            while let row = try cursor.next() {
                let record = Self.record(row)
                count += 1
                if let previous {
                    guard record.id == previous.id + 1 else {
                        return AuditVerification(records: count, firstBadRecord: record.id, problem: "record \(previous.id + 1) is missing (removed from the middle)")
                    }
                    guard record.previousHash == previous.hash else {
                        return AuditVerification(records: count, firstBadRecord: record.id, problem: "previous_hash does not match record \(previous.id)")
                    }
                } else if record.id > removedThrough + 1 {
                    let missing = record.id - 1 == removedThrough + 1 ? "record \(removedThrough + 1) is" : "records \(removedThrough + 1)…\(record.id - 1) are"
                    return AuditVerification(
                        records: count, firstBadRecord: removedThrough + 1, problem: "\(missing) missing (removed from the start, not by retention)")
                } else if record.id == 1, record.previousHash != Self.genesis {
                    return AuditVerification(records: count, firstBadRecord: record.id, problem: "the first record does not start the chain")
                }
                guard AuditRecord.digest(record.canonicalContent) == record.hash else {
                    return AuditVerification(records: count, firstBadRecord: record.id, problem: "its content does not match its hash (edited)")
                }
                if let anchor, record.id == anchor.id { hashes[record.id] = record.hash }
                previous = record
            }
            let newest = previous?.id ?? removedThrough
            guard let anchor else {
                // No record was ever written (none kept, none removed by retention): there is no end to anchor yet.
                if anchored, count > 0 || removedThrough > 0 {
                    return AuditVerification(records: count, firstBadRecord: nil, problem: nil, anchorProblem: "the anchor file \(anchorPath) is missing")
                }
                return AuditVerification(records: count, firstBadRecord: nil, problem: nil)
            }
            guard anchor.id >= 0 else {
                return AuditVerification(records: count, firstBadRecord: nil, problem: nil, anchorProblem: "the anchor file \(anchorPath) is not `<id> <hash>`")
            }
            if anchor.id > newest {
                let missing = anchor.id == newest + 1 ? "record \(anchor.id) is" : "records \(newest + 1)…\(anchor.id) are"
                return AuditVerification(
                    records: count, firstBadRecord: newest + 1, problem: "\(missing) missing (removed from the end; the anchor file names record \(anchor.id))")
            }
            if anchor.id > removedThrough, let hash = hashes[anchor.id], hash != anchor.hash {
                return AuditVerification(records: count, firstBadRecord: anchor.id, problem: "its hash differs from the anchor file's (rewritten)")
            }
            return AuditVerification(records: count, firstBadRecord: nil, problem: nil)
        }
    }

    /// Removes records older than `before` and older than the stored retention, oldest first (the triggers allow
    /// nothing else). Returns how many.
    @discardableResult
    public func removeRecords(before: Timestamp) throws -> Int {
        try database.write { db in
            // A margin of 2 s under the trigger's own cutoff (whole seconds of SQLite's clock), so that it never refuses.
            let retention = try Int64.fetchOne(db, sql: "SELECT retention_ns FROM audit_state WHERE id = 1") ?? .max
            let (allowed, overflow) = Timestamp.now().nanosecondsSinceEpoch.subtractingReportingOverflow(retention)
            let cutoff = min(before.nanosecondsSinceEpoch, overflow ? .min : allowed - 2_000_000_000)
            var removed = 0
            while let oldest = try Row.fetchOne(db, sql: "SELECT id FROM audit_log WHERE time_ns < ? ORDER BY id LIMIT 1", arguments: [cutoff]),
                let id = oldest["id"] as Int64?
            {
                try db.execute(sql: "DELETE FROM audit_log WHERE id = ?", arguments: [id])
                try db.execute(sql: "UPDATE audit_state SET removed_through = max(removed_through, ?) WHERE id = 1", arguments: [id])
                removed += 1
            }
            return removed
        }
    }

    // MARK: - Encoding

    static func encode(_ argv: [String]) -> String { "[" + argv.map(JSONString.quote).joined(separator: ",") + "]" }

    static func encode(_ parameters: [String: String]) -> String {
        "{" + parameters.sorted { $0.key < $1.key }.map { JSONString.quote($0.key) + ":" + JSONString.quote($0.value) }.joined(separator: ",") + "}"
    }

    static func record(_ row: Row) -> AuditRecord {
        AuditRecord(
            id: row["id"], time: Timestamp(nanosecondsSinceEpoch: row["time_ns"]), event: row["event"], principal: row["principal"], role: row["role"],
            clientAddress: row["client_address"], requestID: row["request_id"], action: row["action"],
            argv: (row["argv"] as String?).flatMap(JSONStringArray.decode), parameters: (row["parameters"] as String?).flatMap(JSONStringObject.decode),
            outcome: row["outcome"], exitCode: row["exit_code"], durationSeconds: row["duration_seconds"], outputSHA256: row["output_sha256"],
            startID: row["start_id"], previousHash: row["previous_hash"], hash: row["hash"])
    }

    static func sendToJournal(_ record: AuditRecord) {
        var fields = [
            "MESSAGE=audit \(record.event)\(record.action.map { " \($0)" } ?? "")\(record.outcome.map { ": \($0)" } ?? "")"
                + "\(record.principal.map { " by \($0)" } ?? "")",
            "MESSAGE_ID=\(journalMessageID)", "PRIORITY=5", "SYSLOG_IDENTIFIER=viworks-agent", "AUDIT_ID=\(record.id)", "AUDIT_EVENT=\(record.event)",
            "AUDIT_HASH=\(record.hash)",
        ]
        if let principal = record.principal { fields.append("AUDIT_PRINCIPAL=\(principal)") }
        if let client = record.clientAddress { fields.append("AUDIT_CLIENT=\(client)") }
        if let request = record.requestID { fields.append("REQUEST_ID=\(request)") }
        if let action = record.action { fields.append("AUDIT_ACTION=\(action)") }
        if let argv = record.argv { fields.append("AUDIT_ARGV=\(encode(argv))") }
        if let outcome = record.outcome { fields.append("AUDIT_OUTCOME=\(outcome)") }
        _ = JournaldLogHandler.send(fields, file: #fileID, line: #line, function: #function)
    }
}

/// Reads back the JSON the audit log writes for argv and parameters.
enum JSONStringArray {
    static func decode(_ text: String) -> [String]? { try? JSONDecoder().decode([String].self, from: Data(text.utf8)) }
}

enum JSONStringObject {
    static func decode(_ text: String) -> [String: String]? { try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) }
}
