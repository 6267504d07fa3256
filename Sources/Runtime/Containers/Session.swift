//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Where a session is in its life.
public enum SessionStatus: String, Codable, Sendable, Hashable, CaseIterable {
    /// The record exists; the container is being created and started.
    case creating
    case running
    /// Stopped by a client; the container is kept and can be started again.
    case stopped
    /// The container's process ended on its own (a crash, a normal exit).
    case exited
    /// The container's process was killed for exceeding its memory limit.
    case oomKilled = "oom_killed"
    /// The container is gone (deleted, reaped, vanished); the record is kept for history.
    case removed
    /// A labelled container found without a record at start and removed (per the `orphans` setting).
    case orphaned

    /// True while the session holds a container and its port (it counts against the limits).
    public var holdsContainer: Bool {
        switch self {
        case .creating, .running, .stopped, .exited, .oomKilled: true
        case .removed, .orphaned: false
        }
    }
}

/// One user session: a container run from a template for a user, published on a host port.
///
/// The JSON shape (``encode(to:)``) is the backend's `container_sessions` row plus the template, the limits, the exit
/// code and the reason: `session_id, username, template, container_id, port, status, created_at, stopped_at,
/// memory_limit_bytes, cpu_shares, exit_code, reason`, with `null` for values not known (yet). Times are RFC 3339.
public struct Session: Sendable, Hashable, Codable {
    /// 32 lower-case hex digits.
    public var sessionID: String
    public var username: String
    public var template: String
    /// The engine's 64-hex id; nil until created.
    public var containerID: String?
    /// The host port on the publish address; nil once freed.
    public var port: Int?
    public var status: SessionStatus
    public var createdAt: Timestamp
    /// When it stopped, exited or was removed; nil while running.
    public var stoppedAt: Timestamp?
    public var memoryLimitBytes: Int64
    public var cpuShares: Int
    /// The container's exit code once it ended.
    public var exitCode: Int?
    /// Why it is in its status when not by a client's request (`ttl expired`, `container vanished`, …).
    public var reason: String?

    // Not in the JSON: bookkeeping of the manager.

    /// When the TTL ends; nil for none.
    public var expiresAt: Timestamp?
    /// Idle limit.
    public var idleTimeout: Duration?
    /// The CPU cap in CPUs; nil for none.
    public var cpus: Double?
    /// The last time network traffic was seen (starts at creation).
    public var lastActivityAt: Timestamp?
    /// When it was removed (for history retention).
    public var removedAt: Timestamp?

    public init(
        sessionID: String, username: String, template: String, containerID: String? = nil, port: Int? = nil, status: SessionStatus,
        createdAt: Timestamp, stoppedAt: Timestamp? = nil, memoryLimitBytes: Int64, cpuShares: Int, exitCode: Int? = nil, reason: String? = nil,
        expiresAt: Timestamp? = nil, idleTimeout: Duration? = nil, cpus: Double? = nil, lastActivityAt: Timestamp? = nil, removedAt: Timestamp? = nil
    ) {
        self.sessionID = sessionID
        self.username = username
        self.template = template
        self.containerID = containerID
        self.port = port
        self.status = status
        self.createdAt = createdAt
        self.stoppedAt = stoppedAt
        self.memoryLimitBytes = memoryLimitBytes
        self.cpuShares = cpuShares
        self.exitCode = exitCode
        self.reason = reason
        self.expiresAt = expiresAt
        self.idleTimeout = idleTimeout
        self.cpus = cpus
        self.lastActivityAt = lastActivityAt
        self.removedAt = removedAt
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case sessionID = "session_id", username, template, containerID = "container_id", port, status, createdAt = "created_at"
        case stoppedAt = "stopped_at", memoryLimitBytes = "memory_limit_bytes", cpuShares = "cpu_shares", exitCode = "exit_code", reason
    }

    /// The JSON names, in the order they are written.
    public static let jsonFields: [String] = CodingKeys.allCases.map(\.rawValue)

    /// Writes every field, `null` included, so the shape never depends on the state.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sessionID, forKey: .sessionID)
        try container.encode(username, forKey: .username)
        try container.encode(template, forKey: .template)
        try container.encode(containerID, forKey: .containerID)
        try container.encode(port, forKey: .port)
        try container.encode(status, forKey: .status)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(stoppedAt, forKey: .stoppedAt)
        try container.encode(memoryLimitBytes, forKey: .memoryLimitBytes)
        try container.encode(cpuShares, forKey: .cpuShares)
        try container.encode(exitCode, forKey: .exitCode)
        try container.encode(reason, forKey: .reason)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sessionID = try container.decode(String.self, forKey: .sessionID)
        username = try container.decode(String.self, forKey: .username)
        template = try container.decode(String.self, forKey: .template)
        containerID = try container.decodeIfPresent(String.self, forKey: .containerID)
        port = try container.decodeIfPresent(Int.self, forKey: .port)
        status = try container.decode(SessionStatus.self, forKey: .status)
        createdAt = try container.decode(Timestamp.self, forKey: .createdAt)
        stoppedAt = try container.decodeIfPresent(Timestamp.self, forKey: .stoppedAt)
        memoryLimitBytes = try container.decode(Int64.self, forKey: .memoryLimitBytes)
        cpuShares = try container.decode(Int.self, forKey: .cpuShares)
        exitCode = try container.decodeIfPresent(Int.self, forKey: .exitCode)
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
    }
}

/// The labels on every container the agent creates.
public enum SessionLabels {
    /// The agent that manages the container (``ContainerSettings/agentID``).
    public static let agent = "io.viworks.agent"
    public static let sessionID = "io.viworks.session-id"
    public static let username = "io.viworks.username"
    public static let template = "io.viworks.template"
}
