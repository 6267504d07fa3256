//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The session changes of the API, each written to the audit log as commands and service actions are: a
/// `session.start` record **before** the change (who, from where, the request id, the action, the session and the
/// values the container is created with) and a `session.end` record after it (`ok`, `refused: …` or `failed: …`, the
/// duration, the session id, container id and port a create got), linked by `start_id`.
///
/// A request that is invalid (a 400 naming the field) or names no session (404) is refused before anything is
/// recorded, as a command with an invalid parameter is. When the start record cannot be written the change does not
/// happen: ``AuditUnavailable`` is thrown and the engine is never called.
public struct AuditedSessions: Sendable {
    public let manager: any SessionControl
    /// Appends a record to the audit log (``Operations/record(_:)``): nil when there is none, throws
    /// ``AuditUnavailable`` when it cannot be written.
    private let record: @Sendable (AuditRecord) throws -> AuditRecord?

    /// The audit event of every record: `session.start` and `session.end`.
    public static let event = "session"

    public init(manager: any SessionControl, record: @escaping @Sendable (AuditRecord) throws -> AuditRecord?) {
        self.manager = manager
        self.record = record
    }

    /// Validates `request` against the templates, audits it, then creates and starts its container.
    /// - Throws: ``SessionError`` (`invalid` before anything is audited; the manager's errors after the start record),
    ///   ``AuditUnavailable`` when the start record cannot be written (nothing was created).
    public func create(_ request: SessionRequest, principal: Requester) async throws -> Session {
        let resolved: ResolvedSessionRequest
        do {
            resolved = try SessionRules.resolve(request, templates: manager.templates)
        } catch {
            throw SessionError.invalid(error)
        }
        var parameters = [
            "username": resolved.username, "template": resolved.templateName, "memory": String(resolved.memory), "cpu_shares": String(resolved.cpuShares),
        ]
        if let ttl = resolved.ttl { parameters["ttl"] = "\(ttl.components.seconds)s" }
        return try await audited("create \(resolved.username)/\(resolved.templateName)", parameters, principal) { () async throws(SessionError) -> Session in
            try await manager.create(request)
        }
    }

    /// Audits and stops a running session (``SessionControl/stop(_:)``).
    /// - Throws: ``SessionError`` (`notFound` before anything is audited), ``AuditUnavailable``.
    public func stop(_ id: String, principal: Requester) async throws -> Session {
        try await change("stop", id, principal) { () async throws(SessionError) -> Session in try await manager.stop(id) }
    }

    /// Audits and starts a stopped or exited session (``SessionControl/start(_:)``).
    /// - Throws: ``SessionError`` (`notFound` before anything is audited), ``AuditUnavailable``.
    public func start(_ id: String, principal: Requester) async throws -> Session {
        try await change("start", id, principal) { () async throws(SessionError) -> Session in try await manager.start(id) }
    }

    /// Audits, stops and removes a session's container and frees its port (``SessionControl/delete(_:)``).
    /// - Throws: ``SessionError`` (`notFound` before anything is audited), ``AuditUnavailable``.
    public func delete(_ id: String, principal: Requester) async throws -> Session {
        try await change("delete", id, principal) { () async throws(SessionError) -> Session in try await manager.delete(id) }
    }

    private func change(_ verb: String, _ id: String, _ principal: Requester, _ operation: @Sendable () async throws(SessionError) -> Session) async throws -> Session {
        guard let session = await manager.session(id) else { throw SessionError.notFound("no session \(id)") }
        let parameters = ["session_id": id, "username": session.username, "template": session.template]
        return try await audited("\(verb) \(id)", parameters, principal, operation)
    }

    private func audited(
        _ action: String, _ parameters: [String: String], _ principal: Requester, _ operation: @Sendable () async throws(SessionError) -> Session
    ) async throws -> Session {
        let start = try record(
            AuditRecord(
                time: .now(), event: "\(Self.event).start", principal: principal.name, role: principal.role, clientAddress: principal.clientAddress,
                requestID: principal.requestID, action: action, parameters: parameters))
        let started = ContinuousClock.now
        var outcome = "ok"
        var result: [String: String]?
        defer {
            _ = try? record(
                AuditRecord(
                    time: .now(), event: "\(Self.event).end", principal: principal.name, role: principal.role, clientAddress: principal.clientAddress,
                    requestID: principal.requestID, action: action, parameters: result, outcome: outcome,
                    durationSeconds: (ContinuousClock.now - started).secondsDouble, startID: start?.id))
        }
        do {
            let session = try await operation()
            result = ["session_id": session.sessionID, "status": session.status.rawValue]
            if let containerID = session.containerID { result?["container_id"] = containerID }
            if let port = session.port { result?["port"] = String(port) }
            return session
        } catch {
            outcome = (error.httpStatus < 500 ? "refused: " : "failed: ") + error.description
            throw error
        }
    }
}
