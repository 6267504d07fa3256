//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentOutputs
import AgentRuntime
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct CollectionRecorderTests {
    let board = OutputBoard([OutputState(name: "postgresql", enabled: true)])
    /// Now, in whole seconds: the collections are recent (the outbox drops rows older than max_backlog_age).
    let base = Timestamp.now().nanosecondsSinceEpoch / 1_000_000_000 * 1_000_000_000

    func outbox() throws -> Outbox {
        var template = Array("/tmp/viworks-recorder-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        return try Outbox(path: String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/outbox.db")
    }

    func recorder(_ outbox: Outbox, extended: Bool = false) -> CollectionRecorder {
        CollectionRecorder(
            outbox: outbox, limits: Outbox.Limits(maxRows: 1000, maxAge: .seconds(86_400 * 366)), extended: extended, board: board, name: "postgresql",
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    func at(_ milliseconds: Int64) -> Timestamp { Timestamp(nanosecondsSinceEpoch: base + milliseconds * 1_000_000) }

    func cpu(_ usage: Double, _ milliseconds: Int64) -> MetricBatch {
        MetricBatch(
            source: "cpu", timestamp: at(milliseconds), samples: [],
            report: .cpu(CPUReport(usagePercent: usage, perCore: [], cores: 2, brand: nil, frequencyMHz: nil)))
    }

    func load(_ one: Double, _ milliseconds: Int64) -> MetricBatch {
        MetricBatch(
            source: "load", timestamp: at(milliseconds), samples: [],
            report: .load(LoadReport(oneMinute: one, fiveMinutes: 0.71, fifteenMinutes: 0.33, runnableTasks: 1, totalTasks: 81)))
    }

    func services(_ milliseconds: Int64) -> MetricBatch {
        let report = ServicesReport(
            services: [ServiceReport(name: "nginx", status: .running, pid: 42, source: .proc), ServiceReport(name: "sshd", status: .stopped, source: .proc)],
            source: .proc)
        return MetricBatch(source: "services", timestamp: at(milliseconds), samples: [], report: .services(report))
    }

    @Test func aSourceReportingAgainCompletesTheCollectionWithTheSnapshotOfThatMoment() async throws {
        let outbox = try outbox()
        let recorder = recorder(outbox)
        await recorder.apply(cpu(10.004, 0))
        await recorder.apply(load(0.45, 3))
        await recorder.apply(services(5))
        #expect(try outbox.waiting(limit: 10).isEmpty)
        // The next round: cpu again completes the first collection, stamped with its newest batch (5 ms).
        await recorder.apply(cpu(20.5, 1000))
        let first = try outbox.waiting(limit: 10)
        #expect(first.map(\.table) == [.agentMetrics, .serviceStatus, .serviceStatus])
        #expect(Set(first.map(\.collectedAtMicroseconds)) == [OutboxRow.microseconds(at(5))])
        #expect(first[0].cpuUsage == "10.00" && first[0].loadAverage1m == "0.45" && first[0].memoryUsage == nil)
        #expect(first[1].serviceName == "nginx" && first[1].status == "running" && first[1].pid == 42)
        #expect(first[2].serviceName == "sshd" && first[2].status == "stopped" && first[2].pid == nil)

        // Quiet: the second collection (cpu only) is complete; its services are not written again.
        await recorder.recordIfQuiet(settle: .zero)
        let all = try outbox.waiting(limit: 10)
        #expect(all.count == 4)
        #expect(all[3].table == .agentMetrics && all[3].cpuUsage == "20.50" && all[3].loadAverage1m == "0.45")
        #expect(all[3].collectedAtMicroseconds == OutboxRow.microseconds(at(1000)))
        // Nothing new: nothing more.
        await recorder.recordIfQuiet(settle: .zero)
        #expect(try outbox.waiting(limit: 10).count == 4)
        #expect(board.state("postgresql")?.backlogRows == 4)
    }

    @Test func aCollectionOfOtherSourcesAloneWritesNoRow() async throws {
        let outbox = try outbox()
        let recorder = recorder(outbox)
        await recorder.apply(MetricBatch(source: "network", timestamp: at(0), samples: [], report: .network(NetworkReport(interfaces: [], bytesSent: 1, bytesReceived: 2))))
        await recorder.recordIfQuiet(settle: .zero)
        #expect(try outbox.waiting(limit: 10).isEmpty)

        // With extended, the same batch is an agent_network row.
        let extended = self.recorder(outbox, extended: true)
        await extended.apply(MetricBatch(source: "network", timestamp: at(0), samples: [], report: .network(NetworkReport(interfaces: [], bytesSent: 1, bytesReceived: 2))))
        await extended.recordIfQuiet(settle: .zero)
        let rows = try outbox.waiting(limit: 10)
        #expect(rows.map(\.table) == [.agentNetwork] && rows[0].bytesSent == 1 && rows[0].bytesReceived == 2)
    }

    @Test func onlyNewOrChangedSessionsAreStored() async throws {
        let outbox = try outbox()
        let recorder = recorder(outbox)
        var session = SessionRecord(
            sessionID: "s1", containerID: "c1", username: "alice", port: 30001, status: "running", createdAt: at(0), stoppedAt: nil)
        await recorder.recordSessions([session])
        await recorder.recordSessions([session])
        #expect(try outbox.waiting(limit: 10).map(\.status) == ["running"])
        session.status = "stopped"
        session.stoppedAt = at(5000)
        await recorder.recordSessions([session])
        let rows = try outbox.waiting(limit: 10)
        #expect(rows.map(\.status) == ["running", "stopped"])
        #expect(rows[1].stoppedAtMicroseconds == OutboxRow.microseconds(at(5000)))
    }
}
