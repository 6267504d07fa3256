//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct OutputSettingsTests {
    let loader = ConfigLoader(knownCollectors: ["cpu"])

    func load(_ text: String, environment: [String: String] = [:]) throws(ConfigError) -> (AgentConfiguration, String) {
        var template = Array("/tmp/viworks-outputs-XXXXXX.toml".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemps($0, 5) } ?? -1 }
        let path = String(cString: template)
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        defer { unlink(path) }
        return (try loader.load(path: path, environment: environment), path)
    }

    func issues(_ text: String) -> [String] {
        do {
            _ = try load(text)
            return []
        } catch {
            return error.issues.map { "\($0.line.map(String.init) ?? "-"): \($0.key): \($0.message)" }
        }
    }

    @Test func offByDefaultWithTheDocumentedDefaults() throws {
        let (configuration, _) = try load("")
        let settings = configuration.outputs.postgresql
        #expect(!settings.enabled)
        #expect(settings.host == "127.0.0.1" && settings.port == 5432 && settings.database == "postgres" && settings.user == "postgres")
        #expect(settings.tls == .disable && settings.caFile == nil && settings.passwordFile == nil && settings.agentID == nil)
        #expect(settings.interval == .seconds(10) && settings.timeout == .seconds(10) && settings.batchSize == 1000)
        #expect(settings.maxBacklogRows == 1_000_000 && settings.maxBacklogAge == .seconds(7 * 86_400))
    }

    @Test func everyKeyIsReadFromTheFileAndTheEnvironment() throws {
        let (configuration, _) = try load(
            """
            [outputs.postgresql]
            enabled = true
            host = "db.example.com"
            port = 6432
            database = "fleet"
            user = "agent"
            tls = "verify-full"
            application_name = "web-1 agent"
            agent_id = "web-1"
            interval = "30s"
            timeout = "5s"
            batch_size = 500
            max_backlog_age = "2d"
            max_backlog_rows = 5000
            """, environment: ["VIWORKS_OUTPUTS_POSTGRESQL_PORT": "7432"])
        let settings = configuration.outputs.postgresql
        #expect(settings.enabled && settings.host == "db.example.com" && settings.port == 7432)
        #expect(settings.database == "fleet" && settings.user == "agent" && settings.tls == .verifyFull)
        #expect(settings.applicationName == "web-1 agent" && settings.agentID == "web-1")
        #expect(settings.interval == .seconds(30) && settings.timeout == .seconds(5) && settings.batchSize == 500)
        #expect(settings.maxBacklogAge == .seconds(2 * 86_400) && settings.maxBacklogRows == 5000)
    }

    @Test func badValuesAreReportedWithFileLineAndKey() {
        let found = issues(
            """
            [outputs.postgresql]
            enabled = true
            port = 0
            tls = "prefer"
            agent_id = "\(String(repeating: "x", count: 51))"
            batch_size = 0
            password_file = "/nonexistent/password"
            ca_file = "/etc/ca.pem"
            colour = "blue"
            """)
        #expect(
            found == [
                "3: outputs.postgresql.port: 0 is out of range 1...65535",
                "4: outputs.postgresql.tls: expected one of disable, require, verify-full, got \"prefer\"",
                "5: outputs.postgresql.agent_id: at most 50 characters (the schema's VARCHAR(50)), got 51",
                "6: outputs.postgresql.batch_size: 0 is out of range 1...10000",
                "7: outputs.postgresql.password_file: cannot read /nonexistent/password: No such file or directory",
                "8: outputs.postgresql.ca_file: is only used with tls = \"verify-full\"",
                "8: outputs.postgresql.ca_file: cannot read /etc/ca.pem: No such file or directory",
                "9: outputs.postgresql.colour: unknown key",
            ], "\(found)")
    }

    @Test func theAgentIDIsDerivedStablyFromTheMachineID() {
        // HMAC-SHA256(key: "3d1219c7c4c5404aaa1f6d2a48adfda4", "viworks-agent"), first 16 bytes, checked with Python's hmac.
        #expect(AgentIdentity.derive(machineID: "3d1219c7c4c5404aaa1f6d2a48adfda4") == "ece16a679a5fbef00fd8eb2edf2c5421")
        #expect(AgentIdentity.resolve(configured: "web-1", paths: HostPaths()) == "web-1")
        #expect(AgentIdentity.resolve(configured: nil, paths: HostPaths(procRoot: "/nonexistent/proc", sysRoot: "/nonexistent/sys", rootfs: "/nonexistent")) == nil)
    }
}

struct OutputStateTests {
    @Test func theStatusIsDecidedFromEnablementAndConsecutiveFailures() {
        var state = OutputState(name: "postgresql", enabled: false)
        #expect(state.status == .disabled && state.degradedReason == nil)
        state.enabled = true
        #expect(state.status == .ok)
        state.consecutiveFailures = 1
        state.lastError = "connection refused"
        #expect(state.status == .retrying && state.degradedReason == nil)
        state.consecutiveFailures = OutputState.failingAfterAttempts
        #expect(state.status == .failing)
        #expect(state.degradedReason == "output postgresql failing: connection refused")
    }

    @Test func aFailingOutputDegradesTheConditionWithItsReason() {
        var snapshot = AgentSnapshot()
        snapshot.updatedAt = Timestamp(nanosecondsSinceEpoch: 1)
        var failing = OutputState(name: "postgresql", enabled: true)
        failing.consecutiveFailures = 5
        failing.lastError = "password authentication failed for user \"agent\" (SQLSTATE 28P01)"
        let condition = AgentCondition.evaluate(snapshot: snapshot, collectors: [], outputs: [failing])
        #expect(condition.status == .degraded)
        #expect(condition.reasons == ["output postgresql failing: password authentication failed for user \"agent\" (SQLSTATE 28P01)"])
        failing.consecutiveFailures = 1
        #expect(AgentCondition.evaluate(snapshot: snapshot, collectors: [], outputs: [failing]).status == .healthy)
    }

    @Test func theBoardBumpsItsGenerationOnlyOnChange() {
        let board = OutputBoard([OutputState(name: "postgresql", enabled: true)])
        let start = board.generation
        board.update("postgresql") { $0.backlogRows = 0 }
        #expect(board.generation == start)
        board.update("postgresql") { $0.backlogRows = 3 }
        #expect(board.generation == start + 1)
        #expect(board.state("postgresql")?.backlogRows == 3)
        board.update("other") { $0.backlogRows = 9 }
        #expect(board.all.map(\.name) == ["postgresql"])
    }
}
