//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import AgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AgentServer

/// The sessions routes without an engine: the strict create body, and how a change is refused and audited when
/// containers are off, the audit log is not open, or the engine cannot be reached. tests/e2e/test_sessions.py drives
/// them on a real dockerd.
struct SessionsAPITests {
    static func parse(_ json: String) throws -> SessionRequest {
        let values = try JSONDecoder().decode([String: SessionsController.BodyValue].self, from: Data(json.utf8))
        return try SessionsController.parseCreate(values)
    }

    static func refusal(_ json: String) -> String? {
        do {
            _ = try parse(json)
            return nil
        } catch let error as APIError {
            #expect(error.status == .badRequest && error.code == "invalid_request")
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func theCreateBodyTakesSizesAndDurationsInTheirTwoForms() throws {
        let full = try Self.parse(#"{"username":"alice","template":"web","memory":"256MiB","cpu_shares":512,"ttl":"1h30m"}"#)
        #expect(full == SessionRequest(username: "alice", template: "web", memory: 268_435_456, cpuShares: 512, ttl: .seconds(5400)))
        let plain = try Self.parse(#"{"username":"bob","template":"web","memory":100000000,"ttl":90}"#)
        #expect(plain == SessionRequest(username: "bob", template: "web", memory: 100_000_000, ttl: .seconds(90)))
        let nulls = try Self.parse(#"{"username":"carol","template":"web","memory":null,"cpu_shares":null,"ttl":null}"#)
        #expect(nulls == SessionRequest(username: "carol", template: "web"))
    }

    @Test func everyRefusalStartsWithTheField() {
        for (body, message) in [
            (#"{"template":"web"}"#, "username: is required"),
            (#"{"username":"a"}"#, "template: is required"),
            (#"{"username":7,"template":"web"}"#, "username: must be a string"),
            (#"{"username":"a","template":"web","image":"debian:12"}"#, "image: unknown field (the fields are username, template, memory, cpu_shares, ttl)"),
            (#"{"username":"a","template":"web","memory":"lots"}"#, #"memory: must be bytes or a size such as "256MiB", got "lots""#),
            (#"{"username":"a","template":"web","memory":1.5}"#, #"memory: must be an integer (bytes) or a string such as "256MiB""#),
            (#"{"username":"a","template":"web","cpu_shares":"512"}"#, "cpu_shares: must be an integer"),
            (#"{"username":"a","template":"web","ttl":true}"#, #"ttl: must be a duration such as "30m" or a whole number of seconds"#),
            (#"{"username":"a","template":"web","ttl":-5}"#, "ttl: must be a number of seconds from 1, got -5"),
            (#"{"username":"a","template":"web","ttl":"soon"}"#, #"ttl: must be a duration such as "30m", "1h30m" or "90s", got "soon""#),
        ] {
            #expect(Self.refusal(body) == message, "\(body)")
        }
    }

    @Test func withoutContainersEverySessionRouteAnswers503() async throws {
        try await FakeAgent().application().test(.router) { client in
            for (method, uri) in [
                (HTTPRequest.Method.get, "/api/v1/sessions"), (.post, "/api/v1/sessions"), (.get, "/api/v1/sessions/abc"),
                (.post, "/api/v1/sessions/abc/stop"), (.post, "/api/v1/sessions/abc/start"), (.delete, "/api/v1/sessions/abc"),
            ] {
                let response = try await client.execute(uri: uri, method: method, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}"))
                #expect(response.status == .serviceUnavailable, "\(method) \(uri)")
                #expect(try json(response.body)["error"] as? [String: String] == [
                    "code": "containers_disabled", "message": "containers are disabled ([containers] enabled = false, or \"auto\" without an engine socket)",
                ])
            }
        }
    }

    /// The fake agent's dependencies with operations whose audit log (unless `audit` is false) is in a fresh directory.
    static func unreachable(audit: Bool) throws -> (APIDependencies, AuditLog?, String) {
        let directory = FileManager.default.temporaryDirectory.appending(path: "sessions-api-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let log = audit ? try AuditLog(path: directory + "/audit.sqlite", journal: false) : nil
        var dependencies = FakeAgent().dependencies
        dependencies.operations = Operations(audit: log, catalog: { CommandCatalog(definitions: [], serviceUnits: [:]) }, unitOfService: { _ in nil }, systemd: nil, logger: Logger(label: "test"))
        return (dependencies, log, directory)
    }

    @Test func aChangeIsAuditedBeforeTheEngineIsAskedAndItsFailureRecorded() async throws {
        var (dependencies, log, directory) = try Self.unreachable(audit: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settings = { () -> ContainerSettings in
            var settings = ContainerSettings()
            settings.socket = directory + "/no-docker.sock"
            settings.templates["web"] = SessionTemplate(image: "agent-test/busybox:latest", port: 8080)
            return settings
        }()
        let store = try SessionStore(path: directory + "/sessions.sqlite")
        let engine = DockerEngine(socketPath: settings.socket, timeout: .seconds(2))
        dependencies.sessions = try await SessionManager(settings: settings, engine: engine, store: store, logger: Logger(label: "test"))
        try await Application(router: APIServer.buildRouter(dependencies: dependencies)).test(.router) { client in
            let body = ByteBuffer(string: #"{"username":"alice","template":"web","ttl":"10m"}"#)
            let response = try await client.execute(uri: "/api/v1/sessions", method: .post, headers: [.contentType: "application/json", .xRequestID: "req-1"], body: body)
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "5")
            let error = try #require(try json(response.body)["error"] as? [String: String])
            #expect(error["code"] == "engine_unavailable")
            // An invalid body is refused before anything is recorded.
            let invalid = try await client.execute(
                uri: "/api/v1/sessions", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"username":"alice","template":"nope"}"#))
            #expect(invalid.status == .badRequest)
            #expect((try json(invalid.body)["error"] as? [String: String])?["message"]?.hasPrefix("template: no template \"nope\" (known: web)") == true)
        }
        let records = try #require(log).records(from: nil, to: nil, principal: nil, limit: 100).sorted { $0.id < $1.id }
        #expect(records.map(\.event) == ["session.start", "session.end"])
        #expect(records.map(\.action) == ["create alice/web", "create alice/web"])
        #expect(records.first?.parameters == ["username": "alice", "template": "web", "memory": "268435456", "cpu_shares": "512", "ttl": "600s"])
        #expect(records.first?.requestID == "req-1")
        #expect(records.last?.outcome?.hasPrefix("failed: the container engine is unavailable: ") == true)
        #expect(records.last?.startID == records.first?.id)
        try? await engine.shutdown()
        try store.close()
    }

    @Test func withoutAnAuditLogAChangeIsRefusedAndReadsStillAnswer() async throws {
        var (dependencies, _, directory) = try Self.unreachable(audit: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = ContainerSettings()
        settings.socket = directory + "/no-docker.sock"
        let store = try SessionStore(path: directory + "/sessions.sqlite")
        let engine = DockerEngine(socketPath: settings.socket, timeout: .seconds(2))
        dependencies.sessions = try await SessionManager(settings: settings, engine: engine, store: store, logger: Logger(label: "test"))
        try await Application(router: APIServer.buildRouter(dependencies: dependencies)).test(.router) { client in
            let create = try await client.execute(
                uri: "/api/v1/sessions", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"username":"a","template":"web"}"#))
            #expect(create.status == .serviceUnavailable)
            #expect((try json(create.body)["error"] as? [String: String])?["code"] == "audit_unavailable")
            let delete = try await client.execute(uri: "/api/v1/sessions/abc", method: .delete)
            #expect((try json(delete.body)["error"] as? [String: String])?["code"] == "audit_unavailable")
            let list = try await client.execute(uri: "/api/v1/sessions", method: .get)
            #expect(list.status == .ok)
            let engineStatus = try #require(try json(list.body)["engine"] as? [String: Any])
            #expect(engineStatus["status"] as? String == "unavailable")
            #expect((try json(list.body)["sessions"] as? [Any])?.isEmpty == true)
            let missing = try await client.execute(uri: "/api/v1/sessions/abc", method: .get)
            #expect(missing.status == .notFound)
        }
        try? await engine.shutdown()
        try store.close()
    }
}
