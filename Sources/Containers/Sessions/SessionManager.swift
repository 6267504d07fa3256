//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Logging

/// Creates, tracks, stops and removes user sessions: one container per session, run from a template with its limits
/// and published on a port of `port_range`.
///
/// - Every change is written to the ``SessionStore`` before the call returns, so the records survive a restart; on
///   start (and whenever the engine comes back) ``reconcile()`` matches the records with the containers that carry
///   this agent's label: records whose container vanished are closed with the reason, labelled containers without a
///   record are adopted or removed (``ContainerSettings/orphans``), and their ports are never handed out again.
/// - ``run()`` follows the engine's event stream (die, oom, start, destroy reach the records within a second),
///   re-establishes it after the engine restarts, reports the engine ``ContainerEngineStatus/Status/unavailable`` with
///   the reason meanwhile, and runs the reaper every ``ContainerSettings/reapInterval``: TTLs, idle limits, and
///   containers that exited on their own (removed after ``ContainerSettings/keepExited``).
/// - Concurrent creates never get the same port: a port is taken by the session record before the first suspension.
///   A port another listener holds is skipped; one the engine reports taken is retried on the next free one.
///
/// ```swift
/// let manager = try await SessionManager(settings: settings, engine: engine, store: store, logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await manager.run() }
///     let session = try await manager.create(SessionRequest(username: "alice", template: "web"))
/// }
/// ```
public actor SessionManager {
    public let settings: ContainerSettings
    public let engine: DockerEngine
    private let store: SessionStore
    private let logger: Logger
    private let now: @Sendable () -> Timestamp
    private let portIsFree: @Sendable (String, Int) -> Bool
    /// Appends a record to the audit log (``Operations/record(_:)``); nil without one.
    private let audit: (@Sendable (AuditRecord) throws -> AuditRecord?)?

    /// Every record, by session id (the store's rows, kept in memory).
    private var sessions: [String: Session] = [:]
    /// Sessions with an operation in progress (create, stop, start, delete): the reaper and events leave them alone.
    private var busy: Set<String> = []
    /// Busy sessions whose container had an event meanwhile (a create whose container was OOM-killed at once):
    /// brought up to date when the operation ends.
    private var changedWhileBusy: Set<String> = []
    /// Host ports of labelled containers that have no session (a removal that failed): never handed out.
    private var foreignPorts: Set<Int> = []
    /// Where the next port search starts, so that a freed port is not reused at once.
    private var portCursor: Int
    private var engineState = ContainerEngineStatus(status: .unavailable, reason: "not connected yet")
    /// Bytes sent by each session's container when last sampled, for the idle limit.
    private var networkBytes: [String: UInt64] = [:]
    /// Unix seconds of the last event seen, to re-open the stream without a gap.
    private var lastEventSeconds: Int64?

    /// The reason of a session closed because its container was removed by someone else while the agent watched: the
    /// same whichever notices it first (the destroy event, an inspect answering 404 after the die event, an operation).
    static let removedOutside = "the container was removed outside the agent"

    /// How many ports are tried when the engine reports the chosen one taken.
    static let portAttempts = 5

    /// Loads the records from `store`.
    /// - Parameters:
    ///   - now: the wall clock (tests move it).
    ///   - portIsFree: whether a port can be bound on an address (``PortProbe/isFree(address:port:)``).
    ///   - audit: appends to the audit log; the sessions ``reconcile()`` closes or removes by itself are written to it
    ///     (a `session.end` record by the agent with the reason). The API's own changes are audited by
    ///     ``AuditedSessions``.
    /// - Throws: ``SessionStoreError`` when the records cannot be read.
    public init(
        settings: ContainerSettings, engine: DockerEngine, store: SessionStore, logger: Logger, now: @escaping @Sendable () -> Timestamp = { .now() },
        portIsFree: @escaping @Sendable (String, Int) -> Bool = { PortProbe.isFree(address: $0, port: $1) },
        audit: (@Sendable (AuditRecord) throws -> AuditRecord?)? = nil
    ) async throws {
        self.settings = settings
        self.engine = engine
        self.store = store
        self.logger = logger
        self.now = now
        self.portIsFree = portIsFree
        self.audit = audit
        portCursor = settings.portRange.lowerBound
        for session in try await store.all() { sessions[session.sessionID] = session }
    }

    // MARK: - Reading

    /// Every record (removed ones included, until purged), oldest first.
    public func list() -> [Session] {
        sessions.values.sorted { ($0.createdAt, $0.sessionID) < ($1.createdAt, $1.sessionID) }
    }

    /// The record with this id; nil when none.
    public func session(_ id: String) -> Session? { sessions[id] }

    /// The engine's condition.
    public var engineStatus: ContainerEngineStatus { engineState }

    /// The label filter that selects this agent's containers: `io.viworks.agent=<agent id>`.
    public nonisolated var agentLabel: String { "\(SessionLabels.agent)=\(settings.agentID)" }

    // MARK: - Engine connection

    /// Connects to the engine: negotiates the API version, then reconciles. Sets ``engineStatus``.
    /// - Throws: ``ContainerEngineError`` when the engine cannot be used.
    public func connect() async throws {
        do {
            let version = try await engine.negotiate()
            try await reconcile()
            let apiVersion = engine.apiVersion.description
            if engineState.status != .available {
                logger.info("containers: engine available", metadata: ["engine.version": "\(version.version)", "engine.api_version": "\(apiVersion)"])
            }
            engineState = ContainerEngineStatus(status: .available, version: version.version, apiVersion: apiVersion)
        } catch {
            markUnavailable(error)
            throw error
        }
    }

    /// Runs until cancelled: keeps the engine connected (reconnecting with a backoff of 0.25 s to 5 s), applies its
    /// events, and runs the reaper.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.followEngine() }
            group.addTask { await self.reapLoop() }
        }
    }

    private func followEngine() async {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                let since = Int64(now().secondsSinceEpoch) - 1
                try await connect()
                delay = .milliseconds(250)
                try await engine.streamEvents(labels: [agentLabel], since: lastEventSeconds ?? since) { event in
                    await self.apply(event)
                }
            } catch is CancellationError {
                return
            } catch {
                markUnavailable(error)
            }
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            delay = min(delay * 2, .seconds(5))
        }
    }

    private func reapLoop() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: settings.reapInterval)
            } catch {
                return
            }
            await reap()
        }
    }

    private func markUnavailable(_ error: any Error) {
        let reason: String
        switch error {
        case let error as ContainerEngineError: reason = error.unavailableReason ?? error.description
        case let error as SessionStoreError: reason = error.description
        default: reason = "\(error)"
        }
        if engineState.status != .unavailable || engineState.reason != reason {
            logger.info("containers: engine unavailable", metadata: ["reason": "\(reason)"])
        }
        engineState = ContainerEngineStatus(status: .unavailable, version: engineState.version, apiVersion: engineState.apiVersion, reason: reason)
    }

    // MARK: - Create

    /// Creates and starts a session's container.
    /// - Returns: the running session.
    /// - Throws: ``SessionError``: `invalid` naming the field, `userLimit`/`sessionLimit`, `imageMissing`,
    ///   `noFreePort`, `unavailable` (the engine), `engine` (it refused), `storage`.
    public func create(_ request: SessionRequest) async throws(SessionError) -> Session {
        let resolved: ResolvedSessionRequest
        do {
            resolved = try SessionRules.resolve(request, templates: settings.templates)
        } catch {
            throw .invalid(error)
        }
        guard engineState.status == .available else { throw .unavailable(engineState.reason ?? "not connected") }
        let holding = sessions.values.filter { $0.status.holdsContainer }
        guard holding.count < settings.maxSessions else {
            throw .sessionLimit("the host already runs max_sessions (\(settings.maxSessions)) sessions")
        }
        let mine = holding.filter { $0.username == resolved.username }.count
        guard mine < settings.maxSessionsPerUser else {
            throw .userLimit("\(resolved.username) already has \(mine) sessions (max_sessions_per_user = \(settings.maxSessionsPerUser))")
        }
        let created = now()
        let template = resolved.template
        var session = Session(
            sessionID: Self.newSessionID(), username: resolved.username, template: resolved.templateName, status: .creating, createdAt: created,
            memoryLimitBytes: resolved.memory, cpuShares: resolved.cpuShares, expiresAt: resolved.ttl.map { created.adding($0) },
            idleTimeout: template.idleTimeout, cpus: template.cpus, lastActivityAt: created)
        let id = session.sessionID
        // The record counts against the limits from here on, before the first suspension.
        sessions[id] = session
        busy.insert(id)
        defer { release(id) }
        do {
            try await store.save(session)
        } catch {
            sessions[id] = nil
            throw .storage("\(error)")
        }
        do {
            try await ensureImage(template.image)
            var tried: Set<Int> = []
            var started = false
            for _ in 0..<Self.portAttempts {
                guard let port = allocatePort(excluding: tried) else {
                    throw SessionError.noFreePort("no free port in \(settings.portRange.lowerBound)-\(settings.portRange.upperBound) on \(settings.publishAddress)")
                }
                session.port = port
                sessions[id] = session  // the port is held from here on
                let containerID = try await engine.createContainer(name: "viworks-\(resolved.username)-\(id.prefix(12))", createRequest(session, template))
                session.containerID = containerID
                sessions[id] = session
                try await store.save(session)
                do {
                    try await engine.startContainer(containerID)
                    started = true
                    break
                } catch let error as ContainerEngineError where Self.isPortTaken(error) {
                    logger.info("containers: port taken, trying the next", metadata: ["session.id": "\(id)", "port": "\(port)", "error": "\(error)"])
                    tried.insert(port)
                    try? await engine.removeContainer(containerID, force: true)
                    session.containerID = nil
                    session.port = nil
                    sessions[id] = session
                }
            }
            guard started else {
                throw SessionError.noFreePort("the engine reported \(Self.portAttempts) ports in a row as taken: \(tried.sorted())")
            }
            session.status = .running
            sessions[id] = session
            try await store.save(session)
            logger.info(
                "containers: session created",
                metadata: ["session.id": "\(id)", "username": "\(session.username)", "template": "\(session.template)", "port": "\(session.port ?? 0)"])
            return session
        } catch {
            let failure = mapError(error)
            if let containerID = session.containerID { try? await engine.removeContainer(containerID, force: true) }
            let ended = now()
            session.status = .removed
            session.port = nil
            session.stoppedAt = ended
            session.removedAt = ended
            session.reason = "create failed: \(failure)"
            sessions[id] = session
            try? await store.save(session)
            throw failure
        }
    }

    private func ensureImage(_ image: String) async throws {
        if try await engine.inspectImage(image) != nil { return }
        guard settings.pull else {
            throw SessionError.imageMissing("the image \(image) is not on this host and [containers] pull is off")
        }
        try await engine.pullImage(image)
    }

    /// The lowest free port at or after the cursor (wrapping), not held by a session, a foreign container or `tried`,
    /// that can be bound on the publish address.
    private func allocatePort(excluding tried: Set<Int>) -> Int? {
        let range = settings.portRange
        let held = Set(sessions.values.filter { $0.status.holdsContainer }.compactMap(\.port)).union(foreignPorts).union(tried)
        let count = range.count
        for offset in 0..<count {
            let port = range.lowerBound + (portCursor - range.lowerBound + offset) % count
            guard !held.contains(port), portIsFree(settings.publishAddress, port) else { continue }
            portCursor = port + 1 > range.upperBound ? range.lowerBound : port + 1
            return port
        }
        return nil
    }

    private func createRequest(_ session: Session, _ template: SessionTemplate) -> ContainerCreateRequest {
        let containerPort = "\(template.port)/tcp"
        return ContainerCreateRequest(
            image: template.image, cmd: template.command, env: template.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            labels: [
                SessionLabels.agent: settings.agentID, SessionLabels.sessionID: session.sessionID, SessionLabels.username: session.username,
                SessionLabels.template: session.template,
            ],
            exposedPorts: [containerPort: EmptyObject()],
            hostConfig: ContainerCreateRequest.HostConfig(
                memory: session.memoryLimitBytes, memorySwap: session.memoryLimitBytes, cpuShares: session.cpuShares,
                nanoCPUs: template.cpus.map { Int64(($0 * 1e9).rounded()) }, pidsLimit: Int64(template.pidsLimit), initProcess: true,
                readonlyRootfs: template.readOnly, tmpfs: Dictionary(template.tmpfs.map { ($0, "") }, uniquingKeysWith: { first, _ in first }),
                securityOpt: ["no-new-privileges"], capDrop: ["ALL"], capAdd: template.capAdd,
                portBindings: [containerPort: [PortBinding(hostIP: settings.publishAddress, hostPort: "\(session.port ?? 0)")]], privileged: false))
    }

    /// The engine's ways of saying a host port is taken (Docker: "port is already allocated", "address already in use").
    static func isPortTaken(_ error: ContainerEngineError) -> Bool {
        guard case .engine(_, let message) = error else { return false }
        return message.contains("port is already allocated") || message.contains("address already in use")
    }

    // MARK: - Stop, start, delete

    /// Stops a running session's container (SIGTERM, SIGKILL after the grace period); the container and its port are kept.
    /// - Throws: ``SessionError``: `notFound`, `conflict` (not running, or busy), `unavailable`, `engine`, `storage`.
    @discardableResult
    public func stop(_ id: String) async throws(SessionError) -> Session {
        var session = try claim(id, allowed: [.running])
        defer { release(id) }
        do {
            if let containerID = session.containerID {
                try await engine.stopContainer(containerID, gracePeriod: settings.stopGracePeriod)
                let inspect = try await engine.inspectContainer(containerID)
                session.exitCode = inspect.state.exitCode
            }
            session.status = .stopped
            session.stoppedAt = now()
            session.reason = nil
            return try await commit(session)
        } catch {
            let failure = await failed(id, error)
            throw failure
        }
    }

    /// Starts a stopped or exited session's container again.
    /// - Throws: ``SessionError``: `notFound`, `conflict` (not stopped, or busy), `unavailable`, `engine`, `storage`.
    @discardableResult
    public func start(_ id: String) async throws(SessionError) -> Session {
        var session = try claim(id, allowed: [.stopped, .exited, .oomKilled])
        defer { release(id) }
        do {
            guard let containerID = session.containerID else { throw SessionError.conflict("session \(id) has no container") }
            try await engine.startContainer(containerID)
            session.status = .running
            session.stoppedAt = nil
            session.exitCode = nil
            session.reason = nil
            session.lastActivityAt = now()
            return try await commit(session)
        } catch {
            let failure = await failed(id, error)
            throw failure
        }
    }

    /// Stops (with the grace period) and removes a session's container and frees its port; the record stays as `removed`.
    /// - Parameter reason: why, when not a client's request (`ttl expired`).
    /// - Throws: ``SessionError``: `notFound`, `conflict` (already removed, or busy), `unavailable`, `engine`, `storage`.
    @discardableResult
    public func delete(_ id: String, reason: String? = nil) async throws(SessionError) -> Session {
        var session = try claim(id, allowed: [.running, .stopped, .exited, .oomKilled])
        defer { release(id) }
        do {
            if let containerID = session.containerID {
                if session.status == .running {
                    try await engine.stopContainer(containerID, gracePeriod: settings.stopGracePeriod)
                }
                do {
                    let inspect = try await engine.inspectContainer(containerID)
                    if session.status == .running { session.exitCode = inspect.state.exitCode }
                    try await engine.removeContainer(containerID, force: true)
                } catch let error as ContainerEngineError where error.hasStatus(404) {
                    // Already gone: nothing to remove.
                }
            }
            let ended = now()
            session.status = .removed
            session.port = nil
            session.stoppedAt = session.stoppedAt ?? ended
            session.removedAt = ended
            session.reason = reason ?? session.reason
            networkBytes[id] = nil
            logger.info("containers: session removed", metadata: ["session.id": "\(id)", "reason": "\(reason ?? "requested")"])
            return try await commit(session)
        } catch {
            let failure = await failed(id, error)
            throw failure
        }
    }

    /// The session, marked busy, when it exists, is not busy and is in one of `allowed`.
    private func claim(_ id: String, allowed: Set<SessionStatus>) throws(SessionError) -> Session {
        guard let session = sessions[id] else { throw .notFound("no session \(id)") }
        guard !busy.contains(id) else { throw .conflict("another operation on session \(id) is in progress") }
        guard allowed.contains(session.status) else { throw .conflict("session \(id) is \(session.status.rawValue)") }
        guard engineState.status == .available else { throw .unavailable(engineState.reason ?? "not connected") }
        busy.insert(id)
        return session
    }

    /// Ends an operation on `id`; a container event that arrived meanwhile is applied now.
    private func release(_ id: String) {
        busy.remove(id)
        if changedWhileBusy.remove(id) != nil {
            Task { await self.refresh(id) }
        }
    }

    private func commit(_ session: Session) async throws -> Session {
        sessions[session.sessionID] = session
        try await store.save(session)
        return session
    }

    /// Maps an error of an operation on `id`; a container that vanished closes the session.
    private func failed(_ id: String, _ error: any Error) async -> SessionError {
        if let error = error as? ContainerEngineError, error.hasStatus(404), var session = sessions[id], session.status.holdsContainer {
            close(&session, reason: Self.removedOutside)
            try? await store.save(session)
            sessions[id] = session
            return .conflict("the container of session \(id) vanished; the session is closed")
        }
        return mapError(error)
    }

    private func mapError(_ error: any Error) -> SessionError {
        switch error {
        case let error as SessionError: return error
        case let error as ContainerEngineError:
            if let reason = error.unavailableReason {
                markUnavailable(error)
                return .unavailable(reason)
            }
            return .engine(error.description)
        case let error as SessionStoreError: return .storage(error.description)
        default: return .engine("\(error)")
        }
    }

    private func close(_ session: inout Session, reason: String) {
        let ended = now()
        session.status = .removed
        session.port = nil
        session.stoppedAt = session.stoppedAt ?? ended
        session.removedAt = ended
        session.reason = reason
        networkBytes[session.sessionID] = nil
    }

    // MARK: - Events and state

    /// Applies one engine event: the container's session is brought up to date from its inspect document.
    func apply(_ event: EngineEvent) async {
        if let nanoseconds = event.timeNano { lastEventSeconds = nanoseconds / 1_000_000_000 }
        guard event.type == "container", ["start", "die", "oom", "destroy", "stop", "kill", "restart"].contains(event.action) else { return }
        guard let session = sessions.values.first(where: { $0.containerID == event.actor.id && $0.status.holdsContainer }) else { return }
        if busy.contains(session.sessionID) {
            changedWhileBusy.insert(session.sessionID)
            return
        }
        guard session.status != .creating else { return }
        if event.action == "destroy" {
            var closed = session
            close(&closed, reason: Self.removedOutside)
            sessions[closed.sessionID] = closed
            try? await store.save(closed)
            return
        }
        await refresh(session.sessionID)
    }

    /// Brings a session up to date from its container's inspect document.
    private func refresh(_ id: String) async {
        guard let session = sessions[id], let containerID = session.containerID else { return }
        let inspect: ContainerInspect?
        do {
            inspect = try await engine.inspectContainer(containerID)
        } catch let error as ContainerEngineError where error.hasStatus(404) {
            inspect = nil
        } catch {
            return
        }
        // The session may have changed while the engine answered.
        guard var current = sessions[id], current.status.holdsContainer, current.status != .creating, !busy.contains(id) else { return }
        guard let inspect else {
            close(&current, reason: Self.removedOutside)
            sessions[id] = current
            try? await store.save(current)
            return
        }
        let before = current
        Self.update(&current, from: inspect, now: now())
        if current != before {
            sessions[id] = current
            try? await store.save(current)
        }
    }

    /// The session's status from its container's state: a running container is `running`; one that ended on its own
    /// is `exited` or `oom_killed` with its exit code and end time; a stopped session stays stopped. An `exited` session
    /// whose container turns out OOM-killed becomes `oom_killed`: the engine may record the kill after the die event.
    static func update(_ session: inout Session, from inspect: ContainerInspect, now: Timestamp) {
        if inspect.state.running {
            if session.status != .running {
                session.status = .running
                session.stoppedAt = nil
                session.exitCode = nil
            }
            return
        }
        guard session.status == .running || (session.status == .exited && inspect.state.oomKilled) else { return }
        session.status = inspect.state.oomKilled ? .oomKilled : .exited
        session.exitCode = inspect.state.exitCode
        session.stoppedAt = inspect.state.finishedAt.flatMap { Timestamp(rfc3339: $0) }.flatMap { $0.nanosecondsSinceEpoch > 0 ? $0 : nil } ?? now
        session.reason = inspect.state.oomKilled ? "killed for exceeding its memory limit" : "the container exited with code \(inspect.state.exitCode)"
    }

    // MARK: - Reconcile

    /// Matches the records with the engine's containers that carry this agent's label:
    /// - a record whose container vanished is closed (`removed`) with the reason;
    /// - a record left `creating` by a previous run is closed and its container, if any, removed;
    /// - a record's status follows its container's state;
    /// - a labelled container without a record is adopted or removed (``ContainerSettings/orphans``); one whose record
    ///   is already closed is removed;
    /// - the host ports of labelled containers are never handed out to a new session.
    /// - Throws: ``ContainerEngineError`` when the engine cannot be listed.
    public func reconcile() async throws {
        let containers = try await engine.listContainers(labels: [agentLabel], all: true)
        var byID: [String: ContainerSummary] = [:]
        for container in containers { byID[container.id] = container }
        var claimed: Set<String> = []
        for id in sessions.keys.sorted() {
            guard let session = sessions[id], session.status.holdsContainer, !busy.contains(id) else { continue }
            if session.status == .creating {
                let leftovers = containers.filter { $0.labels[SessionLabels.sessionID] == id }.map(\.id) + [session.containerID].compactMap { $0 }
                var failures: [String] = []
                for containerID in Set(leftovers).sorted() {
                    do {
                        try await engine.removeContainer(containerID, force: true)
                    } catch {
                        failures.append("\(containerID): \(error)")
                    }
                }
                claimed.formUnion(leftovers)
                var closed = session
                close(&closed, reason: "the agent stopped while the session was being created")
                sessions[id] = closed
                try? await store.save(closed)
                auditRemoval(closed, containers: Set(leftovers).sorted(), failure: failures.isEmpty ? nil : failures.joined(separator: "; "))
                continue
            }
            if let containerID = session.containerID, byID[containerID] != nil {
                claimed.insert(containerID)
                await refresh(id)
            } else {
                var closed = session
                close(&closed, reason: "the container vanished while the agent was not watching")
                sessions[id] = closed
                try? await store.save(closed)
                auditRemoval(closed, containers: [], failure: nil)
                logger.info("containers: session closed, its container vanished", metadata: ["session.id": "\(id)"])
            }
        }
        var foreign: Set<Int> = []
        for container in containers where !claimed.contains(container.id) {
            let sessionID = container.labels[SessionLabels.sessionID]
            // A container of a session being created, stopped or removed right now belongs to that operation.
            if let sessionID, busy.contains(sessionID) { continue }
            let known = sessionID.flatMap { sessions[$0] }
            if known == nil, settings.orphans == .adopt, let adopted = await adopt(container) {
                sessions[adopted.sessionID] = adopted
                try? await store.save(adopted)
                logger.info("containers: adopted a labelled container without a record", metadata: ["session.id": "\(adopted.sessionID)"])
                continue
            }
            do {
                try await engine.removeContainer(container.id, force: true)
                if known == nil, let sessionID, let username = container.labels[SessionLabels.username] {
                    let ended = now()
                    let orphan = Session(
                        sessionID: sessionID, username: username, template: container.labels[SessionLabels.template] ?? "", containerID: container.id,
                        status: .orphaned, createdAt: Timestamp(seconds: container.created, nanoseconds: 0), stoppedAt: ended, memoryLimitBytes: 0,
                        cpuShares: 0, reason: "removed at start: a labelled container without a record", removedAt: ended)
                    sessions[sessionID] = orphan
                    try? await store.save(orphan)
                    auditRemoval(orphan, containers: [container.id], failure: nil)
                } else {
                    let reason = known == nil ? "removed at start: a labelled container without a record" : "removed at start: its session was already closed"
                    let session = known ?? Session(
                        sessionID: sessionID ?? "", username: container.labels[SessionLabels.username] ?? "", template: container.labels[SessionLabels.template] ?? "",
                        containerID: container.id, status: .orphaned, createdAt: Timestamp(seconds: container.created, nanoseconds: 0), memoryLimitBytes: 0,
                        cpuShares: 0)
                    auditRemoval(session, containers: [container.id], failure: nil, reason: reason)
                }
                logger.info("containers: removed a labelled container without an open record", metadata: ["container.id": "\(container.id)"])
            } catch {
                foreign.formUnion(container.ports.compactMap(\.publicPort))
            }
        }
        foreignPorts = foreign
    }

    /// Writes the `session.end` record of a session that reconciliation closed or whose container it removed: by the
    /// agent (`viworks-agent`, role `agent`), action `remove <session id>` (`close <session id>` when no container was
    /// left to remove), with the session id, the containers removed
    /// (comma-separated), the status and the reason; outcome `ok`, or `failed: …` when a removal failed. An audit log
    /// that cannot be written is logged; reconciliation goes on (the engine's state is already changed).
    private func auditRemoval(_ session: Session, containers: [String], failure: String?, reason: String? = nil) {
        guard let audit else { return }
        var parameters = ["session_id": session.sessionID, "status": session.status.rawValue, "reason": reason ?? session.reason ?? ""]
        if !containers.isEmpty { parameters["container_id"] = containers.joined(separator: ",") }
        if !session.username.isEmpty { parameters["username"] = session.username }
        do {
            _ = try audit(
                AuditRecord(
                    time: now(), event: "session.end", principal: Requester.agent.name, role: Requester.agent.role,
                    action: "\(containers.isEmpty ? "close" : "remove") \(session.sessionID)",
                    parameters: parameters, outcome: failure.map { "failed: \($0)" } ?? "ok"))
        } catch {
            logger.error("containers: the removal could not be audited", metadata: ["session.id": "\(session.sessionID)", "error": "\(error)"])
        }
    }

    /// A session record for a labelled container found without one; nil when its labels do not name a session.
    private func adopt(_ container: ContainerSummary) async -> Session? {
        guard let sessionID = container.labels[SessionLabels.sessionID], let username = container.labels[SessionLabels.username],
            let inspect = try? await engine.inspectContainer(container.id)
        else { return nil }
        let template = container.labels[SessionLabels.template] ?? ""
        let port = settings.templates[template].flatMap { inspect.hostPort(for: $0.port) } ?? container.ports.compactMap(\.publicPort).first
        var session = Session(
            sessionID: sessionID, username: username, template: template, containerID: container.id, port: port, status: .running,
            createdAt: Timestamp(seconds: container.created, nanoseconds: 0), memoryLimitBytes: inspect.hostConfig?.memory ?? 0,
            cpuShares: inspect.hostConfig?.cpuShares ?? 0, reason: "adopted at start: the container had no record",
            idleTimeout: settings.templates[template]?.idleTimeout, cpus: inspect.hostConfig?.nanoCPUs.flatMap { $0 > 0 ? Double($0) / 1e9 : nil },
            lastActivityAt: now())
        if let ttl = settings.templates[template]?.ttl { session.expiresAt = session.createdAt.adding(ttl) }
        if !inspect.state.running {
            session.status = .stopped
            session.exitCode = inspect.state.exitCode
            session.stoppedAt = now()
        }
        return session
    }

    // MARK: - Reaper

    /// One pass of the reaper: removes sessions past their TTL or idle limit, and containers that exited on their own
    /// longer than ``ContainerSettings/keepExited`` ago (several at once: a grace period each does not add up), then
    /// forgets removed records older than ``ContainerSettings/keepRecords``. Does nothing while the engine is
    /// unavailable.
    public func reap() async {
        guard engineState.status == .available else { return }
        let current = now()
        var removals: [(id: String, reason: String)] = []
        var sampled: [(id: String, containerID: String)] = []
        for session in list() where session.status.holdsContainer && session.status != .creating && !busy.contains(session.sessionID) {
            let id = session.sessionID
            if let expires = session.expiresAt, expires <= current {
                removals.append((id, "ttl expired"))
            } else if session.status == .exited || session.status == .oomKilled, let stopped = session.stoppedAt,
                stopped.adding(settings.keepExited) <= current
            {
                let code = session.exitCode.map(String.init) ?? "unknown"
                removals.append((id, "\(session.status.rawValue) (exit code \(code)); removed after keep_exited"))
            } else if session.status == .running, session.idleTimeout != nil, let containerID = session.containerID {
                sampled.append((id, containerID))
            }
        }
        // Idle limits: bytes sent by the container are activity (it answered someone); received bytes are not, since
        // broadcasts on the shared bridge reach every container. A one-shot sample can take up to a second (the
        // engine's collection tick), so the containers are sampled together.
        let engine = self.engine
        let samples = await withTaskGroup(of: (String, UInt64?).self) { group in
            for (id, containerID) in sampled {
                group.addTask { (id, try? await engine.stats(containerID).sentBytes) }
            }
            return await group.reduce(into: [String: UInt64]()) { result, sample in
                if let bytes = sample.1 { result[sample.0] = bytes }
            }
        }
        let sampledAt = now()
        for (id, _) in sampled {
            guard var session = sessions[id], session.status == .running, !busy.contains(id), let idle = session.idleTimeout else { continue }
            if let bytes = samples[id], networkBytes[id] != bytes {
                // A change is activity; so is a first sample with bytes already sent (when is unknown: now, to be safe).
                if networkBytes[id] != nil || bytes > 0 { session.lastActivityAt = sampledAt }
                networkBytes[id] = bytes
                sessions[id] = session
            }
            if let last = session.lastActivityAt, last.adding(idle) <= sampledAt {
                removals.append((id, "idle for \(SessionRules.format(idle))"))
            }
        }
        await withDiscardingTaskGroup { group in
            for removal in removals {
                group.addTask { _ = try? await self.delete(removal.id, reason: removal.reason) }
            }
        }
        let forgetBefore = current.adding(.zero - settings.keepRecords)
        let forgotten = sessions.values.filter { !$0.status.holdsContainer && ($0.removedAt ?? current) < forgetBefore }.map(\.sessionID)
        if !forgotten.isEmpty, (try? await store.purge(removedBefore: forgetBefore)) != nil {
            for id in forgotten { sessions[id] = nil }
        }
    }

    static func newSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

extension Timestamp {
    /// This instant plus `duration`, saturating.
    func adding(_ duration: Duration) -> Timestamp {
        let (sum, overflow) = nanosecondsSinceEpoch.addingReportingOverflow(SessionStore.nanoseconds(duration))
        return Timestamp(nanosecondsSinceEpoch: overflow ? Int64.max : sum)
    }
}

/// The API reaches the manager through ``SessionControl`` (declared in the runtime, injected by the executable).
extension SessionManager: SessionControl {
    /// The configured templates (``ContainerSettings/templates``).
    public nonisolated var templates: [String: SessionTemplate] { settings.templates }

    /// ``delete(_:reason:)`` on a client's request (no reason recorded).
    public func delete(_ id: String) async throws(SessionError) -> Session {
        try await delete(id, reason: nil)
    }
}
