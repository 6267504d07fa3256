//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentOutputs
import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct OutboxTests {
    /// A new directory under /tmp for one test's outbox.
    func directory() -> String {
        var template = Array("/tmp/viworks-outbox-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        #expect(made != nil)
        return String(cString: template)
    }

    func metrics(at seconds: Int64, cpu: String? = "1.00") -> OutboxRow {
        var row = OutboxRow(table: .agentMetrics, collectedAtMicroseconds: seconds * 1_000_000)
        row.cpuUsage = cpu
        row.uptimeSeconds = seconds
        return row
    }

    func service(at seconds: Int64, _ name: String) -> OutboxRow {
        var row = OutboxRow(table: .serviceStatus, collectedAtMicroseconds: seconds * 1_000_000)
        row.serviceName = name
        row.status = "running"
        row.pid = 42
        return row
    }

    let roomy = Outbox.Limits(maxRows: 1000, maxAge: .seconds(86_400))
    let now = Timestamp(nanosecondsSinceEpoch: 1_000 * 1_000_000_000)

    @Test func rowsWaitInOrderUntilDeliveredAndSurviveAReopen() throws {
        let path = directory() + "/outbox.db"
        let outbox = try Outbox(path: path)
        try outbox.append([metrics(at: 900), service(at: 900, "nginx"), service(at: 900, "sshd")], limits: roomy, now: now)
        try outbox.append([metrics(at: 930, cpu: nil)], limits: roomy, now: now)
        #expect(try outbox.backlog() == Outbox.Backlog(rows: 4, oldestMicroseconds: 900_000_000))
        try outbox.close()

        // A new process (after a crash) finds every row, with every value, in the same order.
        let reopened = try Outbox(path: path)
        let waiting = try reopened.waiting(limit: 3)
        #expect(waiting.map(\.seq) == [1, 2, 3])
        #expect(waiting.map(\.table) == [.agentMetrics, .serviceStatus, .serviceStatus])
        #expect(waiting[0].cpuUsage == "1.00" && waiting[0].uptimeSeconds == 900 && waiting[0].memoryUsage == nil)
        #expect(waiting[1].serviceName == "nginx" && waiting[1].status == "running" && waiting[1].pid == 42)

        #expect(try reopened.markDelivered(through: waiting[2].seq, at: now) == 3)
        #expect(try reopened.backlog() == Outbox.Backlog(rows: 1, oldestMicroseconds: 930_000_000))
        let rest = try reopened.waiting(limit: 10)
        #expect(rest.map(\.seq) == [4] && rest[0].cpuUsage == nil)
        // Delivering the same batch again (a retry after a crash) marks nothing more.
        #expect(try reopened.markDelivered(through: waiting[2].seq, at: now) == 0)
        #expect(try reopened.all().map(\.deliveredAtMicroseconds) == [1_000_000_000, 1_000_000_000, 1_000_000_000, nil])
    }

    @Test func aSessionChangeIsStoredWithEveryColumnOfItsRow() throws {
        let outbox = try Outbox(path: directory() + "/outbox.db")
        let record = SessionRecord(
            sessionID: String(repeating: "a", count: 32), containerID: "c0ffee", username: "alice", port: 30001, status: "stopped",
            createdAt: Timestamp(nanosecondsSinceEpoch: 900_123_456_789), stoppedAt: Timestamp(nanosecondsSinceEpoch: 950_000_000_999))
        try outbox.append([OutboxRow.session(record, at: now)], limits: roomy, now: now)
        let stored = try outbox.waiting(limit: 1)
        #expect(stored.count == 1 && stored[0].table == .containerSessions)
        #expect(stored[0].sessionID == record.sessionID && stored[0].containerID == "c0ffee" && stored[0].username == "alice")
        #expect(stored[0].port == 30001 && stored[0].status == "stopped")
        #expect(stored[0].createdAtMicroseconds == 900_123_456 && stored[0].stoppedAtMicroseconds == 950_000_000)
        #expect(stored[0].collectedAtMicroseconds == 1_000_000_000)
    }

    @Test func theOldestWaitingRowsAreDroppedBeyondMaxRows() throws {
        let outbox = try Outbox(path: directory() + "/outbox.db")
        let limits = Outbox.Limits(maxRows: 5, maxAge: .seconds(86_400))
        #expect(try outbox.append((0..<4).map { metrics(at: 900 + $0) }, limits: limits, now: now) == 0)
        #expect(try outbox.append((4..<7).map { metrics(at: 900 + $0) }, limits: limits, now: now) == 2)
        #expect(try outbox.waiting(limit: 10).map(\.uptimeSeconds) == [902, 903, 904, 905, 906])
        // Delivered rows do not count against the limit.
        try outbox.markDelivered(through: 5, at: now)
        #expect(try outbox.append([metrics(at: 907)], limits: limits, now: now) == 0)
        #expect(try outbox.backlog().rows == 3)
    }

    @Test func waitingRowsOlderThanMaxAgeAreDropped() throws {
        let outbox = try Outbox(path: directory() + "/outbox.db")
        let limits = Outbox.Limits(maxRows: 1000, maxAge: .seconds(60))
        // now = 1000 s: 900 and 939 are older than 60 s, 940 is exactly 60 s old and kept.
        #expect(try outbox.append([metrics(at: 900), service(at: 900, "a"), metrics(at: 939), metrics(at: 940), metrics(at: 990)], limits: limits, now: now) == 3)
        #expect(try outbox.waiting(limit: 10).map(\.uptimeSeconds) == [940, 990])
    }

    @Test func deliveredRowsAreKeptAnHourThenDeleted() throws {
        let outbox = try Outbox(path: directory() + "/outbox.db")
        try outbox.append([metrics(at: 900), metrics(at: 901)], limits: roomy, now: now)
        try outbox.markDelivered(through: 1, at: now)
        try outbox.append([metrics(at: 902)], limits: roomy, now: now)
        try outbox.markDelivered(through: 2, at: Timestamp(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch + 3600 * 1_000_000_000))
        #expect(try outbox.all().map(\.row.seq) == [1, 2, 3])
        try outbox.markDelivered(through: 3, at: Timestamp(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch + 3601 * 1_000_000_000))
        #expect(try outbox.all().map(\.row.seq) == [2, 3])
    }
}

struct OutboxRowTests {
    @Test func figuresAreRoundedHalfUpFromTheirShortestDecimalFormAndClamped() {
        // Python: Decimal(str(x)).quantize(Decimal("0.01"), ROUND_HALF_UP), clamped to ±999.99 (examples/backend/poller.py).
        let cases: [(Double, String)] = [
            (12.345, "12.35"), (1.005, "1.01"), (0.125, "0.13"), (0.124999, "0.12"), (1.6415, "1.64"), (99.995, "100.00"),
            (0, "0.00"), (1e-05, "0.00"), (.leastNonzeroMagnitude, "0.00"), (-0.004, "0.00"), (-1.555, "-1.56"), (999.994, "999.99"),
            (999.995, "999.99"), (1234.5, "999.99"), (-5000, "-999.99"), (1.7976931348623157e308, "999.99"), (0.45, "0.45"), (7, "7.00"),
        ]
        for (value, expected) in cases { #expect(OutboxRow.twoPlaces(value) == expected, "\(value)") }
        #expect(OutboxRow.twoPlaces(.nan) == nil && OutboxRow.twoPlaces(.infinity) == nil)
    }

    @Test func timesAreMicrosecondsTruncatedAsTheSchemaKeepsThem() {
        #expect(OutboxRow.microseconds(Timestamp(nanosecondsSinceEpoch: 1_756_890_415_757_303_999)) == 1_756_890_415_757_303)
        #expect(OutboxRow.microseconds(Timestamp(nanosecondsSinceEpoch: -1)) == -1)
        #expect(OutboxRow.timestampText(1_756_890_415_757_303) == "2025-09-03T09:06:55.757303")
    }

    @Test func theSchemaIsTheExampleFileWithOneUniqueKeyPerTable() {
        #expect(BackendSchema.statements.count == 6)
        #expect(BackendSchema.statements[0].hasPrefix("CREATE TABLE IF NOT EXISTS agent_metrics ("))
        #expect(BackendSchema.uniqueKeys.map(\.table) == ["agent_metrics", "service_status", "container_sessions"])
        #expect(BackendSchema.uniqueKeys.map(\.columns) == [["agent_id", "timestamp"], ["agent_id", "timestamp", "service_name"], ["agent_id", "session_id"]])
        #expect(
            BackendSchema.uniqueKeys[0].statement
                == "CREATE UNIQUE INDEX agent_metrics_agent_id_timestamp_key ON agent_metrics (agent_id, timestamp);")
        #expect(BackendSchema.extendedStatements.count == 4)
        #expect(BackendSchema.extendedUniqueKeys.map(\.table) == ["agent_filesystems", "agent_network"])
        #expect(BackendSchema.extendedUniqueKeys.map(\.columns) == [["agent_id", "timestamp", "mount_point"], ["agent_id", "timestamp"]])
    }

    @Test func extendedRowsCarryTheFilesystemsThatAnsweredAndTheNetworkTotals() {
        var snapshot = AgentSnapshot()
        let root = FilesystemReport(
            device: "/dev/vda1", mountPoint: "/", fsType: "ext4", totalBytes: 1000, usedBytes: 250, availableBytes: 700, usagePercent: 26.3157894,
            inodesTotal: 10, inodesFree: 5, readOnly: false, stale: false)
        var stale = root
        stale.mountPoint = "/mnt/nfs"
        stale.stale = true
        snapshot.apply(MetricBatch(source: "disk", timestamp: .now(), samples: [], report: .disk(DiskReport(filesystems: [root, stale], rootUsagePercent: 26.3))))
        snapshot.apply(
            MetricBatch(source: "network", timestamp: .now(), samples: [], report: .network(NetworkReport(interfaces: [], bytesSent: 5, bytesReceived: .max))))
        let at = Timestamp(nanosecondsSinceEpoch: 1_000_000_000)
        let filesystems = OutboxRow.filesystems(snapshot, at: at)
        #expect(filesystems.map(\.mountPoint) == ["/"])
        #expect(filesystems[0].fsType == "ext4" && filesystems[0].totalBytes == 1000 && filesystems[0].usedBytes == 250)
        #expect(filesystems[0].availableBytes == 700 && filesystems[0].usagePercent == "26.32")
        let network = OutboxRow.network(snapshot, at: at)
        #expect(network.count == 1 && network[0].bytesSent == 5 && network[0].bytesReceived == Int64.max)
        #expect(OutboxRow.network(AgentSnapshot(), at: at).isEmpty)
    }
}
