//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import FoundationEssentials
public import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// The agent's SQLite database (WAL, through a GRDB `DatabasePool`): history blocks, rollups and incidents.
///
/// WAL with `synchronous = NORMAL`: a committed transaction survives the process being killed at any moment
/// (only a power loss can take back the last commits), and readers (API queries) never block the writer.
public final class HistoryDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String

    /// Opens (creating the file and its directory when missing) and migrates the database at `path`.
    public init(path: String) throws {
        self.path = path
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "viworks-history"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA journal_size_limit = 16777216")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
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
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
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
