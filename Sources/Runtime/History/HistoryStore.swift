//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import FoundationEssentials
import GRDB

/// A rollup tier: per-minute or per-hour aggregates.
public enum RollupTier: String, Sendable, CaseIterable {
    case minute, hour

    /// Width of one row in seconds.
    public var seconds: Int64 { self == .minute ? 60 : 3600 }
    var table: String { self == .minute ? "rollup_minute" : "rollup_hour" }
}

/// A series as stored.
public struct StoredSeries: Sendable, Hashable {
    public var id: Int64
    public var key: SeriesKey
    public var kind: MetricKind
}

/// One rollup row: the aggregate of the samples in `[start, start + tier width)`, `start` in seconds.
public struct RollupRow: Sendable, Hashable {
    public var start: Int64
    public var aggregate: Aggregate
}

/// What one flush writes in one transaction.
public struct HistoryFlush: Sendable {
    public struct Block: Sendable {
        public var series: SeriesKey
        public var kind: MetricKind
        public var encoder: BlockEncoder
    }
    public var blocks: [Block] = []
    /// Aggregates of the samples since the previous flush, merged into the stored rows.
    public var minute: [RollupKey: Aggregate] = [:]
    public var hour: [RollupKey: Aggregate] = [:]
    /// Kind of every series named in the rollups.
    public var kinds: [SeriesKey: MetricKind] = [:]

    public var isEmpty: Bool { blocks.isEmpty && minute.isEmpty && hour.isEmpty }

    public init() {}
}

public struct RollupKey: Sendable, Hashable {
    public var series: SeriesKey
    /// Bucket start, seconds since the epoch.
    public var start: Int64
}

/// What retention deleted.
public struct RetentionResult: Sendable, Hashable {
    public var blocks = 0
    public var minuteRows = 0
    public var hourRows = 0
    public var series = 0
    public var incidents = 0
}

/// Reads and writes history in the ``HistoryDatabase``.
public final class HistoryStore: Sendable {
    public let database: HistoryDatabase

    public init(database: HistoryDatabase) {
        self.database = database
    }

    // MARK: - Writing

    /// Writes blocks (insert or replace by series and start) and merges rollups, in one transaction.
    public func write(_ flush: HistoryFlush) async throws {
        guard !flush.isEmpty else { return }
        // Series ids are looked up inside the transaction (never cached across it), so retention removing a series
        // between two flushes cannot leave rows pointing at a deleted id.
        try await database.write { db in
            var created: [SeriesKey: Int64] = [:]
            func id(_ key: SeriesKey, _ kind: MetricKind) throws -> Int64 {
                if let id = created[key] { return id }
                let text = key.description
                try db.cachedStatement(sql: "INSERT INTO series (key, name, labels, kind) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING")
                    .execute(arguments: [text, key.name, key.labelsJSON, kind.rawValue])
                guard let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM series WHERE key = ?"), arguments: [text]) else {
                    throw DatabaseError(resultCode: .SQLITE_ERROR, message: "series \(text) vanished")
                }
                created[key] = id
                return id
            }
            let blockStatement = try db.cachedStatement(
                sql: """
                    INSERT INTO blocks (series, start, end, count, bytes) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (series, start) DO UPDATE SET end = excluded.end, count = excluded.count, bytes = excluded.bytes
                    """)
            for block in flush.blocks {
                guard let first = block.encoder.first else { continue }
                let series = try id(block.series, block.kind)
                try blockStatement.execute(arguments: [
                    series, first.milliseconds, block.encoder.maximumTime, block.encoder.count, Data(block.encoder.bytes()),
                ])
            }
            for tier in RollupTier.allCases {
                let statement = try db.cachedStatement(
                    sql: """
                        INSERT INTO \(tier.table) (series, t, vmin, vmax, vsum, n, vlast, last_t) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (series, t) DO UPDATE SET
                          vmin = min(vmin, excluded.vmin), vmax = max(vmax, excluded.vmax), vsum = vsum + excluded.vsum, n = n + excluded.n,
                          vlast = CASE WHEN excluded.last_t >= last_t THEN excluded.vlast ELSE vlast END,
                          last_t = max(last_t, excluded.last_t)
                        """)
                for (key, aggregate) in tier == .minute ? flush.minute : flush.hour {
                    let series = try id(key.series, flush.kinds[key.series] ?? .gauge)
                    try statement.execute(arguments: [
                        series, key.start, aggregate.minimum, aggregate.maximum, aggregate.sum, aggregate.count, aggregate.last, aggregate.lastTime,
                    ])
                }
            }
        }
    }

    // MARK: - Reading

    /// Every stored series, by name then labels.
    public func series(named name: String? = nil) async throws -> [StoredSeries] {
        try await database.read { db in
            let rows =
                if let name {
                    try Row.fetchAll(db, sql: "SELECT id, name, labels, kind FROM series WHERE name = ? ORDER BY key", arguments: [name])
                } else {
                    try Row.fetchAll(db, sql: "SELECT id, name, labels, kind FROM series ORDER BY key")
                }
            return rows.compactMap { row -> StoredSeries? in
                guard let id: Int64 = column(row, 0), let name: String = column(row, 1), let labels: String = column(row, 2),
                    let kindText: String = column(row, 3)
                else { return nil }
                return StoredSeries(id: id, key: SeriesKey(name: name, labels: Self.decodeLabels(labels)), kind: MetricKind(rawValue: kindText) ?? .gauge)
            }
        }
    }

    static func decodeLabels(_ text: String) -> [MetricLabel] {
        guard let data = text.data(using: .utf8), let object = try? JSONDecoder().decode([String: String].self, from: data) else { return [] }
        return object.map { MetricLabel($0.key, $0.value) }
    }

    /// Raw samples of `series` with `from <= t <= to` (milliseconds), in time order. A block that does not decode
    /// is skipped and counted in `corruptBlocks`.
    public func samples(series: Int64, from: Int64, to: Int64) async throws -> (samples: [HistorySample], corruptBlocks: Int) {
        let blobs = try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT bytes FROM blocks WHERE series = ? AND start <= ? AND end >= ? ORDER BY start", arguments: [series, to, from]
            ).compactMap { row -> Data? in column(row, 0) }
        }
        var result: [HistorySample] = []
        var corrupt = 0
        for blob in blobs {
            do {
                try BlockCodec.decode([UInt8](blob)) { sample in
                    if sample.milliseconds >= from, sample.milliseconds <= to { result.append(sample) }
                }
            } catch {
                corrupt += 1
            }
        }
        // Blocks are in start order; a block begun after a clock step back may overlap the previous one.
        if !result.isEmpty, !zip(result, result.dropFirst()).allSatisfy({ $0.milliseconds <= $1.milliseconds }) {
            result.sort { $0.milliseconds < $1.milliseconds }
        }
        return (result, corrupt)
    }

    /// Rollup rows of `series` whose bucket starts in `[from, to]` (seconds), in time order.
    public func rollups(_ tier: RollupTier, series: Int64, from: Int64, to: Int64) async throws -> [RollupRow] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT t, vmin, vmax, vsum, n, vlast, last_t FROM \(tier.table) WHERE series = ? AND t >= ? AND t <= ? ORDER BY t",
                arguments: [series, from, to]
            ).compactMap { row -> RollupRow? in
                guard let t: Int64 = column(row, 0), let vmin: Double = column(row, 1), let vmax: Double = column(row, 2),
                    let vsum: Double = column(row, 3), let n: Int64 = column(row, 4), let vlast: Double = column(row, 5),
                    let lastT: Int64 = column(row, 6), n > 0
                else { return nil }
                return RollupRow(start: t, aggregate: Aggregate(minimum: vmin, maximum: vmax, sum: vsum, count: n, last: vlast, lastTime: lastT))
            }
        }
    }

    /// Oldest and newest stored time (milliseconds) of raw samples, and of each rollup tier (seconds), over all series.
    public func extent() async throws -> (raw: ClosedRange<Int64>?, minute: ClosedRange<Int64>?, hour: ClosedRange<Int64>?) {
        try await database.read { db in
            func range(_ sql: String) throws -> ClosedRange<Int64>? {
                guard let row = try Row.fetchOne(db, sql: sql), let low: Int64 = column(row, 0), let high: Int64 = column(row, 1), low <= high else {
                    return nil
                }
                return low...high
            }
            return (
                try range("SELECT min(start), max(end) FROM blocks"), try range("SELECT min(t), max(t) FROM rollup_minute"),
                try range("SELECT min(t), max(t) FROM rollup_hour")
            )
        }
    }

    /// Counts for status and benchmarks: blocks, samples in blocks, bytes of block payloads.
    public func blockStatistics() async throws -> (blocks: Int64, samples: Int64, bytes: Int64) {
        try await database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(count), 0), coalesce(sum(length(bytes)), 0) FROM blocks") else {
                return (0, 0, 0)
            }
            return (column(row, 0) ?? 0, column(row, 1) ?? 0, column(row, 2) ?? 0)
        }
    }

    // MARK: - Retention

    /// Deletes what is due at `now` (milliseconds): blocks whose newest sample is older than `now − raw`, rollup rows
    /// whose whole bucket is older than their tier's retention, ended incidents older than the hour retention, and
    /// series left without any data.
    public func applyRetention(now: Int64, raw: Duration, minute: Duration, hour: Duration) async throws -> RetentionResult {
        let rawHorizon = now - Self.milliseconds(raw)
        let minuteHorizon = (now - Self.milliseconds(minute)) / 1000
        let hourHorizon = (now - Self.milliseconds(hour)) / 1000
        return try await database.write { db in
            var result = RetentionResult()
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM series")
            for id in ids {
                // Per series, so that each delete walks the primary key instead of scanning the table.
                try db.execute(sql: "DELETE FROM blocks WHERE series = ? AND start < ? AND end < ?", arguments: [id, rawHorizon, rawHorizon])
                result.blocks += db.changesCount
                try db.execute(sql: "DELETE FROM rollup_minute WHERE series = ? AND t + 60 <= ?", arguments: [id, minuteHorizon])
                result.minuteRows += db.changesCount
                try db.execute(sql: "DELETE FROM rollup_hour WHERE series = ? AND t + 3600 <= ?", arguments: [id, hourHorizon])
                result.hourRows += db.changesCount
            }
            try db.execute(
                sql: """
                    DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM blocks WHERE blocks.series = series.id)
                      AND NOT EXISTS (SELECT 1 FROM rollup_minute WHERE rollup_minute.series = series.id)
                      AND NOT EXISTS (SELECT 1 FROM rollup_hour WHERE rollup_hour.series = series.id)
                    """)
            result.series = db.changesCount
            try db.execute(sql: "DELETE FROM incidents WHERE ended_at IS NOT NULL AND ended_at < ?", arguments: [hourHorizon * 1000])
            result.incidents = db.changesCount
            return result
        }
    }

    /// Whole milliseconds of a configured duration (bounded by configuration, so never near overflow).
    public static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
