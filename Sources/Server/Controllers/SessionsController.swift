//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import FoundationEssentials
import HTTPTypes
import Hummingbird
import NIOCore

/// User sessions in containers: `POST /api/v1/sessions` creates one from a configured template, `GET` lists and reads
/// them, `POST …/{id}/stop`, `POST …/{id}/start` and `DELETE …/{id}` change them. Every change is audited before it
/// happens (``AuditedSessions``); nothing here is cached.
///
/// Answers 503 `containers_disabled` while `[containers]` is off, 503 `engine_unavailable` for a change while the
/// engine cannot be reached (reads keep answering from the agent's records), and 503 `audit_unavailable` for a change
/// while the audit log is not open.
public struct SessionsController: Sendable {
    let sessions: (any SessionControl)?
    let operations: Operations?

    public init(sessions: (any SessionControl)?, operations: Operations?) {
        self.sessions = sessions
        self.operations = operations
    }

    /// The routes this controller declares; ``APIServer`` registers them.
    public var routes: [Route] {
        [
            Route(.post, "/api/v1/sessions", .operator, "Create and start a user session's container from a configured template (audited)") { request, context in
                _ = try QueryParameters(request, allowed: [])
                let audited = try audited()
                let body = try await Self.createRequest(request)
                let session = try await perform { try await audited.create(body, principal: OperationsController.principal(request, context)) }
                var response = try json(session, status: .created)
                response.headers[.location] = "/api/v1/sessions/\(session.sessionID)"
                return response
            },
            Route(.get, "/api/v1/sessions", .viewer, "User sessions and the container engine's condition") { request, _ in
                _ = try QueryParameters(request, allowed: [])
                let manager = try sessionManager()
                return try json(SessionListDTO(engine: await manager.engineStatus, sessions: await manager.list()))
            },
            Route(.get, "/api/v1/sessions/{id}", .viewer, "One user session") { request, context in
                let id = try Self.sessionID(context)
                _ = try QueryParameters(request, allowed: [])
                guard let session = await (try sessionManager()).session(id) else { throw APIError(.notFound, code: "not_found", message: "no session \(id)") }
                return try json(session)
            },
            Route(.post, "/api/v1/sessions/{id}/stop", .operator, "Stop a running session's container; the container and its port are kept (audited)") {
                request, context in
                let id = try Self.sessionID(context)
                _ = try QueryParameters(request, allowed: [])
                let audited = try audited()
                return try json(try await perform { try await audited.stop(id, principal: OperationsController.principal(request, context)) })
            },
            Route(.post, "/api/v1/sessions/{id}/start", .operator, "Start a stopped or exited session's container again (audited)") { request, context in
                let id = try Self.sessionID(context)
                _ = try QueryParameters(request, allowed: [])
                let audited = try audited()
                return try json(try await perform { try await audited.start(id, principal: OperationsController.principal(request, context)) })
            },
            Route(.delete, "/api/v1/sessions/{id}", .operator, "Stop and remove a session's container and free its port; the record stays (audited)") {
                request, context in
                let id = try Self.sessionID(context)
                _ = try QueryParameters(request, allowed: [])
                let audited = try audited()
                return try json(try await perform { try await audited.delete(id, principal: OperationsController.principal(request, context)) })
            },
        ]
    }

    private func sessionManager() throws -> any SessionControl {
        guard let sessions else {
            throw APIError(.serviceUnavailable, code: "containers_disabled", message: "containers are disabled ([containers] enabled = false, or \"auto\" without an engine socket)")
        }
        return sessions
    }

    /// The manager with the audit log: a change is refused (503) rather than run unaudited.
    private func audited() throws -> AuditedSessions {
        let manager = try sessionManager()
        guard let operations, operations.audit != nil else {
            throw APIError(
                .serviceUnavailable, code: "audit_unavailable",
                message: "session changes are audited and the audit log is not open ([commands] enabled = false, or it cannot be opened); nothing was changed")
        }
        return AuditedSessions(manager: manager) { try operations.record($0) }
    }

    /// Runs a change, turning its errors into the API's: a ``SessionError`` keeps its status and code (a 400's message
    /// starts with the field's name: `ttl: must be between 1s and 1h, got 0s`), an unwritable audit log is a 503.
    private func perform(_ change: () async throws -> Session) async throws -> Session {
        do {
            return try await change()
        } catch let error as SessionError {
            throw Self.apiError(error)
        } catch let error as AuditUnavailable {
            throw APIError(.serviceUnavailable, code: "audit_unavailable", message: error.description)
        }
    }

    /// A ``SessionError`` as the API answers it; a 503 (the engine, the ports, the records) says when to try again, a
    /// limit does not (it lasts until a session is deleted).
    static func apiError(_ error: SessionError) -> APIError {
        var headers: HTTPFields = [:]
        if error.httpStatus == 503 { headers[.retryAfter] = "5" }
        return APIError(HTTPResponse.Status(code: error.httpStatus), code: error.code, message: error.description, headers: headers)
    }

    /// The `{id}` of the path: a session id (1-64 letters, digits, `.`, `_` or `-`; the agent's own are 32 hex digits).
    static func sessionID(_ context: AgentRequestContext) throws -> String {
        let id = try context.pathParameter("id")
        guard SessionRules.isValidLabelValue(id) else {
            throw QueryParameters.invalid("id must be a session id (32 hex digits), got \"\(QueryParameters.shortened(id))\"")
        }
        return id
    }

    // MARK: - The create body

    /// The fields `POST /api/v1/sessions` accepts.
    static let createFields = ["username", "template", "memory", "cpu_shares", "ttl"]

    /// Reads `{"username", "template", "memory"?, "cpu_shares"?, "ttl"?}`: JSON only (415 otherwise), at most 64 KiB
    /// (413), every field of the right type and no other field (400 `invalid_request` naming the field).
    static func createRequest(_ request: Request) async throws -> SessionRequest {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType == "application/json" || contentType.hasPrefix("application/json;") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "the body must be sent as Content-Type: application/json")
        }
        let bytes = try await OperationsController.body(request)
        let values: [String: BodyValue]
        do {
            values = try JSONDecoder().decode([String: BodyValue].self, from: Data(bytes))
        } catch {
            throw APIError(
                .badRequest, code: "invalid_request",
                message: "the body must be a JSON object {\"username\", \"template\", \"memory\"?, \"cpu_shares\"?, \"ttl\"?}: \(OperationsController.describe(error))")
        }
        return try parseCreate(values)
    }

    static func parseCreate(_ values: [String: BodyValue]) throws(APIError) -> SessionRequest {
        func invalid(_ field: String, _ message: String) -> APIError {
            APIError(.badRequest, code: "invalid_request", message: "\(field): \(message)")
        }
        if let unknown = values.keys.sorted().first(where: { !createFields.contains($0) }) {
            throw invalid(String(unknown.prefix(64)), "unknown field (the fields are \(createFields.joined(separator: ", ")))")
        }
        func text(_ field: String) throws(APIError) -> String {
            guard case .string(let value) = values[field] else { throw invalid(field, values[field] == nil ? "is required" : "must be a string") }
            return value
        }
        let username = try text("username")
        let template = try text("template")
        var memory: Int64?
        switch values["memory"] {
        case nil, .null?: break
        case .integer(let bytes)?: memory = bytes
        case .string(let size)?:
            guard let bytes = ByteSize.parse(size) else { throw invalid("memory", "must be bytes or a size such as \"256MiB\", got \"\(size.prefix(64))\"") }
            memory = bytes
        default: throw invalid("memory", "must be an integer (bytes) or a string such as \"256MiB\"")
        }
        var cpuShares: Int?
        switch values["cpu_shares"] {
        case nil, .null?: break
        case .integer(let shares)?:
            guard let shares = Int(exactly: shares) else { throw invalid("cpu_shares", "must be an integer") }
            cpuShares = shares
        default: throw invalid("cpu_shares", "must be an integer")
        }
        var ttl: Duration?
        switch values["ttl"] {
        case nil, .null?: break
        case .integer(let seconds)?:
            guard let duration = Duration(checkedSeconds: Double(seconds)) else { throw invalid("ttl", "must be a number of seconds from 1, got \(seconds)") }
            ttl = duration
        case .string(let text)?:
            guard let duration = Duration(parsing: text) else { throw invalid("ttl", "must be a duration such as \"30m\", \"1h30m\" or \"90s\", got \"\(text.prefix(64))\"") }
            ttl = duration
        default: throw invalid("ttl", "must be a duration such as \"30m\" or a whole number of seconds")
        }
        return SessionRequest(username: username, template: template, memory: memory, cpuShares: cpuShares, ttl: ttl)
    }

    /// One JSON value of the body, by type: enough to name the field whose type is wrong.
    enum BodyValue: Decodable, Equatable {
        case null, bool(Bool), integer(Int64), number(Double), string(String), other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int64.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else {
                self = .other
            }
        }
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: try encode(value)))
    }
}

/// `GET /api/v1/sessions`: the engine's condition and every session record (removed ones until `keep_records`),
/// oldest first.
struct SessionListDTO: Encodable {
    var engine: ContainerEngineStatus
    var sessions: [Session]
}
