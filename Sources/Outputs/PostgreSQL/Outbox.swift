//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import GRDB

/// The durable outbox of the PostgreSQL output: a SQLite table (`<state_directory>/outbox.db`) where every collection's
/// rows are stored, in one transaction, before anything is sent. Rows are sent in `seq` order and marked delivered only
/// after the database committed them, so a crash of the agent, the database or the network at any moment loses nothing;
/// it can only send a batch again, which the backend's unique keys and `ON CONFLICT DO NOTHING` skip.
///
/// Waiting rows form one contiguous `seq` range: they are delivered oldest first and dropped oldest first, and
/// `AUTOINCREMENT` never reuses a number, so the backlog is `max(seq) - min(seq) + 1` of the waiting rows.
/// Delivered rows are kept ``deliveredRetention`` (to compare the outbox with the database), then deleted.
public final class Outbox: Sendable {
    /// How long delivered rows stay in the outbox.
    public static let deliveredRetention: Duration = .seconds(3600)

    /// The bounds of the waiting rows: `max_backlog_rows` and `max_backlog_age`.
    public struct Limits: Sendable, Hashable {
        public var maxRows: Int
        public var maxAge: Duration

        public init(maxRows: Int, maxAge: Duration) {
            self.maxRows = maxRows
            self.maxAge = maxAge
        }
    }

    /// The waiting rows: how many and the collection time of the oldest.
    public struct Backlog: Sendable, Hashable {
        public var rows: Int
        public var oldestMicroseconds: Int64?
    }

    public let path: String
    private let pool: DatabasePool

    /// Opens (or creates) the outbox database at `path`.
    public init(path: String) throws {
        self.path = path
        self.pool = try StorageFiles.openPool(path, label: "viworks-outbox", migrator: Self.migrator)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        target TEXT NOT NULL
                            CHECK (target IN ('agent_metrics', 'service_status', 'container_sessions', 'agent_filesystems', 'agent_network')),
                        collected_at INTEGER NOT NULL,
                        cpu_usage TEXT, memory_usage TEXT, load_average_1m TEXT, load_average_5m TEXT, load_average_15m TEXT,
                        uptime_seconds INTEGER,
                        service_name TEXT, status TEXT, pid INTEGER,
                        mount_point TEXT, fs_type TEXT, total_bytes INTEGER, used_bytes INTEGER, available_bytes INTEGER, usage_percent TEXT,
                        bytes_sent INTEGER, bytes_received INTEGER,
                        session_id TEXT, container_id TEXT, username TEXT, port INTEGER, created_at INTEGER, stopped_at INTEGER,
                        delivered_at INTEGER);
                    CREATE INDEX outbox_waiting ON outbox (seq) WHERE delivered_at IS NULL;
                    CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
                    """)
        }
        return migrator
    }

    /// Stores the rows of one collection, in order, then drops the oldest waiting rows beyond `limits` (in the same
    /// transaction). Returns how many rows were dropped.
    @discardableResult
    public func append(_ rows: [OutboxRow], limits: Limits, now: Timestamp) throws -> Int {
        try pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO outbox (target, collected_at, cpu_usage, memory_usage, load_average_1m, load_average_5m, load_average_15m,
                        uptime_seconds, service_name, status, pid, mount_point, fs_type, total_bytes, used_bytes, available_bytes,
                        usage_percent, bytes_sent, bytes_received, session_id, container_id, username, port, created_at, stopped_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for row in rows {
                try statement.execute(arguments: [
                    row.table.rawValue, row.collectedAtMicroseconds, row.cpuUsage, row.memoryUsage, row.loadAverage1m, row.loadAverage5m,
                    row.loadAverage15m, row.uptimeSeconds, row.serviceName, row.status, row.pid, row.mountPoint, row.fsType, row.totalBytes,
                    row.usedBytes, row.availableBytes, row.usagePercent, row.bytesSent, row.bytesReceived, row.sessionID, row.containerID,
                    row.username, row.port, row.createdAtMicroseconds, row.stoppedAtMicroseconds,
                ])
            }
            return try Self.enforce(db, limits: limits, now: now)
        }
    }

    /// Drops the oldest waiting rows beyond `limits`; returns how many.
    @discardableResult
    public func enforce(_ limits: Limits, now: Timestamp) throws -> Int {
        try pool.write { db in try Self.enforce(db, limits: limits, now: now) }
    }

    private static func enforce(_ db: Database, limits: Limits, now: Timestamp) throws -> Int {
        var dropped = 0
        let cutoff = OutboxRow.microseconds(now) - Int64(limits.maxAge.secondsDouble * 1_000_000)
        if let oldest = try Int64.fetchOne(db, sql: "SELECT collected_at FROM outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT 1"),
            oldest < cutoff
        {
            // Oldest first, up to the first row young enough (collection times grow with seq).
            let firstKept = try Int64.fetchOne(
                db, sql: "SELECT seq FROM outbox WHERE delivered_at IS NULL AND collected_at >= ? ORDER BY seq LIMIT 1", arguments: [cutoff])
            try db.execute(
                sql: "DELETE FROM outbox WHERE delivered_at IS NULL AND seq < ?", arguments: [firstKept ?? Int64.max])
            dropped += db.changesCount
        }
        if let range = try Row.fetchOne(db, sql: "SELECT min(seq), max(seq) FROM outbox WHERE delivered_at IS NULL"),
            let low: Int64 = range[0], let high: Int64 = range[1], high - low + 1 > Int64(limits.maxRows)
        {
            try db.execute(
                sql: "DELETE FROM outbox WHERE delivered_at IS NULL AND seq <= ?", arguments: [high - Int64(limits.maxRows)])
            dropped += db.changesCount
        }
        return dropped
    }

    /// The oldest `limit` waiting rows, in `seq` order.
    public func waiting(limit: Int) throws -> [OutboxRow] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT ?", arguments: [limit]).compactMap(Self.decode)
        }
    }

    private static func decode(_ row: Row) -> OutboxRow? {
        guard let table = OutboxRow.Table(rawValue: row["target"]) else { return nil }
        var result = OutboxRow(table: table, collectedAtMicroseconds: row["collected_at"])
        result.seq = row["seq"]
        result.cpuUsage = row["cpu_usage"]
        result.memoryUsage = row["memory_usage"]
        result.loadAverage1m = row["load_average_1m"]
        result.loadAverage5m = row["load_average_5m"]
        result.loadAverage15m = row["load_average_15m"]
        result.uptimeSeconds = row["uptime_seconds"]
        result.serviceName = row["service_name"]
        result.status = row["status"]
        result.pid = row["pid"]
        result.mountPoint = row["mount_point"]
        result.fsType = row["fs_type"]
        result.totalBytes = row["total_bytes"]
        result.usedBytes = row["used_bytes"]
        result.availableBytes = row["available_bytes"]
        result.usagePercent = row["usage_percent"]
        result.bytesSent = row["bytes_sent"]
        result.bytesReceived = row["bytes_received"]
        result.sessionID = row["session_id"]
        result.containerID = row["container_id"]
        result.username = row["username"]
        result.port = row["port"]
        result.createdAtMicroseconds = row["created_at"]
        result.stoppedAtMicroseconds = row["stopped_at"]
        return result
    }

    /// Marks every waiting row up to `seq` delivered at `at` and deletes delivered rows older than ``deliveredRetention``.
    /// Returns how many rows were marked.
    @discardableResult
    public func markDelivered(through seq: Int64, at: Timestamp) throws -> Int {
        let now = OutboxRow.microseconds(at)
        return try pool.write { db in
            try db.execute(sql: "UPDATE outbox SET delivered_at = ? WHERE delivered_at IS NULL AND seq <= ?", arguments: [now, seq])
            let marked = db.changesCount
            try db.execute(
                sql: "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?",
                arguments: [now - Int64(Self.deliveredRetention.secondsDouble * 1_000_000)])
            return marked
        }
    }

    /// The waiting rows.
    public func backlog() throws -> Backlog {
        try pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT min(seq), max(seq) FROM outbox WHERE delivered_at IS NULL")
            guard let row, let low: Int64 = row[0], let high: Int64 = row[1] else { return Backlog(rows: 0, oldestMicroseconds: nil) }
            let oldest = try Int64.fetchOne(db, sql: "SELECT collected_at FROM outbox WHERE seq = ?", arguments: [low])
            return Backlog(rows: Int(high - low + 1), oldestMicroseconds: oldest)
        }
    }

    /// Every row, delivered or not, in `seq` order, with its delivery time in microseconds (tests and the bench).
    public func all() throws -> [(row: OutboxRow, deliveredAtMicroseconds: Int64?)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY seq").compactMap { row in
                Self.decode(row).map { ($0, row["delivered_at"]) }
            }
        }
    }

    /// Closes the database.
    public func close() throws {
        try pool.close()
    }
}
