//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import FoundationEssentials
import GRDB

/// The session store failed: the file cannot be opened, read or written.
public struct SessionStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { "the session store is unavailable: \(reason)" }
}

/// The session records in the agent's SQLite state (`<state_directory>/sessions.sqlite`, WAL, `synchronous = NORMAL`):
/// one row per session, kept after removal until ``purge(removedBefore:)``, so that they survive restarts of the
/// agent and the reconciliation at start knows every container it made.
///
/// The table is the backend's `container_sessions` (`container_id, username, session_id, port, status, created_at,
/// stopped_at`) plus the template, the limits, the exit code, the reason and the manager's bookkeeping. Times are
/// Unix nanoseconds.
public final class SessionStore: Sendable {
    public let path: String
    private let pool: DatabasePool

    /// Opens (creating the file, its directory and the table when missing) the store at `path`.
    /// - Throws: ``SessionStoreError`` naming the reason when the file cannot be opened or migrated.
    public init(path: String) throws {
        self.path = path
        do {
            pool = try StorageFiles.openPool(path, label: "viworks-sessions", migrator: Self.migrator)
        } catch let error as DatabaseError {
            throw SessionStoreError(reason: "cannot open \(path): \(error.message ?? "\(error.resultCode)")")
        } catch {
            throw SessionStoreError(reason: "cannot open \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-container-sessions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE container_sessions (
                        session_id TEXT PRIMARY KEY,
                        container_id TEXT,
                        username TEXT NOT NULL,
                        template TEXT NOT NULL,
                        port INTEGER,
                        status TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        stopped_at INTEGER,
                        memory_limit_bytes INTEGER NOT NULL,
                        cpu_shares INTEGER NOT NULL,
                        cpus REAL,
                        exit_code INTEGER,
                        reason TEXT,
                        expires_at INTEGER,
                        idle_timeout_ns INTEGER,
                        last_activity_at INTEGER,
                        removed_at INTEGER
                    );
                    CREATE INDEX container_sessions_status ON container_sessions (status);
                    CREATE INDEX container_sessions_username ON container_sessions (username);
                    CREATE INDEX container_sessions_container ON container_sessions (container_id);
                    """)
        }
        return migrator
    }

    /// Inserts or replaces the record with this session id.
    public func save(_ session: Session) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO container_sessions (session_id, container_id, username, template, port, status, created_at, stopped_at,
                        memory_limit_bytes, cpu_shares, cpus, exit_code, reason, expires_at, idle_timeout_ns, last_activity_at, removed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.sessionID, session.containerID, session.username, session.template, session.port, session.status.rawValue,
                    session.createdAt.nanosecondsSinceEpoch, session.stoppedAt?.nanosecondsSinceEpoch, session.memoryLimitBytes, session.cpuShares,
                    session.cpus, session.exitCode, session.reason, session.expiresAt?.nanosecondsSinceEpoch,
                    session.idleTimeout.map { Self.nanoseconds($0) }, session.lastActivityAt?.nanosecondsSinceEpoch,
                    session.removedAt?.nanosecondsSinceEpoch,
                ])
        }
    }

    /// Every record, oldest first.
    public func all() async throws -> [Session] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM container_sessions ORDER BY created_at, session_id").compactMap(Self.session) }
    }

    /// The records that still hold a container (creating, running, stopped, exited, oom_killed), oldest first.
    public func active() async throws -> [Session] {
        try await all().filter { $0.status.holdsContainer }
    }

    /// The record with this id; nil when none.
    public func session(_ id: String) async throws -> Session? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM container_sessions WHERE session_id = ?", arguments: [id]).flatMap(Self.session)
        }
    }

    /// Deletes removed records whose removal is older than `time`; returns how many.
    @discardableResult
    public func purge(removedBefore time: Timestamp) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM container_sessions WHERE status IN ('removed', 'orphaned') AND removed_at IS NOT NULL AND removed_at < ?",
                arguments: [time.nanosecondsSinceEpoch])
            return db.changesCount
        }
    }

    /// Closes the database.
    public func close() throws {
        try pool.close()
    }

    // MARK: - Rows

    private static func session(_ row: Row) -> Session? {
        guard let id: String = row["session_id"], let username: String = row["username"], let template: String = row["template"],
            let statusText: String = row["status"], let status = SessionStatus(rawValue: statusText), let created: Int64 = row["created_at"],
            let memory: Int64 = row["memory_limit_bytes"], let shares: Int = row["cpu_shares"]
        else { return nil }
        func time(_ column: String) -> Timestamp? {
            let value: Int64? = row[column]
            return value.map { Timestamp(nanosecondsSinceEpoch: $0) }
        }
        let idle: Int64? = row["idle_timeout_ns"]
        return Session(
            sessionID: id, username: username, template: template, containerID: row["container_id"], port: row["port"], status: status,
            createdAt: Timestamp(nanosecondsSinceEpoch: created), stoppedAt: time("stopped_at"), memoryLimitBytes: memory, cpuShares: shares,
            exitCode: row["exit_code"], reason: row["reason"], expiresAt: time("expires_at"), idleTimeout: idle.map { .nanoseconds($0) },
            cpus: row["cpus"], lastActivityAt: time("last_activity_at"), removedAt: time("removed_at"))
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            throw SessionStoreError(reason: "sessions: reads fail: \(error.message ?? "\(error.resultCode)")")
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as DatabaseError {
            throw SessionStoreError(reason: "sessions: writes fail: \(error.message ?? "\(error.resultCode)")")
        }
    }
}
