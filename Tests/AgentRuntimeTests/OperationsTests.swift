//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Foundation
import GRDB
import Logging
import ServiceLifecycleTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func temporaryDirectory() -> String {
    var template = Array("/tmp/viworks-ops-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) } } ?? "/tmp"
}

private let catalog = CommandCatalog(
    definitions: CommandCatalog.builtins() + [
        CommandDefinition(
            id: "echo", summary: "echo", executable: "/bin/echo", arguments: ["--value={value}", "{value}", "{mode}"],
            parameters: ["value": .text(maxLength: 64), "mode": .oneOf(["a", "b"])], optional: ["mode"])
    ],
    serviceUnits: ["nginx": "nginx.service", "postgres": "postgresql@15-main.service"])

@Suite("operations: command validation")
struct CommandValidationTests {
    @Test func argvIsBuiltFromTheTemplateOnly() throws {
        let (_, argv) = try catalog.argv(for: "journal-tail", parameters: ["service": "postgres", "lines": "50"])
        #expect(argv == ["/usr/bin/journalctl", "--no-pager", "--output=short-iso", "--lines=50", "--unit=postgresql@15-main.service"])
        // An optional parameter left out drops the elements that use it.
        let (_, short) = try catalog.argv(for: "journal-tail", parameters: ["service": "nginx"])
        #expect(short == ["/usr/bin/journalctl", "--no-pager", "--output=short-iso", "--unit=nginx.service"])
        let (_, echo) = try catalog.argv(for: "echo", parameters: ["value": "x.y/z"])
        #expect(echo == ["/bin/echo", "--value=x.y/z", "x.y/z"])
    }

    @Test func injectionAttemptsAreRejectedByValidation() {
        let attempts = [
            "nginx; touch /tmp/canary", "nginx && id", "nginx | id", "$(id)", "`id`", "nginx\nid", "-rf", "--help", "--", "a\u{0}b",
            String(repeating: "a", count: 5000), "../../etc/passwd", "a b",
        ]
        for attempt in attempts {
            #expect(throws: CommandRejection.self, "\(attempt.debugDescription) as a text parameter") {
                try catalog.argv(for: "echo", parameters: ["value": attempt])
            }
            #expect(throws: CommandRejection.self, "\(attempt.debugDescription) as a service") {
                try catalog.argv(for: "service-status", parameters: ["service": attempt])
            }
            #expect(throws: CommandRejection.self, "\(attempt.debugDescription) as an integer") {
                try catalog.argv(for: "journal-tail", parameters: ["service": "nginx", "lines": attempt])
            }
        }
        #expect(throws: CommandRejection(.invalidParameter, "parameter 'lines' is \"1001\"; expected an integer in 1...1000")) {
            try catalog.argv(for: "journal-tail", parameters: ["service": "nginx", "lines": "1001"])
        }
        #expect(throws: CommandRejection(.invalidParameter, "parameter 'mode' is \"c\"; expected one of a, b")) {
            try catalog.argv(for: "echo", parameters: ["value": "v", "mode": "c"])
        }
    }

    @Test func unknownCommandsAndParameters() {
        #expect(throws: CommandRejection.self) { try catalog.argv(for: "rm", parameters: [:]) }
        do {
            _ = try catalog.argv(for: "df", parameters: ["path": "/"])
            Issue.record("an unknown parameter must be refused")
        } catch {
            #expect(error.kind == .invalidParameter)
            #expect(error.message == "command 'df' has no parameter 'path' (it takes none)")
        }
        do {
            _ = try catalog.argv(for: "service-status", parameters: [:])
            Issue.record("a missing parameter must be refused")
        } catch {
            #expect(error.message == "parameter 'service' is required: the name of a tracked service")
        }
    }

    @Test func templatesAndTypesParse() {
        #expect(CommandDefinition.pieces("--lines={lines}") == [.literal("--lines="), .parameter("lines")])
        #expect(CommandDefinition.pieces("{a}{b}") == [.parameter("a"), .parameter("b")])
        #expect(CommandDefinition.pieces("{a") == nil)
        #expect(CommandDefinition.pieces("a}") == nil)
        #expect(CommandDefinition.pieces("{}") == nil)
        #expect(CommandParameterType.parse("enum:a|b") == .oneOf(["a", "b"]))
        #expect(CommandParameterType.parse("integer:1..100") == .integer(1...100))
        #expect(CommandParameterType.parse("integer:5..1") == nil)
        #expect(CommandParameterType.parse("text:64") == .text(maxLength: 64))
        #expect(CommandParameterType.parse("service") == .service)
        #expect(CommandParameterType.parse("regex:.*") == nil)
    }
}

@Suite("operations: running commands")
struct CommandRunnerTests {
    @Test func noShellScrubbedEnvironmentFixedDirectory() async throws {
        let canary = temporaryDirectory() + "/canary"
        let definition = CommandDefinition(id: "t", summary: "", executable: "/usr/bin/env", arguments: [])
        let result = await CommandRunner().run(definition, argv: ["/usr/bin/env"])
        let environment = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map(String.init).sorted()
        #expect(environment == ["LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "TERM=dumb"])
        #expect(result.exitCode == 0)
        // Shell syntax in an argument is just bytes handed to the program.
        let echo = await CommandRunner().run(definition, argv: ["/bin/echo", "; touch \(canary)", "$(touch \(canary))", "`touch \(canary)`"])
        #expect(String(decoding: echo.stdout, as: UTF8.self) == "; touch \(canary) $(touch \(canary)) `touch \(canary)`\n")
        #expect(access(canary, F_OK) != 0, "no shell ran")
        let pwd = await CommandRunner().run(definition, argv: ["/bin/pwd"])
        #expect(String(decoding: pwd.stdout, as: UTF8.self) == "/\n")
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() async throws {
        let marker = temporaryDirectory() + "/child.pid"
        var definition = CommandDefinition(id: "t", summary: "", executable: "/bin/sh", arguments: [])
        definition.timeout = .milliseconds(500)
        // The command starts a background child that would outlive it, then hangs.
        let result = await CommandRunner().run(definition, argv: ["/bin/sh", "-c", "sleep 300 & echo $! > \(marker); sleep 300"])
        #expect(result.timedOut)
        #expect(result.signal == 9)
        #expect(result.outcome == "timeout")
        #expect(result.durationSeconds < 30, "killed at its 0.5 s timeout, not after sleep 300")
        let childPID = Int32((try HostFile.read(marker)).trimmingASCIIWhitespace()) ?? 0
        #expect(childPID > 0)
        try await Task.sleep(for: .milliseconds(100))
        // Gone, or a zombie waiting for its new parent to reap it: either way no longer running.
        let state = (try? HostFile.read("/proc/\(childPID)/stat")).flatMap { $0.split(separator: ")").last?.split(separator: " ").first }
        #expect(state == nil || state == "Z", "the background child \(childPID) was killed with the group (state \(state.map(String.init) ?? "gone"))")
    }

    @Test func outputBeyondTheCapIsTruncatedAndFlagged() async {
        var definition = CommandDefinition(id: "t", summary: "", executable: "/bin/sh", arguments: [])
        definition.maxOutputBytes = 1000
        let result = await CommandRunner().run(definition, argv: ["/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\\\0' x; echo err >&2"])
        #expect(result.stdout.count == 1000)
        #expect(result.stdoutTruncated)
        #expect(String(decoding: result.stderr, as: UTF8.self) == "err\n")
        #expect(!result.stderrTruncated)
        #expect(result.exitCode == 0, "the child was never blocked on a full pipe")
    }

    @Test func aMissingExecutableIsAFailureNotACrash() async {
        let result = await CommandRunner().run(CommandDefinition(id: "t", summary: "", executable: "/nonexistent", arguments: []), argv: ["/nonexistent"])
        #expect(result.launchError != nil)
        #expect(result.outcome.hasPrefix("failed: "))
        let relative = await CommandRunner().run(CommandDefinition(id: "t", summary: "", executable: "ls", arguments: []), argv: ["ls"])
        #expect(relative.launchError == "the executable must be an absolute path")
    }
}

@Suite("operations: audit log")
struct AuditLogTests {
    @Test func recordsChainAndVerify() throws {
        let path = temporaryDirectory() + "/audit.sqlite"
        let log = try AuditLog(path: path, journal: false)
        let start = try log.append(
            AuditRecord(time: Timestamp(secondsSinceEpoch: 1_800_000_000), event: "command.start", principal: "ops", role: "admin", clientAddress: "10.0.0.5",
                requestID: "r1", action: "df", argv: ["/usr/bin/df", "-h"], parameters: [:]))
        #expect(start.id == 1)
        #expect(start.previousHash == String(repeating: "0", count: 64))
        let end = try log.append(
            AuditRecord(time: Timestamp(secondsSinceEpoch: 1_800_000_001), event: "command.end", action: "df", outcome: "ok", exitCode: 0, durationSeconds: 0.01,
                outputSHA256: AuditRecord.sha256(Array("out".utf8)), startID: start.id))
        #expect(end.previousHash == start.hash)
        for index in 0..<8 { try log.append(AuditRecord(time: .now(), event: "auth.failure", clientAddress: "10.0.0.\(index)")) }
        #expect(try log.verify() == AuditVerification(records: 10, firstBadRecord: nil, problem: nil))
        let records = try log.records(principal: "ops")
        #expect(records.map(\.id) == [1])
        #expect(records.first?.argv == ["/usr/bin/df", "-h"])
        #expect(records.first?.hash == start.hash)
        // The output hash is SHA-256 of the bytes: sha256("out").
        #expect(end.outputSHA256 == "762069bc07a6e1b5df123a5ae7bd91c10daa04694fbaa17fba0cd6a8dcce8f22")
    }

    @Test func editingARowIsDetectedAndNamed() throws {
        let path = temporaryDirectory() + "/audit.sqlite"
        let log = try AuditLog(path: path, journal: false)
        for index in 1...5 { try log.append(AuditRecord(time: .now(), event: "command.start", action: "cmd\(index)", argv: ["/bin/true"])) }
        // The table refuses edits through SQL…
        let queue = try DatabaseQueue(path: path)
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "UPDATE audit_log SET action = 'x' WHERE id = 3") } }
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "DELETE FROM audit_log WHERE id = 3") } }
        // …so a tamperer drops the trigger first; the chain still names the edited record.
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_update")
            try db.execute(sql: "UPDATE audit_log SET argv = '[\"/bin/false\"]' WHERE id = 3")
        }
        #expect(try log.verify() == AuditVerification(records: 3, firstBadRecord: 3, problem: "its content does not match its hash (edited)"))
    }

    @Test func removingARowFromTheMiddleIsDetected() throws {
        let path = temporaryDirectory() + "/audit.sqlite"
        let log = try AuditLog(path: path, journal: false)
        for index in 1...5 { try log.append(AuditRecord(time: .now(), event: "service.start", action: "restart s\(index)")) }
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_delete_oldest_only")
            try db.execute(sql: "DELETE FROM audit_log WHERE id = 2")
        }
        #expect(try log.verify().firstBadRecord == 3)
        #expect(try log.verify().problem == "record 2 is missing (removed from the middle)")
    }

    @Test func retentionRemovesOnlyTheOldestAndTheRestStillVerifies() throws {
        let path = temporaryDirectory() + "/audit.sqlite"
        let log = try AuditLog(path: path, journal: false, retention: .seconds(30 * 86_400))
        let start = Timestamp.now().secondsSinceEpoch - 40 * 86_400
        for day in 0..<20 { try log.append(AuditRecord(time: Timestamp(secondsSinceEpoch: start + Double(day) * 86_400), event: "command.start")) }
        #expect(try log.removeRecords(before: Timestamp(secondsSinceEpoch: start + 4 * 86_400)) == 4)
        let verification = try log.verify()
        #expect(verification.isIntact)
        #expect(verification.records == 16)
        // Appending continues the chain.
        try log.append(AuditRecord(time: .now(), event: "command.end"))
        #expect(try log.verify().records == 17)
        // Records younger than the retention (30 days) stay, whatever the caller asks.
        #expect(try log.removeRecords(before: .now()) == 6)
        #expect(try log.verify().records == 11)
        #expect(try log.verify().isIntact)
    }

    /// A request and auto-recovery append at the same moment: every append succeeds, the chain verifies and the anchor
    /// names the newest record (concurrent appends raced on the anchor's temporary file: "audit log write failed").
    @Test func concurrentAppendsAllSucceedAndTheAnchorNamesTheNewest() async throws {
        let path = temporaryDirectory() + "/audit.sqlite"
        let log = try AuditLog(path: path, journal: false)
        let failures = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var failed = 0
                    for index in 0..<25 {
                        do { try log.append(AuditRecord(time: .now(), event: "command.start", action: "w\(worker)-\(index)")) } catch { failed += 1 }
                    }
                    return failed
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        let verification = try log.verify()
        #expect(verification.isIntact, "\(verification)")
        #expect(verification.records == 200)
        #expect(try String(contentsOfFile: path + ".anchor", encoding: .utf8).hasPrefix("200 "))
    }

    @Test func removingTheTailIsDetectedThroughTheAnchorFile() throws {
        let path = temporaryDirectory() + "/audit.sqlite"
        let log = try AuditLog(path: path, journal: false)
        for index in 1...6 { try log.append(AuditRecord(time: .now(), event: "command.start", action: "cmd\(index)")) }
        #expect(try String(contentsOfFile: path + ".anchor", encoding: .utf8).hasPrefix("6 "))
        let queue = try DatabaseQueue(path: path)
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "DELETE FROM audit_log WHERE id = 6") } }
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_delete_oldest_only")
            try db.execute(sql: "DELETE FROM audit_log WHERE id >= 5")
        }
        // The chain alone still verifies (1…4 are intact); the anchor names record 6.
        let verification = try log.verify()
        #expect(verification.firstBadRecord == 5)
        #expect(verification.problem == "records 5…6 are missing (removed from the end; the anchor file names record 6)")
        #expect(!verification.isIntact)
        // Without the anchor file the end cannot be checked, and verify says so.
        try FileManager.default.removeItem(atPath: path + ".anchor")
        let unanchored = try log.verify()
        #expect(!unanchored.isIntact)
        #expect(unanchored.anchorProblem == "the anchor file \(path).anchor is missing")
    }

    @Test func aLogWithNoRecordYetVerifiesWithoutAnAnchorFile() throws {
        let path = temporaryDirectory() + "/audit.sqlite"
        let log = try AuditLog(path: path, journal: false)
        #expect(!FileManager.default.fileExists(atPath: path + ".anchor"))
        let fresh = try log.verify()
        #expect(fresh.isIntact, "\(fresh)")
        #expect(fresh.records == 0)
        #expect(fresh.anchorProblem == nil)
        // Opened again (the log is marked as anchored by now) and still empty: still intact.
        let reopened = try AuditLog(path: path, journal: false).verify()
        #expect(reopened.isIntact, "\(reopened)")
        // Once a record exists, a missing anchor file is a problem again.
        try log.append(AuditRecord(time: .now(), event: "command.start", action: "cmd1"))
        try FileManager.default.removeItem(atPath: path + ".anchor")
        let unanchored = try log.verify()
        #expect(!unanchored.isIntact)
        #expect(unanchored.records == 1)
        #expect(unanchored.anchorProblem == "the anchor file \(path).anchor is missing")
    }

    @Test func removingAPrefixYoungerThanTheRetentionIsRefusedAndDetected() throws {
        let path = temporaryDirectory() + "/audit.sqlite"
        let log = try AuditLog(path: path, journal: false, retention: .seconds(365 * 86_400))
        for index in 1...5 { try log.append(AuditRecord(time: .now(), event: "command.start", action: "cmd\(index)")) }
        let queue = try DatabaseQueue(path: path)
        // Each row is the oldest when it goes, but none is older than the retention.
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "DELETE FROM audit_log WHERE id = 1") } }
        #expect(try log.removeRecords(before: Timestamp(secondsSinceEpoch: Timestamp.now().secondsSinceEpoch + 86_400)) == 0)
        #expect(try log.verify().isIntact)
        // A tamperer who drops the trigger: the chain from record 3 on is intact, but retention never removed 1 and 2.
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_delete_oldest_only")
            try db.execute(sql: "DELETE FROM audit_log WHERE id <= 2")
        }
        let verification = try log.verify()
        #expect(verification.firstBadRecord == 1)
        #expect(verification.problem == "records 1…2 are missing (removed from the start, not by retention)")
    }
}

@Suite("operations: auto-recovery policy")
struct RecoveryPlannerTests {
    @Test func restartsWithDoublingBackoffThenGivesUpOnce() {
        var planner = RecoveryPlanner(policy: RecoveryPolicy(maxAttempts: 3, window: .seconds(600), backoff: .seconds(10)))
        #expect(planner.decide(.stopped, now: 0) == .restart(attempt: 1))
        #expect(planner.decide(.stopped, now: 5) == .nothing, "backoff 10 s")
        #expect(planner.decide(.error, now: 10) == .restart(attempt: 2))
        #expect(planner.decide(.error, now: 29) == .nothing, "backoff doubled to 20 s")
        #expect(planner.decide(.error, now: 30) == .restart(attempt: 3))
        #expect(planner.decide(.error, now: 200) == .giveUp(attempts: 3))
        #expect(planner.decide(.error, now: 300) == .nothing, "gives up loudly once")
        // Outside the window the attempts expire: trying again is allowed.
        #expect(planner.decide(.error, now: 700) == .restart(attempt: 1))
    }

    @Test func runningResetsAndUnknownNeverActs() {
        var planner = RecoveryPlanner(policy: RecoveryPolicy(maxAttempts: 1, window: .seconds(600), backoff: .seconds(1)))
        #expect(planner.decide(.unknown, now: 0) == .nothing)
        #expect(planner.decide(.unresponsive, now: 0) == .nothing)
        #expect(planner.decide(.stopped, now: 1) == .restart(attempt: 1))
        #expect(planner.decide(.running, now: 2) == .nothing)
        #expect(planner.decide(.stopped, now: 3) == .restart(attempt: 1), "a run resets the count")
    }
}

@Suite("operations: background jobs")
struct CommandJobsTests {
    /// Shutdown cancels a running background job: its process group is killed at once, the run reports `timed_out`
    /// (killed before it ended) and the audit log records its end as `cancelled`.
    @Test func shutdownKillsARunningJob() async throws {
        let log = try AuditLog(path: temporaryDirectory() + "/audit.sqlite", journal: false)
        let sleeper = CommandCatalog(
            definitions: [
                CommandDefinition(
                    id: "sleep", summary: "sleep", executable: "/bin/sleep", arguments: ["{seconds}"], parameters: ["seconds": .integer(0...600)],
                    timeout: .seconds(60))
            ], serviceUnits: [:])
        let operations = Operations(audit: log, catalog: { sleeper }, unitOfService: { _ in nil }, systemd: nil, logger: Logger(label: "test"))
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await operations.jobs.run() }
                let run = try await operations.runCommand("sleep", parameters: ["seconds": "120"], principal: .agent, background: true)
                #expect(run.status == .running)
                // Give the process time to start, so that it is killed rather than never started.
                try await Task.sleep(for: .milliseconds(300))
                #expect(operations.job(run.jobID)?.status == .running)
                let shutdown = ContinuousClock.now
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
                #expect(ContinuousClock.now - shutdown < .seconds(60), "the job ended promptly, not after its 120 s")
                let finished = try #require(operations.job(run.jobID))
                #expect(finished.status == .timedOut)
                #expect(finished.result?.cancelled == true)
                #expect(finished.result?.signal == 9)
                #expect(finished.result?.outcome == "cancelled")
                let end = try #require(try log.records().first { $0.event == "command.end" })
                #expect(end.outcome == "cancelled")
                #expect(end.startID == run.auditID)
                #expect(finished.endAuditID == end.id)
            }
        }
        // Once shut down, a new job is not started: it is recorded as cancelled at once.
        let late = try await operations.runCommand("sleep", parameters: ["seconds": "30"], principal: .agent, background: true)
        #expect(late.status == .timedOut)
        #expect(late.result?.cancelled == true)
        #expect(late.result?.signal == nil)
    }
}
