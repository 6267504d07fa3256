//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Logging
public import NIOCore
import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// `[outputs.postgresql]`: every collection pushed into the backend's PostgreSQL in the specification's schema, exactly
/// once from the backend's point of view, and every change of a container session as an upsert of its
/// `container_sessions` row.
///
/// Each collection's rows go into the durable ``Outbox`` first (``CollectionRecorder``), in one SQLite transaction.
/// Every `interval` the oldest waiting rows are sent in batches of `batch_size`, each batch one PostgreSQL transaction
/// (`INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`), and marked delivered only after the commit: delivery is
/// at least once, and the tables' unique keys (`(agent_id, timestamp)`, `(agent_id, timestamp, service_name)`) make a
/// repeated batch a no-op. A failed attempt is retried after an exponential backoff (1 s doubling, capped at
/// max(30 s, `interval`), with jitter) with a new connection pool. The state is on the ``OutputBoard``.
public final class PostgreSQLOutput: Service {
    /// The output's name in status, metrics and logs.
    public static let name = "postgresql"

    private let settings: PostgreSQLOutputSettings
    private let outbox: Outbox
    private let recorder: CollectionRecorder
    private let database: PostgreSQLDatabase
    private let bus: MetricsBus
    private let board: OutputBoard
    /// The bus's quiet time that completes a collection.
    private let settle: Duration
    /// The container sessions now (nil without containers): read every second, each change stored as an upsert.
    private let sessions: (@Sendable () async -> [SessionRecord])?
    /// False when `container_sessions` lacks its `(agent_id, session_id)` key: changes are then inserted, not upserted.
    private let sessionsKeyed = Mutex(true)
    private let logger: Logger

    /// The output of `configuration`, or nil when it is disabled. Its outbox is `<state_directory>/outbox.db`.
    /// - Parameters:
    ///   - agentID: ``AgentIdentity/resolve(configured:paths:)``.
    ///   - board: where the state goes; it must list ``name``.
    ///   - eventLoopGroup: the loops of the database connections.
    ///   - sessions: the container sessions now; nil without containers.
    /// - Throws: when the outbox cannot be opened.
    public static func make(
        _ configuration: AgentConfiguration, agentID: String, bus: MetricsBus, board: OutputBoard, eventLoopGroup: any EventLoopGroup,
        sessions: (@Sendable () async -> [SessionRecord])? = nil, logger: Logger
    ) throws -> PostgreSQLOutput? {
        let settings = configuration.outputs.postgresql
        guard settings.enabled else { return nil }
        let path = (configuration.stateDirectory.hasSuffix("/") ? configuration.stateDirectory : configuration.stateDirectory + "/") + "outbox.db"
        let outbox = try Outbox(path: path)
        return PostgreSQLOutput(
            settings: settings, outbox: outbox, agentID: agentID, collectionInterval: configuration.interval, bus: bus, board: board,
            eventLoopGroup: eventLoopGroup, sessions: sessions, logger: logger)
    }

    init(
        settings: PostgreSQLOutputSettings, outbox: Outbox, agentID: String, collectionInterval: Duration, bus: MetricsBus, board: OutputBoard,
        eventLoopGroup: any EventLoopGroup, sessions: (@Sendable () async -> [SessionRecord])?, logger: Logger
    ) {
        self.sessions = sessions
        self.settings = settings
        self.outbox = outbox
        self.bus = bus
        self.board = board
        self.logger = logger
        self.settle = min(max(collectionInterval / 4, .milliseconds(50)), .seconds(1))
        self.recorder = CollectionRecorder(
            outbox: outbox, limits: Outbox.Limits(maxRows: settings.maxBacklogRows, maxAge: settings.maxBacklogAge), extended: settings.extended,
            board: board, name: Self.name,
            logger: logger)
        self.database = PostgreSQLDatabase(settings: settings, agentID: agentID, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    public func run() async throws {
        logger.info(
            "outputs.\(Self.name): pushing collections",
            metadata: [
                "host": "\(HostName.endpoint(settings.host, settings.port))", "database": "\(settings.database)", "user": "\(settings.user)",
                "agent_id": "\(database.agentID)", "tls": "\(settings.tls.rawValue)", "outbox": "\(outbox.path)",
            ])
        if let backlog = try? outbox.backlog() {
            board.update(Self.name) { state in
                state.backlogRows = backlog.rows
                state.oldestBacklogAt = backlog.oldestMicroseconds.map { Timestamp(nanosecondsSinceEpoch: $0 &* 1000) }
            }
        }
        let stream = await bus.subscribe(name: "outputs.\(Self.name)", bufferingNewest: 256)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await batch in stream { await self.recorder.apply(batch) }
                }
                group.addTask {
                    while (try? await Task.sleep(for: self.settle)) != nil { await self.recorder.recordIfQuiet(settle: self.settle) }
                }
                if let sessions = self.sessions {
                    group.addTask {
                        repeat { await self.recorder.recordSessions(await sessions()) } while (try? await Task.sleep(for: .seconds(1))) != nil
                    }
                }
                group.addTask { await self.push() }
                await group.next()
                group.cancelAll()
            }
        }
        await recorder.record()
        try? outbox.close()
    }

    // MARK: - Pushing

    /// A pool and the task that runs it.
    private struct Connection {
        let client: PostgresClient
        let runner: Task<Void, Never>

        func close() { runner.cancel() }
    }

    /// Pushes every `interval` until cancelled; retries failures with backoff.
    func push() async {
        var connection: Connection?
        var failures = 0
        var schemaReady = false
        while !Task.isCancelled {
            do {
                if connection == nil {
                    let client = try database.makeClient()
                    connection = Connection(client: client, runner: Task { await client.run() })
                    schemaReady = false
                }
                guard let client = connection?.client else { continue }
                if !schemaReady {
                    let database = self.database
                    let missing = try await withDeadline(settings.timeout, clock: ContinuousClock()) { try await database.prepareSchema(client) }
                    sessionsKeyed.withLock { $0 = !missing.contains { $0.table == "container_sessions" } }
                    for (table, statement) in missing {
                        logger.warning(
                            "outputs.\(Self.name): table \(table) has no unique key on the agent's columns: a retried push can store a row twice. Its owner adds the key with: \(statement)",
                            metadata: ["table": "\(table)"])
                    }
                    schemaReady = true
                }
                try await drain(client)
                if failures > 0 {
                    logger.notice("outputs.\(Self.name): delivering again", metadata: ["failed_attempts": "\(failures)"])
                }
                failures = 0
                try await Task.sleep(for: settings.interval)
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                failures += 1
                var reason = PostgreSQLDatabase.describe(error)
                if case .timedOut = error as? CollectorError, let diagnosis = await database.diagnoseConnection() {
                    reason = "cannot connect to \(HostName.endpoint(settings.host, settings.port)): \(diagnosis)"
                }
                let previous = board.state(Self.name)?.lastError
                board.update(Self.name) { state in
                    state.consecutiveFailures = failures
                    state.retries &+= 1
                    state.lastError = reason
                    state.lastErrorAt = .now()
                }
                let delay = Self.backoff(failures: failures, interval: settings.interval)
                if failures == 1 || reason != previous {
                    logger.warning(
                        "outputs.\(Self.name): push failed, retrying",
                        metadata: ["error": "\(reason)", "attempt": "\(failures)", "retry_in": "\(delay.secondsDouble)s"])
                }
                connection?.close()
                connection = nil
                do { try await Task.sleep(for: delay) } catch { break }
            }
        }
        connection?.close()
    }

    /// Sends waiting rows, `batch_size` at a time, until none is left; each batch within `timeout`.
    private func drain(_ client: PostgresClient) async throws {
        let database = self.database
        let sessionsKeyed = self.sessionsKeyed.withLock { $0 }
        while true {
            let rows = try outbox.waiting(limit: settings.batchSize)
            if rows.isEmpty {
                // Nothing was sent: `last_success_at` stays the last push (so status changes only when something happened).
                board.update(Self.name) { state in
                    state.consecutiveFailures = 0
                    state.backlogRows = 0
                    state.oldestBacklogAt = nil
                }
                return
            }
            try await withDeadline(settings.timeout, clock: ContinuousClock()) { try await database.insert(rows, client: client, sessionsKeyed: sessionsKeyed) }
            let last = rows[rows.count - 1].seq
            try outbox.markDelivered(through: last, at: .now())
            let backlog = try outbox.backlog()
            board.update(Self.name) { state in
                state.consecutiveFailures = 0
                state.lastSuccessAt = .now()
                state.rowsSent &+= UInt64(rows.count)
                state.backlogRows = backlog.rows
                state.oldestBacklogAt = backlog.oldestMicroseconds.map { Timestamp(nanosecondsSinceEpoch: $0 &* 1000) }
            }
            if rows.count < settings.batchSize { return }
        }
    }

    /// 1 s doubling per failed attempt, capped at max(30 s, `interval`), times a random factor in [0.5, 1] (jitter, so
    /// that a fleet does not retry in step).
    static func backoff(failures: Int, interval: Duration) -> Duration {
        let cap = max(.seconds(30), interval).secondsDouble
        let base = min(cap, Double(1 << min(max(failures - 1, 0), 20)))
        return .milliseconds(Int64(base * Double.random(in: 0.5...1.0) * 1000))
    }
}
