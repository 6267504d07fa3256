//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import FoundationEssentials
public import GRDB
public import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The agent's SQLite database (WAL, through a GRDB `DatabasePool`): history blocks, rollups and incidents.
///
/// WAL with `synchronous = NORMAL`: a committed transaction survives the process being killed at any moment
/// (only a power loss can take back the last commits), and readers (API queries) never block the writer.
///
/// Every access goes through ``read(_:)`` and ``write(_:)``, which turn SQLite's errors into ``StorageUnavailable``
/// (503 `storage_unavailable`) and report the database's condition to a ``StorageHealth``. A file that is not a
/// database, fails `PRAGMA quick_check` at open, or reports corruption later is closed, moved aside
/// (`history.db.corrupt-<time>`, with its `-wal` and `-shm`) and replaced by a fresh one, with one log line. A database
/// that cannot be opened for another reason (permissions, a full disk) is retried at the next access, at most every
/// ``retryInterval``.
public final class HistoryDatabase: Sendable {
    public let path: String
    private let health: StorageHealth?
    private let logger: Logger?

    private struct State {
        var pool: DatabasePool?
        var lastAttempt: ContinuousClock.Instant?
        /// The failure reported to `health`, and whether a write caused it (then only a write clears it).
        var failure: (reason: String, byWrite: Bool)?
    }
    private let state: Mutex<State>

    /// How often a database that could not be opened is tried again.
    public static var retryInterval: Duration { .seconds(5) }

    /// Opens (creating the file and its directory when missing) and migrates the database at `path`; throws when that
    /// fails. Tools and tests; the agent uses ``init(recovering:health:logger:)``.
    public init(path: String) throws {
        self.path = path
        health = nil
        logger = nil
        state = Mutex(State(pool: try Self.openPool(path)))
    }

    /// Opens the database at `path` and never throws: a damaged file is moved aside and a fresh one created; any other
    /// failure leaves the database closed (every access throws ``StorageUnavailable``) until a later access opens it.
    public init(recovering path: String, health: StorageHealth?, logger: Logger) {
        self.path = path
        self.health = health
        self.logger = logger
        state = Mutex(State())
        _ = state.withLock { reopen(&$0) }
    }

    /// The open pool, opening it again when it is closed and ``retryInterval`` has passed.
    public var pool: DatabasePool {
        get throws(StorageUnavailable) {
            let result = state.withLock { state -> Result<DatabasePool, StorageUnavailable> in
                if let pool = state.pool { return .success(pool) }
                if let last = state.lastAttempt, ContinuousClock.now - last < Self.retryInterval {
                    return .failure(StorageUnavailable(.history, reason: state.failure?.reason ?? "the database is not open"))
                }
                return reopen(&state)
            }
            return try result.get()
        }
    }

    /// Gives back the memory SQLite holds for the open pool (the writer's page cache and prepared statements; the
    /// readers are closed and open again on the next read): after start-up, whose integrity check and migrations read
    /// the whole file. Waits for an access in progress.
    public func releaseMemory() {
        state.withLock { $0.pool }?.releaseMemory()
    }

    /// Reads in a read-only transaction (concurrently with other reads and the writer).
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let pool = try self.pool
        do {
            let value = try await pool.read(body)
            succeeded(byWrite: false)
            return value
        } catch let error as DatabaseError {
            throw failed(error, pool: pool, byWrite: false)
        }
    }

    /// Writes in one transaction.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let pool = try self.pool
        do {
            let value = try await pool.write(body)
            succeeded(byWrite: true)
            return value
        } catch let error as DatabaseError {
            throw failed(error, pool: pool, byWrite: true)
        }
    }

    // MARK: - Condition

    private func succeeded(byWrite: Bool) {
        let cleared = state.withLock { state -> Bool in
            guard let failure = state.failure, byWrite || !failure.byWrite else { return false }
            state.failure = nil
            return true
        }
        if cleared {
            health?.set(.history, .ok)
            logger?.notice("history: the database works again", metadata: ["history.path": "\(path)"])
        }
    }

    private func failed(_ error: DatabaseError, pool: DatabasePool, byWrite: Bool) -> StorageUnavailable {
        if StorageFiles.isCorruption(error) {
            let reason = state.withLock { state -> String in
                // Another access may have replaced the pool already.
                guard state.pool === pool else { return "the database was corrupt and has been replaced" }
                state.pool = nil
                do {
                    try pool.close()
                } catch {
                    let reason = "the database is corrupt (\(Self.describe(error))) and could not be closed to move it aside"
                    state.failure = (reason, byWrite)
                    state.lastAttempt = .now
                    health?.set(.history, StorageCondition(status: .unavailable, reason: reason))
                    return reason
                }
                _ = reopen(&state, corruption: Self.describe(error))
                return state.pool == nil ? (state.failure?.reason ?? "the database is corrupt") : "the database was corrupt and has been replaced"
            }
            return StorageUnavailable(.history, reason: reason)
        }
        let reason = (byWrite ? "writes fail: " : "reads fail: ") + Self.describe(error)
        let changed = state.withLock { state -> Bool in
            let changed = state.failure?.reason != reason
            state.failure = (reason, byWrite)
            return changed
        }
        if changed {
            health?.set(.history, StorageCondition(status: .degraded, reason: reason))
            logger?.error("history: the database fails", metadata: ["history.path": "\(path)", "error": "\(reason)"])
        }
        return StorageUnavailable(.history, reason: reason)
    }

    /// Opens the database into `state`; a damaged file (or `corruption`, found by an access) is moved aside first.
    private func reopen(_ state: inout State, corruption: String? = nil) -> Result<DatabasePool, StorageUnavailable> {
        state.lastAttempt = .now
        var damage = corruption
        if damage == nil {
            do {
                let pool = try Self.openPool(path)
                let check = try StorageFiles.quickCheck(pool)
                if check == "ok" {
                    state.pool = pool
                    if state.failure != nil {
                        state.failure = nil
                        health?.set(.history, .ok)
                    }
                    return .success(pool)
                }
                try? pool.close()
                damage = "quick_check: " + String(check.prefix(300))
            } catch let error as DatabaseError where StorageFiles.isCorruption(error) {
                damage = Self.describe(error)
            } catch {
                return .failure(unavailable(&state, "cannot open \(path): \(Self.describe(error))"))
            }
        }
        let moved: String
        do {
            moved = try StorageFiles.quarantine(path, component: .history)
        } catch {
            return .failure(unavailable(&state, "the database is damaged (\(damage ?? "")) and \(Self.describe(error))"))
        }
        logger?.error(
            "history: the database is damaged; moved it aside and started a new one",
            metadata: ["history.path": "\(path)", "history.moved_to": "\(moved)", "error": "\(damage ?? "")"])
        do {
            let pool = try Self.openPool(path)
            state.pool = pool
            state.failure = nil
            health?.set(.history, StorageCondition(status: .ok, reason: "the damaged database (\(damage ?? "")) was moved to \(moved) at \(Timestamp.now().rfc3339); history starts again"))
            return .success(pool)
        } catch {
            return .failure(unavailable(&state, "cannot create \(path): \(Self.describe(error))"))
        }
    }

    private func unavailable(_ state: inout State, _ reason: String) -> StorageUnavailable {
        if state.failure?.reason != reason {
            logger?.error("history: the database cannot be opened; retrying", metadata: ["history.path": "\(path)", "error": "\(reason)"])
        }
        state.pool = nil
        state.failure = (reason, false)
        health?.set(.history, StorageCondition(status: .unavailable, reason: reason))
        return StorageUnavailable(.history, reason: reason)
    }

    /// SQLite's message without GRDB's SQL and arguments.
    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        if let error = error as? StorageUnavailable { return error.reason }
        return "\(error)"
    }

    static func openPool(_ path: String) throws -> DatabasePool {
        try StorageFiles.openPool(path, label: "viworks-history", migrator: migrator)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-history") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    INSERT INTO meta (key, value) VALUES ('block_format', '\(BlockCodec.version)');
                    CREATE TABLE series (
                        id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL, labels TEXT NOT NULL, kind TEXT NOT NULL);
                    CREATE INDEX series_name ON series (name);
                    CREATE TABLE blocks (
                        id INTEGER PRIMARY KEY, series INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
                        count INTEGER NOT NULL, bytes BLOB NOT NULL, UNIQUE (series, start));
                    CREATE TABLE rollup_minute (
                        series INTEGER NOT NULL, t INTEGER NOT NULL, vmin REAL NOT NULL, vmax REAL NOT NULL, vsum REAL NOT NULL,
                        n INTEGER NOT NULL, vlast REAL NOT NULL, last_t INTEGER NOT NULL, PRIMARY KEY (series, t)) WITHOUT ROWID;
                    CREATE TABLE rollup_hour (
                        series INTEGER NOT NULL, t INTEGER NOT NULL, vmin REAL NOT NULL, vmax REAL NOT NULL, vsum REAL NOT NULL,
                        n INTEGER NOT NULL, vlast REAL NOT NULL, last_t INTEGER NOT NULL, PRIMARY KEY (series, t)) WITHOUT ROWID;
                    CREATE TABLE incidents (
                        id INTEGER PRIMARY KEY, rule TEXT NOT NULL, subject TEXT NOT NULL, severity TEXT NOT NULL,
                        started_at INTEGER NOT NULL, ended_at INTEGER, peak_value REAL NOT NULL, peak_at INTEGER NOT NULL,
                        last_value REAL NOT NULL, threshold REAL NOT NULL, message TEXT NOT NULL);
                    CREATE INDEX incidents_started ON incidents (started_at);
                    """)
        }
        return migrator
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try self.pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// Size of the database file plus its WAL, in bytes.
    public func fileBytes() -> Int64 {
        var total: Int64 = 0
        for file in [path, path + "-wal"] {
            var info = stat()
            if stat(file, &info) == 0 { total += Int64(info.st_size) }
        }
        return total
    }
}

/// A column of `row` as `T`, nil when NULL or of another type (data read from disk never traps).
func column<T: DatabaseValueConvertible>(_ row: Row, _ index: Int) -> T? {
    let value: DatabaseValue = row[index]
    return T.fromDatabaseValue(value)
}
