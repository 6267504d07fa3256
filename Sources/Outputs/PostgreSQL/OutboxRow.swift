//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// One row for the backend's database, as it waits in the outbox: exactly the values the INSERT sends.
///
/// Figures are text with two decimals (the schema's `DECIMAL(5,2)`), rounded half-up from the value `/api/v1/status`
/// reports and clamped to ±999.99, as examples/backend/poller.py does; times are microseconds (the precision of
/// PostgreSQL's `TIMESTAMP`) of the collection, truncated from the agent's nanoseconds as the poller's parser does.
public struct OutboxRow: Sendable, Hashable {
    /// The backend table a row goes to.
    public enum Table: String, Sendable, Hashable {
        case agentMetrics = "agent_metrics"
        case serviceStatus = "service_status"
        /// One upsert per change of a container session.
        case containerSessions = "container_sessions"
        /// `extended = true`: schema-extended.sql.
        case agentFilesystems = "agent_filesystems"
        case agentNetwork = "agent_network"
    }

    /// Outbox order (SQLite `AUTOINCREMENT`); 0 before the row is stored.
    public var seq: Int64 = 0
    public var table: Table
    /// The `timestamp` column: the collection time, microseconds since the Unix epoch, UTC.
    public var collectedAtMicroseconds: Int64
    // agent_metrics
    public var cpuUsage: String?
    public var memoryUsage: String?
    public var loadAverage1m: String?
    public var loadAverage5m: String?
    public var loadAverage15m: String?
    public var uptimeSeconds: Int64?
    // service_status
    public var serviceName: String?
    public var status: String?
    public var pid: Int64?
    // agent_filesystems
    public var mountPoint: String?
    public var fsType: String?
    public var totalBytes: Int64?
    public var usedBytes: Int64?
    public var availableBytes: Int64?
    public var usagePercent: String?
    // agent_network
    public var bytesSent: Int64?
    public var bytesReceived: Int64?
    // container_sessions (`status` above); times in microseconds since the epoch
    public var sessionID: String?
    public var containerID: String?
    public var username: String?
    public var port: Int64?
    public var createdAtMicroseconds: Int64?
    public var stoppedAtMicroseconds: Int64?

    public init(table: Table, collectedAtMicroseconds: Int64) {
        self.table = table
        self.collectedAtMicroseconds = collectedAtMicroseconds
    }

    /// The `agent_metrics` row of a snapshot taken at `at`: `system_health`'s cpu, memory, load average and uptime.
    public static func metrics(_ snapshot: AgentSnapshot, at: Timestamp) -> OutboxRow {
        var row = OutboxRow(table: .agentMetrics, collectedAtMicroseconds: microseconds(at))
        row.cpuUsage = snapshot.cpu?.usagePercent.flatMap(twoPlaces)
        row.memoryUsage = snapshot.memory.flatMap { twoPlaces($0.usagePercent) }
        row.loadAverage1m = snapshot.load.flatMap { twoPlaces($0.oneMinute) }
        row.loadAverage5m = snapshot.load.flatMap { twoPlaces($0.fiveMinutes) }
        row.loadAverage15m = snapshot.load.flatMap { twoPlaces($0.fifteenMinutes) }
        row.uptimeSeconds = snapshot.uptime.flatMap { report in
            report.uptimeSeconds.isFinite && abs(report.uptimeSeconds) < 9.2e18 ? Int64(report.uptimeSeconds.rounded(.down)) : nil
        }
        return row
    }

    /// One `service_status` row per service of the snapshot (name cut to 100 characters, status to 20, as the schema's
    /// VARCHARs hold them).
    public static func services(_ snapshot: AgentSnapshot, at: Timestamp) -> [OutboxRow] {
        (snapshot.services?.services ?? []).map { service in
            var row = OutboxRow(table: .serviceStatus, collectedAtMicroseconds: microseconds(at))
            row.serviceName = String(String.UnicodeScalarView(service.name.unicodeScalars.prefix(100)))
            row.status = String(String.UnicodeScalarView(service.status.rawValue.unicodeScalars.prefix(20)))
            row.pid = service.pid.map(Int64.init)
            return row
        }
    }

    /// One `agent_filesystems` row per filesystem of the snapshot that answered (`system_info.disks`; stale mounts, whose
    /// sizes are 0, are left out). Mount point cut to 255 characters, type to 50.
    public static func filesystems(_ snapshot: AgentSnapshot, at: Timestamp) -> [OutboxRow] {
        (snapshot.disk?.filesystems ?? []).filter { !$0.stale }.map { filesystem in
            var row = OutboxRow(table: .agentFilesystems, collectedAtMicroseconds: microseconds(at))
            row.mountPoint = String(String.UnicodeScalarView(filesystem.mountPoint.unicodeScalars.prefix(255)))
            row.fsType = String(String.UnicodeScalarView(filesystem.fsType.unicodeScalars.prefix(50)))
            row.totalBytes = Int64(clamping: filesystem.totalBytes)
            row.usedBytes = Int64(clamping: filesystem.usedBytes)
            row.availableBytes = Int64(clamping: filesystem.availableBytes)
            row.usagePercent = twoPlaces(filesystem.usagePercent)
            return row
        }
    }

    /// The `agent_network` row of a snapshot with a network report: `system_info.network`'s totals.
    public static func network(_ snapshot: AgentSnapshot, at: Timestamp) -> [OutboxRow] {
        guard let network = snapshot.network else { return [] }
        var row = OutboxRow(table: .agentNetwork, collectedAtMicroseconds: microseconds(at))
        row.bytesSent = Int64(clamping: network.bytesSent)
        row.bytesReceived = Int64(clamping: network.bytesReceived)
        return [row]
    }

    /// The `container_sessions` row of a session as it is now, stored at `at` (its place in the outbox).
    public static func session(_ record: SessionRecord, at: Timestamp) -> OutboxRow {
        func cut(_ text: String, _ length: Int) -> String { String(String.UnicodeScalarView(text.unicodeScalars.prefix(length))) }
        var row = OutboxRow(table: .containerSessions, collectedAtMicroseconds: microseconds(at))
        row.sessionID = cut(record.sessionID, 100)
        row.containerID = record.containerID.map { cut($0, 100) }
        row.username = cut(record.username, 100)
        row.port = record.port.map(Int64.init)
        row.status = cut(record.status, 20)
        row.createdAtMicroseconds = microseconds(record.createdAt)
        row.stoppedAtMicroseconds = record.stoppedAt.map(microseconds)
        return row
    }

    /// Microseconds since the epoch, rounded towards the past.
    public static func microseconds(_ time: Timestamp) -> Int64 {
        let quotient = time.nanosecondsSinceEpoch / 1000
        return time.nanosecondsSinceEpoch % 1000 < 0 ? quotient - 1 : quotient
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffff` (UTC, no zone) of microseconds since the epoch: the text PostgreSQL reads as `TIMESTAMP`.
    public static func timestampText(_ microseconds: Int64) -> String {
        let (nanoseconds, overflow) = microseconds.multipliedReportingOverflow(by: 1000)
        return String(Timestamp(nanosecondsSinceEpoch: overflow ? (microseconds < 0 ? .min : .max) : nanoseconds).rfc3339.prefix(26))
    }

    /// `value` rounded half-up (away from zero) to two decimals from its shortest decimal form, clamped to ±999.99:
    /// `12.345` → `"12.35"`, `1e-05` → `"0.00"`, `1234.5` → `"999.99"`; nil for NaN and infinities.
    public static func twoPlaces(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        var text = "\(value.magnitude)"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts.first.map(String.init) ?? "0"
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = Array((integer + fraction).utf8).map { Int($0) - 48 }
        var point = integer.utf8.count + exponent
        if point < 0 {
            digits = Array(repeating: 0, count: -point) + digits
            point = 0
        }
        let keep = point + 2
        if digits.count < keep + 1 { digits += Array(repeating: 0, count: keep + 1 - digits.count) }
        var kept = Array(digits[0..<keep])
        if digits[keep] >= 5 {
            var index = kept.count - 1
            while index >= 0 {
                if kept[index] == 9 {
                    kept[index] = 0
                    index -= 1
                } else {
                    kept[index] += 1
                    break
                }
            }
            if index < 0 { kept.insert(1, at: 0) }
        }
        // Leading zeros do not count: 7 digits of hundredths are past the bound anyway.
        while kept.count > 3, kept.first == 0 { kept.removeFirst() }
        var hundredths = 0
        if kept.count > 7 {
            hundredths = 99_999
        } else {
            for digit in kept { hundredths = hundredths * 10 + digit }
            hundredths = min(hundredths, 99_999)
        }
        let whole = hundredths / 100
        let cents = hundredths % 100
        let sign = value < 0 && hundredths != 0 ? "-" : ""
        return "\(sign)\(whole).\(cents < 10 ? "0" : "")\(cents)"
    }
}
