//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// `[outputs]`: where the agent pushes its collections besides serving them.
public struct OutputSettings: Sendable, Hashable {
    /// `[outputs.postgresql]`.
    public var postgresql = PostgreSQLOutputSettings()

    public init() {}
}

/// `[outputs.postgresql]`: every collection pushed into the backend's PostgreSQL in the specification's schema
/// (`agent_metrics`, `service_status`), through a durable outbox under the state directory.
public struct PostgreSQLOutputSettings: Sendable, Hashable {
    /// `tls`: how the connection is protected.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP.
        case disable
        /// Encrypted; the server's certificate is not checked (like libpq's `sslmode=require`).
        case require
        /// Encrypted; the certificate must chain to `ca_file` (or the system's roots) and name `host`.
        case verifyFull = "verify-full"
    }

    /// `enabled`: off by default.
    public var enabled = false
    /// `host`: name or address of the database server.
    public var host = "127.0.0.1"
    /// `port`.
    public var port = 5432
    /// `database`.
    public var database = "postgres"
    /// `user`.
    public var user = "postgres"
    /// `password_file`: a file whose first line is the password; nil connects without one (trust or peer setups).
    public var passwordFile: String?
    /// `tls`.
    public var tls = TLSMode.disable
    /// `ca_file`: PEM CA certificates for `verify-full`; nil uses the system's roots.
    public var caFile: String?
    /// `application_name`: shown in `pg_stat_activity`.
    public var applicationName = "viworks-agent"
    /// `agent_id`: the `agent_id` column of every row (at most 50 characters); nil derives a stable id from
    /// `/etc/machine-id` (``AgentIdentity``).
    public var agentID: String?
    /// `interval`: how often the outbox is pushed.
    public var interval: Duration = .seconds(10)
    /// `timeout`: one push attempt (connect, insert, commit) must finish within this, else it is retried.
    public var timeout: Duration = .seconds(10)
    /// `batch_size`: rows per INSERT statement.
    public var batchSize = 1000
    /// `max_backlog_age`: rows not delivered after this long are dropped (oldest first) and counted.
    public var maxBacklogAge: Duration = .seconds(7 * 86_400)
    /// `max_backlog_rows`: at most this many rows wait in the outbox; beyond, the oldest are dropped and counted.
    public var maxBacklogRows = 1_000_000
    /// `extended`: also push what the specification's schema has no column for, into the tables of
    /// examples/backend/schema-extended.sql (`agent_filesystems`, `agent_network`).
    public var extended = false

    public init() {}
}

extension PostgreSQLOutputSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .bool("enabled", \.enabled),
        .value("host", \.host) { raw throws(ConfigValueError) in
            switch HostName.normalized(Substring(try raw.string())) {
            case .success(let host): return host
            case .failure(let problem): throw ConfigValueError(message: "expected a host name or address, got \(raw.quoted), which \(problem.reason)")
            }
        },
        .int("port", \.port, in: 1...65535),
        .value("database", \.database) { raw throws(ConfigValueError) in try nonEmpty(raw, "a database name") },
        .value("user", \.user) { raw throws(ConfigValueError) in try nonEmpty(raw, "a user name") },
        .optionalPath("password_file", \.passwordFile),
        .oneOf("tls", \.tls),
        .optionalPath("ca_file", \.caFile),
        .string("application_name", \.applicationName),
        .custom("agent_id") { settings, raw throws(ConfigValueError) in
            let id = try raw.string()
            guard id.unicodeScalars.count <= AgentIdentity.maximumLength else {
                throw ConfigValueError(message: "at most \(AgentIdentity.maximumLength) characters (the schema's VARCHAR(50)), got \(id.unicodeScalars.count)")
            }
            settings.agentID = id.isEmpty ? nil : id
        },
        .duration("interval", \.interval, min: .milliseconds(100), max: "1h"),
        .duration("timeout", \.timeout, min: .milliseconds(100), max: "10m"),
        .int("batch_size", \.batchSize, in: 1...10_000),
        .duration("max_backlog_age", \.maxBacklogAge, min: .seconds(60), max: "366d"),
        .int("max_backlog_rows", \.maxBacklogRows, in: 1...100_000_000),
        .bool("extended", \.extended),
    ]

    private static func nonEmpty(_ raw: ConfigValue, _ what: String) throws(ConfigValueError) -> String {
        let value = try raw.string()
        guard !value.isEmpty else { throw ConfigValueError(message: "expected \(what), got \"\"") }
        return value
    }
}
