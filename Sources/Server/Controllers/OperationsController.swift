//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#endif
public import AgentRuntime
import HTTPTypes
import FoundationEssentials
import Hummingbird
import NIOCore

/// The privileged routes: allowlisted commands (`POST /api/v1/command`, `GET /api/v1/command/{id}`,
/// `GET /api/v1/commands`), service control (`POST /api/v1/services/{name}/start|stop|restart`), the audit log
/// (`GET /api/v1/audit`) and the journal (`GET /api/v1/logs`). Nothing here is cached.
public struct OperationsController: Sendable {
    let operations: Operations?
    let journal: JournalReader?
    /// Units whose journal may be read: the tracked services' and the agent's own.
    let logUnits: @Sendable () -> [String]

    public init(operations: Operations?, journal: JournalReader?, logUnits: @escaping @Sendable () -> [String]) {
        self.operations = operations
        self.journal = journal
        self.logUnits = logUnits
    }

    /// How a request is attributed in the audit log: as ``AccessMiddleware`` authenticated it, else by its request id alone.
    static func principal(_ request: Request, _ context: AgentRequestContext) -> Requester {
        context.requester ?? Requester(requestID: request.headers[.xRequestID].map { String($0.prefix(128)) })
    }

    /// The routes this controller declares; ``APIServer`` registers them.
    public var routes: [Route] {
        [
            Route(.post, "/api/v1/command", .admin, "Run an allowlisted command by id with validated parameters (audited before it runs)") { request, context in
                _ = try QueryParameters(request, allowed: [])
                return try await command(request, context: context)
            },
            Route(.get, "/api/v1/command/{id}", .admin, "The result of a command job (202 while it runs)") { request, context in
                let id = try context.pathParameter("id")
                _ = try QueryParameters(request, allowed: [])
                guard let operations, let run = operations.job(id) else { throw APIError.notFound("no command job \(CommandCatalog.shortened(id))") }
                return try json(CommandRunDTO(run: run), status: run.result == nil ? .accepted : .ok)
            },
            Route(.get, "/api/v1/commands", .operator, "The command allowlist: ids, argv templates, parameter types") { request, _ in
                _ = try QueryParameters(request, allowed: [])
                return try json(CommandsDTO(definitions: operations?.commandCatalog.definitions.values.sorted { $0.id < $1.id } ?? []))
            },
            Route(.get, "/api/v1/audit", .admin, "The audit log: every command and service action, hash-chained") { request, _ in try audit(request) },
            Route(.get, "/api/v1/logs", .operator, "Journal entries of allowlisted units; follow=true streams Server-Sent Events") { request, _ in try await logs(request) },
        ]
            + ServiceAction.allCases.map { action in
                Route(
                    .post, "/api/v1/services/{name}/\(action.rawValue)", .operator,
                    "\(action.rawValue.prefix(1).uppercased() + action.rawValue.dropFirst()) a tracked service's unit through systemd (audited)"
                ) { request, context in
                    let name = try context.pathParameter("name")
                    _ = try QueryParameters(request, allowed: [])
                    return try await service(action, name: name, request: request, context: context)
                }
            }
    }

    // MARK: - Commands

    struct CommandRequest: Decodable {
        var command: String
        var parameters: [String: ParameterValue]?
        var async: Bool?
    }

    /// A parameter as JSON gives it: a string, a number or a boolean, all validated as text.
    struct ParameterValue: Decodable {
        var text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                text = string
            } else if let integer = try? container.decode(Int.self) {
                text = String(integer)
            } else if let bool = try? container.decode(Bool.self) {
                text = bool ? "true" : "false"
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a parameter must be a string, an integer or a boolean")
            }
        }
    }

    private func command(_ request: Request, context: AgentRequestContext) async throws -> Response {
        guard let operations else { throw APIError(.serviceUnavailable, code: "commands_disabled", message: "commands are disabled ([commands] enabled = false)") }
        // JSON only: a browser's cross-site "simple" POST (text/plain, form encodings) cannot carry it without a preflight.
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType == "application/json" || contentType.hasPrefix("application/json;") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "the body must be sent as Content-Type: application/json")
        }
        let body = try await Self.body(request)
        let parsed: CommandRequest
        do {
            parsed = try JSONDecoder().decode(CommandRequest.self, from: Data(body))
        } catch {
            throw APIError.badRequest(
                "the body must be JSON {\"command\": \"<id>\", \"parameters\": {\"name\": \"value\"}, \"async\": false}: \(Self.describe(error))")
        }
        let parameters = (parsed.parameters ?? [:]).mapValues(\.text)
        do {
            let run = try await operations.runCommand(parsed.command, parameters: parameters, principal: Self.principal(request, context), background: parsed.async ?? false)
            if run.result == nil {
                var response = try json(CommandRunDTO(run: run), status: .accepted)
                response.headers[.location] = "/api/v1/command/\(run.jobID)"
                return response
            }
            return try json(CommandRunDTO(run: run))
        } catch let rejection as CommandRejection {
            switch rejection.kind {
            case .unknownCommand: throw APIError(.notFound, code: "unknown_command", message: rejection.message)
            case .invalidParameter: throw APIError(.badRequest, code: "invalid_parameter", message: rejection.message)
            case .unavailable: throw APIError(.conflict, code: "unavailable", message: rejection.message)
            case .busy: throw APIError(.tooManyRequests, code: "too_many_commands", message: rejection.message, headers: [.retryAfter: "5"])
            }
        } catch let error as AuditUnavailable {
            throw APIError(.serviceUnavailable, code: "audit_unavailable", message: error.description)
        }
    }

    // MARK: - Services

    private func service(_ action: ServiceAction, name: String, request: Request, context: AgentRequestContext) async throws -> Response {
        guard let operations else { throw APIError(.serviceUnavailable, code: "commands_disabled", message: "service control is disabled ([commands] enabled = false)") }
        do {
            let result = try await operations.serviceAction(action, service: name, principal: Self.principal(request, context))
            return try json(ServiceActionDTO(result: result))
        } catch let error as ServiceActionError {
            switch error.kind {
            case .noSystemd: throw APIError(.conflict, code: "no_systemd", message: error.message)
            case .unknownService: throw APIError.notFound(error.message)
            case .failed: throw APIError(.badGateway, code: "systemd_failed", message: error.message)
            }
        } catch let error as AuditUnavailable {
            throw APIError(.serviceUnavailable, code: "audit_unavailable", message: error.description)
        }
    }

    // MARK: - Audit

    private func audit(_ request: Request) throws -> Response {
        guard let log = operations?.audit else { throw APIError(.serviceUnavailable, code: "audit_disabled", message: "the audit log is not open") }
        let query = try QueryParameters(request, allowed: ["from", "to", "principal", "limit", "verify"])
        let (from, to) = try query.times("from", "to")
        let limit = try query.integer("limit", in: 1...10_000) ?? 1000
        let verify = try query.boolean("verify") ?? false
        do {
            let records = try log.records(from: from, to: to, principal: query.text("principal"), limit: limit)
            return try json(AuditDTO(records: records, verification: verify ? try log.verify() : nil))
        } catch {
            throw APIError(.serviceUnavailable, code: "audit_unavailable", message: "the audit log cannot be read: \(error)")
        }
    }

    // MARK: - Logs

    private func logs(_ request: Request) async throws -> Response {
        guard let journal else { throw APIError(.serviceUnavailable, code: "journal_unavailable", message: "the journal cannot be read on this host") }
        let query = try QueryParameters(request, allowed: ["unit", "since", "until", "priority", "grep", "lines", "follow", "format", "after"])
        let allowed = logUnits()
        var units = allowed
        if let requested = query.text("unit") {
            let unit = try Self.unitName(requested)
            guard allowed.contains(unit) else {
                throw APIError(.forbidden, code: "unit_not_allowed", message: "the journal of \(unit) is not readable here (allowed: \(allowed.joined(separator: ", ")))")
            }
            units = [unit]
        }
        var journalQuery = JournalQuery(units: units)
        (journalQuery.since, journalQuery.until) = try query.times("since", "until")
        journalQuery.maxPriority = try query.text("priority").map { try Self.priority($0) }
        journalQuery.lines = try query.integer("lines", in: 1...10_000) ?? 100
        if let grep = query.text("grep") {
            guard grep.utf8.count <= 256, !grep.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
                throw QueryParameters.invalid("grep must be at most 256 bytes without control characters")
            }
            journalQuery.grep = grep
        }
        let format = try query.choice("format", ["json", "text"]) ?? "json"
        let follow = try query.boolean("follow") ?? false
        let after = query.text("after")
        if let after, !Self.isJournalCursor(after) {
            throw QueryParameters.invalid("after must be a journal cursor")
        }
        if follow {
            let stream: AsyncThrowingStream<JournalEvent, any Error>
            do {
                stream = try journal.follow(journalQuery, afterCursor: after)
            } catch {
                if error.code == EBUSY {
                    throw APIError(
                        .tooManyRequests, code: "too_many_followers", message: "\(journal.maximumFollowers) log streams are open already; try again later",
                        headers: [.retryAfter: "5"])
                }
                throw APIError(.serviceUnavailable, code: "journal_unavailable", message: error.description)
            }
            // A heartbeat comment every few quiet seconds: writing to a client that left fails, which ends the
            // response, the stream and its follower thread. Graceful shutdown ends it too (EventStream).
            return EventStream.response(opening: ": following \(units.joined(separator: ","))\n\n", events: stream) { event in
                switch event {
                case .heartbeat:
                    return ": keep-alive\n\n"
                case .entry(let entry):
                    return "id: \(entry.cursor)\nevent: entry\ndata: " + String(decoding: try encodeBytes(JournalEntryDTO(entry: entry)), as: UTF8.self) + "\n\n"
                }
            }
        }
        let entries: [JournalEntry]
        do {
            entries = try await journal.read(journalQuery)
        } catch {
            throw APIError(.serviceUnavailable, code: "journal_unavailable", message: error.description)
        }
        if format == "text" {
            let text = entries.map { "\($0.time.rfc3339) \($0.identifier ?? $0.unit ?? "-")[\($0.pid.map(String.init) ?? "-")]: \($0.message)\n" }.joined()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        return try json(LogsDTO(units: units, entries: entries))
    }

    /// A systemd unit name (``SystemdUnitName``), `.service` added when it has no type suffix. Anything that looks
    /// like a path is refused before the allowlist is even consulted.
    static func unitName(_ raw: String) throws -> String {
        if let problem = SystemdUnitName.problem(raw) {
            throw QueryParameters.invalid("unit must be a unit name such as nginx.service: \"\(CommandCatalog.shortened(raw))\" \(problem)")
        }
        return raw.contains(".") ? raw : raw + ".service"
    }

    /// A cursor as sd-journal writes it: `s=<32 hex>;i=<hex>;b=<32 hex>;m=<hex>;t=<hex>;x=<hex>` (lower-case hex, each
    /// number at most 16 digits). Anything else would fail later in `sd_journal_seek_cursor` as a server error, so it is
    /// refused as a parameter instead.
    static func isJournalCursor(_ text: String) -> Bool {
        let fields = text.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
        let keys: [(key: UInt8, digits: ClosedRange<Int>)] = [
            (UInt8(ascii: "s"), 32...32), (UInt8(ascii: "i"), 1...16), (UInt8(ascii: "b"), 32...32),
            (UInt8(ascii: "m"), 1...16), (UInt8(ascii: "t"), 1...16), (UInt8(ascii: "x"), 1...16),
        ]
        guard fields.count == keys.count else { return false }
        return zip(fields, keys).allSatisfy { field, expected in
            let bytes = Array(field)
            guard bytes.count >= 2, bytes[0] == expected.key, bytes[1] == UInt8(ascii: "=") else { return false }
            let digits = bytes.dropFirst(2)
            return expected.digits.contains(digits.count)
                && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        }
    }

    static let priorityNames = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]

    static func priority(_ raw: String) throws -> Int {
        if let value = Int(raw), (0...7).contains(value) { return value }
        if let index = priorityNames.firstIndex(of: raw.lowercased()) { return index }
        throw QueryParameters.invalid("priority must be 0–7 or one of \(priorityNames.joined(separator: ", ")), got \(CommandCatalog.shortened(raw))")
    }

    // MARK: - Bodies

    static let maximumBody = 64 << 10

    static func body(_ request: Request) async throws -> [UInt8] {
        var buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumBody)
        } catch {
            throw APIError(.contentTooLarge, code: "body_too_large", message: "the body is larger than \(maximumBody) bytes")
        }
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DecodingError {
            switch error {
            case .keyNotFound(let key, _): return "missing \"\(key.stringValue)\""
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                let path = context.codingPath.map(\.stringValue).joined(separator: ".")
                return (path.isEmpty ? "" : "\(path): ") + context.debugDescription
            @unknown default: return "\(error)"
            }
        }
        return "\(error)"
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: try encode(value)))
    }
}

func encodeBytes(_ value: some Encodable) throws -> [UInt8] {
    var buffer = try encode(value)
    return buffer.readBytes(length: buffer.readableBytes) ?? []
}
