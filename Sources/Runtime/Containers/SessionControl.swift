//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// What the API does with user sessions in containers: the session manager of the containers module conforms, the
/// executable injects it, and the server sees only this protocol.
///
/// Reads answer from the manager's records in memory (they never call the engine); changes call the engine and write
/// the record before they return. Every change throws ``SessionError``, whose ``SessionError/httpStatus`` and
/// ``SessionError/code`` are the API's answer.
public protocol SessionControl: Sendable {
    /// The configured templates by name (`[containers.templates.<name>]`), which a create request is checked against.
    var templates: [String: SessionTemplate] { get }
    /// Every session record (removed ones until `keep_records`), oldest first.
    func list() async -> [Session]
    /// The session with this id; nil when there is none.
    func session(_ id: String) async -> Session?
    /// The engine: `available` with its version, or `unavailable` with the reason.
    var engineStatus: ContainerEngineStatus { get async }
    /// Creates and starts a container from the request's template; returns the `running` session with its port.
    func create(_ request: SessionRequest) async throws(SessionError) -> Session
    /// Stops a running session's container; the container and its port are kept.
    func stop(_ id: String) async throws(SessionError) -> Session
    /// Starts a stopped or exited session's container again.
    func start(_ id: String) async throws(SessionError) -> Session
    /// Stops and removes a session's container and frees its port; the record stays, `removed`.
    func delete(_ id: String) async throws(SessionError) -> Session
}

/// The containers and the engine as last collected, for `/api/v1/status` (`containers`, `engine`) and `/metrics`
/// (`viworks_container_*`): the container monitor of the containers module conforms, the executable injects it.
/// Reading it never calls the engine.
public protocol ContainerStatusSource: Sendable {
    /// The last collected view.
    var view: ContainersView { get }
    /// Changes whenever ``view`` does (for the response cache).
    var generation: UInt64 { get }
}
