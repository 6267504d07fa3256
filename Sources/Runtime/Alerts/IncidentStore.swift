//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import GRDB
import Synchronization

/// Incidents in the `incidents` table of the ``HistoryDatabase``, or in memory (bounded) when there is no database.
public final class IncidentStore: Sendable {
    private let database: HistoryDatabase?
    private struct Memory {
        var incidents: [Incident] = []
        var nextID: Int64 = 1
    }
    private let memory = Mutex(Memory())
    /// Incidents kept in memory without a database.
    static var memoryLimit: Int { 1000 }

    public init(database: HistoryDatabase?) {
        self.database = database
    }

    /// Opens an incident; returns its id.
    public func open(rule: String, subject: String, severity: AlertSeverity, at: Timestamp, value: Double, threshold: Double, message: String) async throws
        -> Int64
    {
        let ms = at.nanosecondsSinceEpoch / 1_000_000
        guard let database else {
            return memory.withLock { memory in
                let id = memory.nextID
                memory.nextID += 1
                memory.incidents.append(
                    Incident(
                        id: id, rule: rule, subject: subject, severity: severity, startedAt: at, endedAt: nil, peakValue: value, peakAt: at,
                        lastValue: value, threshold: threshold, message: message))
                if memory.incidents.count > Self.memoryLimit { memory.incidents.removeFirst(memory.incidents.count - Self.memoryLimit) }
                return id
            }
        }
        return try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO incidents (rule, subject, severity, started_at, ended_at, peak_value, peak_at, last_value, threshold, message)
                    VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)
                    """, arguments: [rule, subject, severity.rawValue, ms, value, ms, value, threshold, message])
            return db.lastInsertedRowID
        }
    }

    /// Updates severity (the highest reached), peak, last value, the end when `endedAt` is set, and the message when
    /// `message` is given (nil keeps the one recorded: a peak update has nothing new to say).
    public func update(
        id: Int64, severity: AlertSeverity, peakValue: Double, peakAt: Timestamp, lastValue: Double, endedAt: Timestamp?, message: String?
    ) async throws {
        guard let database else {
            memory.withLock { memory in
                guard let index = memory.incidents.firstIndex(where: { $0.id == id }) else { return }
                memory.incidents[index].severity = max(memory.incidents[index].severity, severity)
                memory.incidents[index].peakValue = peakValue
                memory.incidents[index].peakAt = peakAt
                memory.incidents[index].lastValue = lastValue
                memory.incidents[index].endedAt = endedAt
                if let message { memory.incidents[index].message = message }
            }
            return
        }
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE incidents SET
                      severity = CASE WHEN severity = 'critical' OR ? = 'critical' THEN 'critical' ELSE ? END,
                      peak_value = ?, peak_at = ?, last_value = ?, ended_at = ?, message = coalesce(?, message)
                    WHERE id = ?
                    """,
                arguments: [
                    severity.rawValue, severity.rawValue, peakValue, peakAt.nanosecondsSinceEpoch / 1_000_000, lastValue,
                    endedAt.map { $0.nanosecondsSinceEpoch / 1_000_000 }, message, id,
                ])
        }
    }

    /// Ends incidents a previous run left open (the agent stopped or crashed during them) at `at`, except those of
    /// `keeping` (taken up by the alert engine: ``AlertEngine/resume(at:)``).
    @discardableResult
    public func closeDangling(at: Timestamp, keeping: Set<Int64> = []) async throws -> Int {
        guard let database else { return 0 }
        let kept = keeping.isEmpty ? "" : " AND id NOT IN (" + keeping.sorted().map(String.init).joined(separator: ",") + ")"
        return try await database.write { db in
            try db.execute(
                sql: "UPDATE incidents SET ended_at = max(?, started_at), message = message || ' (ended by an agent restart)' WHERE ended_at IS NULL" + kept,
                arguments: [at.nanosecondsSinceEpoch / 1_000_000])
            return db.changesCount
        }
    }

    /// Incidents that overlap `[from, to]` (an open incident overlaps everything after its start), newest first.
    public func incidents(from: Timestamp, to: Timestamp, limit: Int = 1000) async throws -> [Incident] {
        guard let database else {
            return memory.withLock { memory in
                memory.incidents.filter { $0.startedAt <= to && ($0.endedAt ?? to) >= from }.sorted { $0.startedAt > $1.startedAt }.prefix(limit).map { $0 }
            }
        }
        let fromMs = from.nanosecondsSinceEpoch / 1_000_000
        let toMs = to.nanosecondsSinceEpoch / 1_000_000
        return try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, rule, subject, severity, started_at, ended_at, peak_value, peak_at, last_value, threshold, message FROM incidents
                    WHERE started_at <= ? AND (ended_at IS NULL OR ended_at >= ?) ORDER BY started_at DESC, id DESC LIMIT ?
                    """, arguments: [toMs, fromMs, limit]
            ).compactMap { row -> Incident? in
                guard let id: Int64 = column(row, 0), let rule: String = column(row, 1), let subject: String = column(row, 2),
                    let severityText: String = column(row, 3), let severity = AlertSeverity(rawValue: severityText),
                    let started: Int64 = column(row, 4), let peak: Double = column(row, 6), let peakAt: Int64 = column(row, 7),
                    let last: Double = column(row, 8), let threshold: Double = column(row, 9), let message: String = column(row, 10)
                else { return nil }
                let ended: Int64? = column(row, 5)
                return Incident(
                    id: id, rule: rule, subject: subject, severity: severity, startedAt: Timestamp(millisecondsSinceEpoch: started),
                    endedAt: ended.map { Timestamp(millisecondsSinceEpoch: $0) }, peakValue: peak,
                    peakAt: Timestamp(millisecondsSinceEpoch: peakAt), lastValue: last, threshold: threshold, message: message)
            }
        }
    }
}
