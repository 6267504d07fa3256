//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Foundation
import GRDB
import Logging
import Testing

/// A reader that holds a long transaction (a `sqlite3` shell left in `BEGIN`, a slow export) keeps SQLite from
/// checkpointing the WAL past its snapshot, so the WAL grows while it lasts. Once it ends, the agent's databases
/// must shrink their WAL back to the limit (`journal_size_limit`), not keep the high-water mark forever.
@Suite struct WALBoundsTests {
    static let limit = Int64(StorageFiles.walSizeLimitBytes)

    static func directory(_ name: String = #function) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("viworks-wal-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func walBytes(_ path: String) -> Int64 { HostFile.fingerprint(path + "-wal").size }

    /// Another connection, in a read transaction that has read (so it holds a snapshot).
    static func holdReader(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: path, configuration: configuration)
        try reader.inDatabase { db in
            try db.execute(sql: "BEGIN")
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
        }
        return reader
    }

    static func release(_ reader: DatabaseQueue) throws {
        try reader.inDatabase { db in try db.execute(sql: "COMMIT") }
        try reader.close()
    }

    @Test func theHistoryWALShrinksBackToItsLimitAfterALongReader() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/history.db"
        let database = try HistoryDatabase(path: path)
        try await database.write { db in try db.execute(sql: "CREATE TABLE scratch (b BLOB)") }
        let reader = try Self.holdReader(path)
        let blob = Data(repeating: 7, count: 1 << 20)
        for _ in 0..<24 { try await database.write { db in try db.execute(sql: "INSERT INTO scratch VALUES (?)", arguments: [blob]) } }
        #expect(Self.walBytes(path) > Self.limit, "the reader kept the WAL from being checkpointed: the scenario did not happen")
        try Self.release(reader)
        for _ in 0..<3 { try await database.write { db in try db.execute(sql: "DELETE FROM scratch WHERE rowid = (SELECT min(rowid) FROM scratch)") } }
        #expect(Self.walBytes(path) <= Self.limit)
    }

    @Test func theAuditWALShrinksBackToItsLimitAfterALongReader() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/audit.db"
        let audit = try AuditLog(path: path, journal: false)
        let reader = try Self.holdReader(path)
        let big = String(repeating: "x", count: 1 << 20)
        for index in 0..<24 {
            try audit.append(AuditRecord(time: .now(), event: "command.start", action: "test", argv: ["/bin/echo", "\(index)", big]))
        }
        #expect(Self.walBytes(path) > Self.limit, "the reader kept the WAL from being checkpointed: the scenario did not happen")
        try Self.release(reader)
        for _ in 0..<3 { try audit.append(AuditRecord(time: .now(), event: "command.end", action: "test", outcome: "ok")) }
        #expect(Self.walBytes(path) <= Self.limit)
    }

    /// Every connection of a state database (the writer and each reader) keeps at most 256 KiB of SQLite page cache
    /// (`PRAGMA cache_size` negative: KiB), not SQLite's default of about 2 MB that slowly fills as the file grows.
    @Test func everyConnectionOfAStateDatabaseHasTheSmallPageCache() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let history = try HistoryDatabase(path: directory + "/history.db")
        #expect(try await history.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -256)
        #expect(try await history.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -256)
        let audit = try AuditLog(path: directory + "/audit.db", journal: false)
        #expect(try await audit.database.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -256)
        #expect(try await audit.database.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -256)
    }

    @Test func theDatabasesWorkOnAfterGivingBackTheirMemory() async throws {
        // The start-up memory release empties the page caches and closes the readers; reads and writes go on.
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let history = try HistoryDatabase(path: directory + "/history.db")
        try await history.write { db in try db.execute(sql: "CREATE TABLE t (v INTEGER)"); try db.execute(sql: "INSERT INTO t VALUES (1)") }
        #expect(try await history.read { db in try Int.fetchOne(db, sql: "SELECT sum(v) FROM t") } == 1)
        history.releaseMemory()
        #expect(try await history.read { db in try Int.fetchOne(db, sql: "SELECT sum(v) FROM t") } == 1)
        try await history.write { db in try db.execute(sql: "INSERT INTO t VALUES (2)") }
        #expect(try await history.read { db in try Int.fetchOne(db, sql: "SELECT sum(v) FROM t") } == 3)
        #expect(try await history.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -256)

        let audit = try AuditLog(path: directory + "/audit.db", journal: false)
        _ = try audit.append(AuditRecord(time: .now(), event: "command.start", action: "test", argv: ["/bin/true"]))
        audit.releaseMemory()
        _ = try audit.append(AuditRecord(time: .now(), event: "command.end", action: "test", outcome: "ok"))
        #expect(try audit.records().map(\.event) == ["command.end", "command.start"])  // newest first
        #expect(try audit.verify().isIntact)
        #expect(try await audit.database.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -256)

        // A database that could not be opened has nothing to give back.
        let blocked = directory + "/blocked.db"
        try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: true)
        HistoryDatabase(recovering: blocked, health: nil, logger: Logger(label: "test")).releaseMemory()
    }
}
