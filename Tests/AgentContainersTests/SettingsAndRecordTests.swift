//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import AgentRuntime
import Foundation
import Testing

@Suite struct SettingsTests {
    @Test func defaultsAreTheDocumentedOnes() {
        let settings = ContainerSettings()
        #expect(settings.enabled == .auto)
        #expect(settings.socket == "/var/run/docker.sock")
        #expect(settings.portRange == 20000...20999)
        #expect(settings.publishAddress == "127.0.0.1")
        #expect(settings.pull == false)
        #expect(settings.validate().isEmpty)
    }

    @Test func portRanges() {
        #expect(ContainerSettings.parsePortRange("20000-20999") == 20000...20999)
        #expect(ContainerSettings.parsePortRange("30000-30000") == 30000...30000)
        #expect(ContainerSettings.parsePortRange("20999-20000") == nil)
        #expect(ContainerSettings.parsePortRange("0-10") == nil)
        #expect(ContainerSettings.parsePortRange("20000") == nil)
        #expect(ContainerSettings.parsePortRange("20000-70000") == nil)
        #expect(ContainerSettings.parsePortRange("a-b") == nil)
    }

    @Test func byteSizes() {
        #expect(ByteSize.parse("256MiB") == 268_435_456)
        #expect(ByteSize.parse("256m") == 268_435_456)
        #expect(ByteSize.parse("1GiB") == 1_073_741_824)
        #expect(ByteSize.parse("1.5GiB") == 1_610_612_736)
        #expect(ByteSize.parse("64k") == 65536)
        #expect(ByteSize.parse("500MB") == 500_000_000)
        #expect(ByteSize.parse("1048576") == 1_048_576)
        #expect(ByteSize.parse("1.5") == nil)
        #expect(ByteSize.parse("-1MiB") == nil)
        #expect(ByteSize.parse("12 parsecs") == nil)
        #expect(ByteSize.parse("") == nil)
        #expect(ByteSize.format(268_435_456) == "256MiB")
        #expect(ByteSize.format(1000) == "1000B")
    }

    @Test func settingsErrorsNameTheirKeys() {
        var settings = ContainerSettings()
        settings.socket = "docker.sock"
        settings.portRange = 80...90
        settings.publishAddress = "localhost"
        settings.maxSessions = 2
        settings.maxSessionsPerUser = 3
        var template = SessionTemplate(image: "", port: 0)
        template.memory = 1 << 20
        template.memoryMax = 1 << 19
        template.cpuShares = 1
        template.cpus = 0
        template.pidsLimit = 0
        template.ttl = .milliseconds(10)
        template.tmpfs = ["relative", "/ok"]
        template.capAdd = ["ALL", "NET_BIND_SERVICE"]
        template.command = []
        settings.templates = ["web": template]
        let fields = settings.validate().map(\.field)
        #expect(
            fields == [
                "socket", "port_range", "publish_address", "max_sessions_per_user", "templates.web.image", "templates.web.command",
                "templates.web.port", "templates.web.memory", "templates.web.memory_max", "templates.web.cpu_shares", "templates.web.cpus",
                "templates.web.pids_limit", "templates.web.ttl", "templates.web.tmpfs", "templates.web.cap_add",
            ])
    }

    static let templates: [String: SessionTemplate] = {
        var web = SessionTemplate(image: "agent-test/busybox", port: 8080)
        web.memory = 64 << 20
        web.memoryMax = 128 << 20
        web.cpuShares = 256
        web.cpuSharesMax = 512
        web.ttl = .seconds(3600)
        return ["web": web]
    }()

    @Test func requestsResolveAgainstTheTemplate() throws {
        let resolved = try SessionRules.resolve(SessionRequest(username: "alice", template: "web"), templates: Self.templates)
        #expect(resolved.memory == 64 << 20)
        #expect(resolved.cpuShares == 256)
        #expect(resolved.ttl == .seconds(3600))
        let asked = try SessionRules.resolve(
            SessionRequest(username: "bob_2", template: "web", memory: 100 << 20, cpuShares: 512, ttl: .seconds(60)), templates: Self.templates)
        #expect(asked.memory == 100 << 20)
        #expect(asked.cpuShares == 512)
        #expect(asked.ttl == .seconds(60))
    }

    @Test(arguments: [
        (SessionRequest(username: "", template: "web"), "username"),
        (SessionRequest(username: "9lives", template: "web"), "username"),
        (SessionRequest(username: "a/b", template: "web"), "username"),
        (SessionRequest(username: String(repeating: "a", count: 33), template: "web"), "username"),
        (SessionRequest(username: "alice", template: "nope"), "template"),
        (SessionRequest(username: "alice", template: "web", memory: 256 << 20), "memory"),
        (SessionRequest(username: "alice", template: "web", memory: 1 << 20), "memory"),
        (SessionRequest(username: "alice", template: "web", cpuShares: 1), "cpu_shares"),
        (SessionRequest(username: "alice", template: "web", cpuShares: 1024), "cpu_shares"),
        (SessionRequest(username: "alice", template: "web", ttl: .seconds(7200)), "ttl"),
        (SessionRequest(username: "alice", template: "web", ttl: .milliseconds(1)), "ttl"),
    ])
    func badRequestsNameTheField(request: SessionRequest, field: String) {
        let error = #expect(throws: FieldError.self) { try SessionRules.resolve(request, templates: Self.templates) }
        #expect(error?.field == field)
        #expect(SessionError.invalid(FieldError(field: field, message: "x")).httpStatus == 400)
    }
}

@Suite struct SessionRecordTests {
    static func sample() -> Session {
        Session(
            sessionID: "0123456789abcdef0123456789abcdef", username: "alice", template: "web", containerID: "c0ffee", port: 20001, status: .oomKilled,
            createdAt: Timestamp(seconds: 1_700_000_000, nanoseconds: 0), stoppedAt: nil, memoryLimitBytes: 67_108_864, cpuShares: 256,
            exitCode: 137, reason: "killed for exceeding its memory limit", expiresAt: Timestamp(seconds: 1_700_003_600, nanoseconds: 0),
            idleTimeout: .seconds(600), cpus: 0.5, lastActivityAt: Timestamp(seconds: 1_700_000_010, nanoseconds: 0))
    }

    @Test func jsonHasExactlyTheContractFieldsWithNulls() throws {
        let data = try JSONEncoder().encode(Self.sample())
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "session_id", "username", "template", "container_id", "port", "status", "created_at", "stopped_at", "memory_limit_bytes",
                "cpu_shares", "exit_code", "reason",
            ])
        #expect(Session.jsonFields.count == 12)
        #expect(object["status"] as? String == "oom_killed")
        #expect(object["stopped_at"] is NSNull)
        #expect(object["port"] as? Int == 20001)
        #expect(object["created_at"] as? String == "2023-11-14T22:13:20.000000000+00:00")
        let decoded = try JSONDecoder().decode(Session.self, from: data)
        #expect(decoded.sessionID == Self.sample().sessionID)
        #expect(decoded.status == .oomKilled)
    }

    @Test func statusNames() {
        #expect(SessionStatus.allCases.map(\.rawValue) == ["creating", "running", "stopped", "exited", "oom_killed", "removed", "orphaned"])
    }

    @Test func engineStatusJSON() throws {
        let data = try JSONEncoder().encode(ContainerEngineStatus(status: .unavailable, reason: "ENOENT: no socket at /x"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["status", "version", "api_version", "reason"])
        #expect(object["status"] as? String == "unavailable")
        #expect(object["api_version"] is NSNull)
    }

    @Test func storeKeepsEveryFieldAcrossReopening() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("viworks-sessions-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state/sessions.sqlite"
        let store = try SessionStore(path: path)
        var removed = Self.sample()
        removed.sessionID = "ffffffffffffffffffffffffffffffff"
        removed.status = .removed
        removed.port = nil
        removed.removedAt = Timestamp(seconds: 1_700_000_100, nanoseconds: 0)
        try await store.save(Self.sample())
        try await store.save(removed)
        try store.close()

        let reopened = try SessionStore(path: path)
        let all = try await reopened.all()
        #expect(all.count == 2)
        #expect(try await reopened.session(Self.sample().sessionID) == Self.sample())
        #expect(try await reopened.active().map(\.sessionID) == [Self.sample().sessionID])
        #expect(try await reopened.purge(removedBefore: Timestamp(seconds: 1_700_000_101, nanoseconds: 0)) == 1)
        #expect(try await reopened.all().map(\.sessionID) == [Self.sample().sessionID])
    }
}
