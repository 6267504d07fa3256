//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Logging
public import NIOCore
import NIOSSL
public import PostgresNIO

/// The backend database of `[outputs.postgresql]`: a `PostgresClient` pool (created per connection episode, so that a
/// database that comes back is reached at once and a rotated password file is read again), the schema, the inserts.
public struct PostgreSQLDatabase: Sendable {
    public let settings: PostgreSQLOutputSettings
    /// The `agent_id` of every inserted row.
    public let agentID: String
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger

    public init(settings: PostgreSQLOutputSettings, agentID: String, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.settings = settings
        self.agentID = agentID
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The password: the first line of `password_file`, or nil without one.
    func password() throws -> String? {
        guard let path = settings.passwordFile else { return nil }
        do {
            let text = try HostFile.read(path, limit: 1 << 20)
            return text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map { $0.trimmingASCIIWhitespace() } ?? ""
        } catch {
            throw OutputError("cannot read password_file \(path): \(error.reason)")
        }
    }

    /// The TLS configuration of `tls` and `ca_file`; nil for `disable`.
    func tlsConfiguration() -> TLSConfiguration? {
        switch settings.tls {
        case .disable:
            return nil
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return configuration
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
            return configuration
        }
    }

    /// A pool of at most `maximumConnections` connections (the output uses one at a time; the second covers a
    /// replacement). Run it (`run()`) in a task while it is used.
    public func makeClient(maximumConnections: Int = 2) throws -> PostgresClient {
        let tls: PostgresClient.Configuration.TLS = tlsConfiguration().map { .require($0) } ?? .disable
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: try password(), database: settings.database, tls: tls)
        configuration.options.connectTimeout = min(settings.timeout, .seconds(30))
        configuration.options.maximumConnections = max(1, maximumConnections)
        configuration.options.minimumConnections = 0
        configuration.options.additionalStartupParameters = [("application_name", settings.applicationName)]
        configuration.options.tlsServerName = settings.tls == .verifyFull ? settings.host : nil
        var background = logger
        background.logLevel = max(logger.logLevel, .warning)
        return PostgresClient(configuration: configuration, eventLoopGroup: eventLoopGroup, backgroundLogger: background)
    }

    /// Why a connection cannot be made, found with one direct connection outside the pool (whose own attempts report
    /// nothing to the waiting request): nil when it connects.
    func diagnoseConnection() async -> String? {
        do {
            let tls: PostgresConnection.Configuration.TLS = try tlsConfiguration().map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
            var configuration = PostgresConnection.Configuration(
                host: settings.host, port: settings.port, username: settings.user, password: try password(), database: settings.database, tls: tls)
            configuration.options.connectTimeout = .nanoseconds(Int64(min(settings.timeout, .seconds(30)).secondsDouble * 1e9))
            configuration.options.tlsServerName = settings.tls == .verifyFull ? settings.host : nil
            configuration.options.additionalStartupParameters = [("application_name", settings.applicationName)]
            let (logger, ready) = (self.logger, configuration)
            let connection = try await withDeadline(settings.timeout, clock: ContinuousClock()) {
                try await PostgresConnection.connect(on: eventLoopGroup.any(), configuration: ready, id: 0, logger: logger).get()
            }
            try? await connection.close()
            return nil
        } catch {
            return Self.describe(error)
        }
    }

    // MARK: - Schema

    /// Runs schema.sql (tables and unique keys created when missing), then checks every table has the unique key that
    /// makes a retried insert harmless. Returns the tables without it, each with the statement that adds it.
    public func prepareSchema(_ client: PostgresClient) async throws -> [(table: String, statement: String)] {
        let extended = settings.extended
        for statement in BackendSchema.statements + (extended ? BackendSchema.extendedStatements : []) {
            do {
                try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            } catch let error as PSQLError where error.serverInfo != nil {
                // A table made by hand that the agent may not index (not its owner) or whose rows are already duplicated:
                // the check below says what is missing.
                logger.debug("outputs.postgresql: schema statement refused", metadata: ["statement": "\(statement)", "error": "\(Self.describe(error))"])
            }
        }
        var missing: [(String, String)] = []
        for key in BackendSchema.uniqueKeys + (extended ? BackendSchema.extendedUniqueKeys : []) {
            let columns = key.columns.sorted()
            let rows = try await client.query(
                """
                SELECT count(*)::int8 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                WHERE c.relname = \(key.table) AND pg_table_is_visible(c.oid) AND i.indisunique AND i.indpred IS NULL
                  AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attnum = ANY(i.indkey)) = \(columns)::text[]
                """, logger: logger)
            var count: Int64 = 0
            for try await row in rows.decode(Int64.self) { count = row }
            if count == 0 { missing.append((key.table, key.statement)) }
        }
        return missing
    }

    // MARK: - Inserts

    /// Inserts `rows` (outbox order) in one transaction: each table with one `INSERT … SELECT FROM unnest(…) …
    /// ON CONFLICT DO NOTHING`, in `seq` order so that `id` grows with time. `container_sessions` rows are upserts on
    /// `(agent_id, session_id)` (the last change of a session in the batch wins), or plain inserts when
    /// `sessionsKeyed` is false (the table lacks that key: each change is then a row of its own).
    public func insert(_ rows: [OutboxRow], client: PostgresClient, sessionsKeyed: Bool = true) async throws {
        let metrics = rows.filter { $0.table == .agentMetrics }
        let services = rows.filter { $0.table == .serviceStatus }
        let filesystems = rows.filter { $0.table == .agentFilesystems }
        let networks = rows.filter { $0.table == .agentNetwork }
        var sessions = rows.filter { $0.table == .containerSessions }
        if sessionsKeyed {
            var last: [String: Int] = [:]
            for (index, row) in sessions.enumerated() { last[row.sessionID ?? ""] = index }
            sessions = sessions.enumerated().filter { last[$0.element.sessionID ?? ""] == $0.offset }.map(\.element)
        }
        let agentID = self.agentID
        try await client.withTransaction(logger: logger) { connection in
            if !metrics.isEmpty {
                let times = metrics.map { OutboxRow.timestampText($0.collectedAtMicroseconds) }
                let cpu = metrics.map { $0.cpuUsage ?? "" }
                let memory = metrics.map { $0.memoryUsage ?? "" }
                let load1 = metrics.map { $0.loadAverage1m ?? "" }
                let load5 = metrics.map { $0.loadAverage5m ?? "" }
                let load15 = metrics.map { $0.loadAverage15m ?? "" }
                let uptime = metrics.map { $0.uptimeSeconds.map(String.init) ?? "" }
                try await connection.query(
                    """
                    INSERT INTO agent_metrics (agent_id, timestamp, cpu_usage, memory_usage, load_average_1m, load_average_5m,
                        load_average_15m, uptime_seconds)
                    SELECT \(agentID), t::timestamp, NULLIF(c, '')::numeric, NULLIF(m, '')::numeric, NULLIF(l1, '')::numeric,
                        NULLIF(l5, '')::numeric, NULLIF(l15, '')::numeric, NULLIF(u, '')::int8
                    FROM unnest(\(times)::text[], \(cpu)::text[], \(memory)::text[], \(load1)::text[], \(load5)::text[], \(load15)::text[],
                        \(uptime)::text[]) WITH ORDINALITY AS r(t, c, m, l1, l5, l15, u, n)
                    ORDER BY n
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            if !services.isEmpty {
                let times = services.map { OutboxRow.timestampText($0.collectedAtMicroseconds) }
                let names = services.map { $0.serviceName ?? "" }
                let statuses = services.map { $0.status ?? "" }
                let pids = services.map { $0.pid.map(String.init) ?? "" }
                try await connection.query(
                    """
                    INSERT INTO service_status (agent_id, timestamp, service_name, status, pid)
                    SELECT \(agentID), t::timestamp, s, NULLIF(st, ''), NULLIF(p, '')::int4
                    FROM unnest(\(times)::text[], \(names)::text[], \(statuses)::text[], \(pids)::text[]) WITH ORDINALITY AS r(t, s, st, p, n)
                    ORDER BY n
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            if !sessions.isEmpty {
                let ids = sessions.map { $0.sessionID ?? "" }
                let containers = sessions.map { $0.containerID ?? "" }
                let users = sessions.map { $0.username ?? "" }
                let ports = sessions.map { $0.port.map(String.init) ?? "" }
                let statuses = sessions.map { $0.status ?? "" }
                let created = sessions.map { $0.createdAtMicroseconds.map(OutboxRow.timestampText) ?? "" }
                let stopped = sessions.map { $0.stoppedAtMicroseconds.map(OutboxRow.timestampText) ?? "" }
                let conflict: PostgresQuery =
                    sessionsKeyed
                    ? """
                    ON CONFLICT (agent_id, session_id) DO UPDATE SET container_id = EXCLUDED.container_id, port = EXCLUDED.port,
                        status = EXCLUDED.status, stopped_at = EXCLUDED.stopped_at
                    WHERE (container_sessions.container_id, container_sessions.port, container_sessions.status, container_sessions.stopped_at)
                        IS DISTINCT FROM (EXCLUDED.container_id, EXCLUDED.port, EXCLUDED.status, EXCLUDED.stopped_at)
                    """ : "ON CONFLICT DO NOTHING"
                var query: PostgresQuery = """
                    INSERT INTO container_sessions (agent_id, container_id, username, session_id, port, status, created_at, stopped_at)
                    SELECT \(agentID), NULLIF(c, ''), u, s, NULLIF(p, '')::int4, NULLIF(st, ''), NULLIF(cr, '')::timestamp, NULLIF(sp, '')::timestamp
                    FROM unnest(\(ids)::text[], \(containers)::text[], \(users)::text[], \(ports)::text[], \(statuses)::text[], \(created)::text[],
                        \(stopped)::text[]) WITH ORDINALITY AS r(s, c, u, p, st, cr, sp, n)
                    ORDER BY n

                    """
                query.sql += conflict.sql
                try await connection.query(query, logger: logger)
            }
            if !filesystems.isEmpty {
                let times = filesystems.map { OutboxRow.timestampText($0.collectedAtMicroseconds) }
                let mounts = filesystems.map { $0.mountPoint ?? "" }
                let types = filesystems.map { $0.fsType ?? "" }
                let totals = filesystems.map { $0.totalBytes.map(String.init) ?? "" }
                let used = filesystems.map { $0.usedBytes.map(String.init) ?? "" }
                let available = filesystems.map { $0.availableBytes.map(String.init) ?? "" }
                let usage = filesystems.map { $0.usagePercent ?? "" }
                try await connection.query(
                    """
                    INSERT INTO agent_filesystems (agent_id, timestamp, mount_point, fs_type, total_bytes, used_bytes, available_bytes, usage_percent)
                    SELECT \(agentID), t::timestamp, m, NULLIF(f, ''), NULLIF(tb, '')::int8, NULLIF(ub, '')::int8, NULLIF(ab, '')::int8,
                        NULLIF(u, '')::numeric
                    FROM unnest(\(times)::text[], \(mounts)::text[], \(types)::text[], \(totals)::text[], \(used)::text[], \(available)::text[],
                        \(usage)::text[]) WITH ORDINALITY AS r(t, m, f, tb, ub, ab, u, n)
                    ORDER BY n
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            if !networks.isEmpty {
                let times = networks.map { OutboxRow.timestampText($0.collectedAtMicroseconds) }
                let sent = networks.map { $0.bytesSent.map(String.init) ?? "" }
                let received = networks.map { $0.bytesReceived.map(String.init) ?? "" }
                try await connection.query(
                    """
                    INSERT INTO agent_network (agent_id, timestamp, bytes_sent, bytes_received)
                    SELECT \(agentID), t::timestamp, NULLIF(s, '')::int8, NULLIF(r, '')::int8
                    FROM unnest(\(times)::text[], \(sent)::text[], \(received)::text[]) WITH ORDINALITY AS x(t, s, r, n)
                    ORDER BY n
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
        }
    }

    // MARK: - Errors

    /// A readable reason: the server's message and SQLSTATE, the connection's underlying error, or the error itself.
    /// (`PSQLError`'s own description hides everything on purpose.)
    public static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = error.underlying { return "\(error.code): \(describe(underlying))" }
            return "\(error.code)"
        }
        if let error = error as? CollectorError, case .timedOut(let limit) = error {
            return "no answer within \(limit.secondsDouble) s"
        }
        return "\(error)"
    }
}

/// A failure of the output with its reason.
struct OutputError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
