//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Foundation
import GRDB
import Logging
import Testing

/// Damaged, truncated and full databases: moved aside and replaced, reported in the storage health and the agent's
/// condition, never a permanent outage; the retry buffer of failed flushes is bounded.
@Suite("storage: damaged and full databases")
struct StorageRecoveryTests {
    let logger = Logger(label: "test")

    static func directory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("viworks-storage-\(UInt64.random(in: 0...UInt64.max))").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func quarantined(in directory: String, prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(prefix + ".corrupt-") }.sorted()
    }

    /// A real history database with `series` series of 240 samples each, checkpointed into the main file and closed.
    static func populatedDatabase(at path: String, series: Int = 400) async throws {
        let database = try HistoryDatabase(path: path)
        let writer = HistoryWriter(store: HistoryStore(database: database), bus: nil, settings: HistorySettings(), clock: ContinuousClock(), logger: Logger(label: "test"))
        for index in 0..<series {
            for step in 0..<240 {
                writer.record(
                    HistorySample(milliseconds: 1_760_000_000_000 + Int64(step) * 1000, value: Double(index * step % 997) / 7), series: SeriesKey(name: "m\(index)", labels: []))
            }
        }
        try await writer.flush()
        _ = try await database.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try database.pool.close()
    }

    /// Opens `path` the agent's way and checks that it works, holds nothing of the damaged file, and said so.
    func expectReplaced(_ path: String, directory: String) async throws {
        let health = StorageHealth()
        let database = HistoryDatabase(recovering: path, health: health, logger: logger)
        let condition = health.condition(.history)
        #expect(condition.status == .ok)
        #expect(condition.reason?.contains("was moved to \(path).corrupt-") == true, "\(condition)")
        #expect(Self.quarantined(in: directory, prefix: "history.db").count == 1)
        let store = HistoryStore(database: database)
        #expect(try await store.blockStatistics().blocks == 0)
        #expect(try database.integrityCheck() == "ok")
        var flush = HistoryFlush()
        var encoder = BlockEncoder()
        encoder.append(HistorySample(milliseconds: 1000, value: 1))
        flush.blocks = [HistoryFlush.Block(series: SeriesKey(name: "a", labels: []), kind: .gauge, encoder: encoder)]
        try await store.write(flush)
        #expect(try await store.blockStatistics().samples == 1)
    }

    @Test func aFileOfGarbageIsMovedAsideAndReplaced() async throws {
        let directory = Self.directory()
        let path = directory + "/history.db"
        let garbage = Data((0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: path))
        try await expectReplaced(path, directory: directory)
        let moved = try #require(Self.quarantined(in: directory, prefix: "history.db").first)
        #expect(FileManager.default.contents(atPath: directory + "/" + moved) == garbage, "the damaged file is kept, untouched")
    }

    @Test func aTruncatedFileIsMovedAsideAndReplaced() async throws {
        let directory = Self.directory()
        let path = directory + "/history.db"
        try await Self.populatedDatabase(at: path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 200_000)
        #expect(truncate(path, off_t(size / 2)) == 0)
        try await expectReplaced(path, directory: directory)
    }

    @Test func aCorruptPageInTheMiddleIsFoundByTheQuickCheck() async throws {
        let directory = Self.directory()
        let path = directory + "/history.db"
        try await Self.populatedDatabase(at: path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(size / 2 / 4096 * 4096))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 4096 * 3))
        try handle.close()
        try await expectReplaced(path, directory: directory)
    }

    @Test func aDatabaseThatCannotBeOpenedIsUnavailableWithItsReasonAndRetried() async throws {
        let directory = Self.directory()
        // A directory where the file should be: not damage, so nothing is moved; retried after the interval.
        let path = directory + "/history.db"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let health = StorageHealth()
        let database = HistoryDatabase(recovering: path, health: health, logger: logger)
        #expect(health.condition(.history).status == .unavailable)
        #expect(health.condition(.history).reason?.hasPrefix("cannot open \(path)") == true)
        #expect(Self.quarantined(in: directory, prefix: "history.db").isEmpty)
        await #expect(throws: StorageUnavailable.self) { try await HistoryStore(database: database).blockStatistics() }
        let condition = AgentCondition.evaluate(snapshot: AgentSnapshot(), collectors: [], storage: health)
        #expect(condition.status == .degraded)
        #expect(condition.reasons.first?.hasPrefix("history storage unavailable: cannot open \(path)") == true, "\(condition.reasons)")
    }

    @Test func aFullDiskDegradesHistoryAndTheRetryBufferStaysBounded() async throws {
        let directory = Self.directory()
        let health = StorageHealth()
        let database = HistoryDatabase(recovering: directory + "/history.db", health: health, logger: logger)
        let writer = HistoryWriter(
            store: HistoryStore(database: database), bus: nil, settings: HistorySettings(), clock: ContinuousClock(), logger: logger, retryLimit: 1000)
        // The writer connection may not grow the file any more: every write that needs a page fails with SQLITE_FULL.
        try await database.pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
        func record(_ count: Int, from start: Int) {
            for series in 0..<10 {
                for step in start..<(start + count) {
                    writer.record(HistorySample(milliseconds: Int64(step) * 1000, value: Double(step)), series: SeriesKey(name: "s\(series)", labels: []))
                }
            }
        }
        record(720, from: 0)  // 10 series × 3 sealed blocks of 240 (and a fresh open block each)
        await #expect(throws: StorageUnavailable.self) { try await writer.flush() }
        #expect(health.condition(.history).status == .degraded)
        #expect(health.condition(.history).reason?.contains("full") == true, "\(health.condition(.history))")
        var buffer = writer.retryBuffer
        #expect(buffer.pendingSamples <= 1000)
        #expect(buffer.droppedSamples == UInt64(20 * 240 - buffer.pendingSamples))
        record(480, from: 720)
        await #expect(throws: StorageUnavailable.self) { try await writer.flush() }
        buffer = writer.retryBuffer
        #expect(buffer.pendingSamples <= 1000)
        #expect(buffer.droppedSamples == UInt64(40 * 240 - buffer.pendingSamples))
        #expect(AgentCondition.evaluate(snapshot: AgentSnapshot(), collectors: [], storage: health).reasons.contains { $0.hasPrefix("history storage degraded: writes fail") })
        // Space again: the next flush writes what was kept and the condition clears.
        try await database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
        try await writer.flush()
        #expect(health.condition(.history) == .ok)
        #expect(writer.retryBuffer.pendingSamples == 0)
    }

    @Test func aDamagedAuditLogIsMovedAsideAndANewChainStarted() throws {
        let directory = Self.directory()
        let path = directory + "/audit.sqlite"
        try Data(repeating: 0x42, count: 10_000).write(to: URL(fileURLWithPath: path))
        let health = StorageHealth()
        let log = try #require(AuditLog.open(path: path, retention: nil, health: health, logger: logger, journal: false))
        #expect(Self.quarantined(in: directory, prefix: "audit.sqlite").count == 1)
        #expect(health.condition(.audit).status == .ok)
        #expect(health.condition(.audit).reason?.contains("a new chain started") == true)
        let record = try log.append(AuditRecord(time: .now(), event: "command.start"))
        #expect(record.id == 1)
        #expect(try log.verify().isIntact)
    }
}
