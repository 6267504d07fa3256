//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// The containers and the engine as status and `/metrics` show them: plain values that the containers module fills
// (from the Docker Engine API) and the server reads through ``ContainerStatusSource``.

/// The engine as status shows it: `engine: {status, version, api_version, reason}`.
public struct ContainerEngineStatus: Sendable, Hashable, Encodable {
    public enum Status: String, Sendable, Hashable, Encodable {
        case available, unavailable, disabled
    }

    public var status: Status
    /// The engine's release (`20.10.24+dfsg1`); nil until it answered.
    public var version: String?
    /// The negotiated Engine API version (`1.41`).
    public var apiVersion: String?
    /// Why it is unavailable or disabled (starts with `ENOENT`, `ECONNREFUSED` or `timeout` when unreachable).
    public var reason: String?

    public init(status: Status, version: String? = nil, apiVersion: String? = nil, reason: String? = nil) {
        self.status = status
        self.version = version
        self.apiVersion = apiVersion
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case status, version, apiVersion = "api_version", reason
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(version, forKey: .version)
        try container.encode(apiVersion, forKey: .apiVersion)
        try container.encode(reason, forKey: .reason)
    }
}

/// What `/api/v1/status` (`containers`, `engine`) and `/metrics` (`viworks_container_*`) say about containers, as
/// last collected (the containers module's monitor fills it; the server reads it through ``ContainerStatusSource``).
public struct ContainersView: Sendable, Hashable {
    /// The engine: `available`, `unavailable` with the reason, or `disabled` with the reason.
    public var engine: ContainerEngineStatus
    /// The containers the agent manages (every container of the host with `[containers] show_all`), by name; empty
    /// while the engine is unavailable or disabled.
    public var containers: [ContainerReport]
    /// Sessions that hold a container, by status (`creating`, `running`, `stopped`, `exited`, `oom_killed`, zeros
    /// included); nil when there is no session manager.
    public var sessions: [SessionStatus: Int]?

    public init(engine: ContainerEngineStatus, containers: [ContainerReport] = [], sessions: [SessionStatus: Int]? = nil) {
        self.engine = engine
        self.containers = containers
        self.sessions = sessions
    }
}

/// One container as `/api/v1/status` lists it under `containers`: `id, name, image, state, status, created_at, ports,
/// session_id, username, port, cpu_percent, memory_bytes, memory_limit_bytes, cpu_shares, oom_killed, exit_code`, with
/// `null` for what is not known (a container that is not a session has no `session_id`; the first sample of a
/// container has no `cpu_percent`).
public struct ContainerReport: Sendable, Hashable, Encodable {
    /// 64 hex digits.
    public var id: String
    /// Without the leading `/`.
    public var name: String
    public var image: String
    /// The engine's state: `created`, `running`, `exited`, …
    public var state: String
    /// The engine's human text: `Up 3 minutes`.
    public var status: String
    public var createdAt: Timestamp
    public var ports: [ContainerPort]
    public var sessionID: String?
    public var username: String?
    /// The session's host port.
    public var port: Int?
    /// Percent of one CPU since the previous sample; nil on the first. JSON rounds it to two decimals.
    public var cpuPercent: Double?
    /// Usage minus inactive file cache, bytes.
    public var memoryBytes: UInt64?
    public var memoryLimitBytes: UInt64?
    public var cpuShares: Int?
    public var oomKilled: Bool
    public var exitCode: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, name, image, state, status, createdAt = "created_at", ports, sessionID = "session_id", username, port, cpuPercent = "cpu_percent"
        case memoryBytes = "memory_bytes", memoryLimitBytes = "memory_limit_bytes", cpuShares = "cpu_shares", oomKilled = "oom_killed"
        case exitCode = "exit_code"
    }

    /// The JSON names, in the order they are written.
    public static let jsonFields: [String] = CodingKeys.allCases.map(\.rawValue)

    public init(
        id: String, name: String, image: String, state: String, status: String, createdAt: Timestamp, ports: [ContainerPort] = [],
        sessionID: String? = nil, username: String? = nil, port: Int? = nil, cpuPercent: Double? = nil, memoryBytes: UInt64? = nil,
        memoryLimitBytes: UInt64? = nil, cpuShares: Int? = nil, oomKilled: Bool = false, exitCode: Int? = nil
    ) {
        self.id = id
        self.name = name
        self.image = image
        self.state = state
        self.status = status
        self.createdAt = createdAt
        self.ports = ports
        self.sessionID = sessionID
        self.username = username
        self.port = port
        self.cpuPercent = cpuPercent
        self.memoryBytes = memoryBytes
        self.memoryLimitBytes = memoryLimitBytes
        self.cpuShares = cpuShares
        self.oomKilled = oomKilled
        self.exitCode = exitCode
    }

    /// A port as the API writes it, in its own snake_case: `{ip, private_port, public_port, type}` (`ip` and
    /// `public_port` null when the port is only exposed).
    struct PortJSON: Encodable {
        var port: ContainerPort

        enum CodingKeys: String, CodingKey {
            case ip, privatePort = "private_port", publicPort = "public_port", type
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(port.ip, forKey: .ip)
            try container.encode(port.privatePort, forKey: .privatePort)
            try container.encode(port.publicPort, forKey: .publicPort)
            try container.encode(port.type, forKey: .type)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(image, forKey: .image)
        try container.encode(state, forKey: .state)
        try container.encode(status, forKey: .status)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(ports.map(PortJSON.init), forKey: .ports)
        try container.encode(sessionID, forKey: .sessionID)
        try container.encode(username, forKey: .username)
        try container.encode(port, forKey: .port)
        // Two decimals, as every percentage of status.
        try container.encode(cpuPercent.map { ($0 * 100).rounded() / 100 }, forKey: .cpuPercent)
        try container.encode(memoryBytes, forKey: .memoryBytes)
        try container.encode(memoryLimitBytes, forKey: .memoryLimitBytes)
        try container.encode(cpuShares, forKey: .cpuShares)
        try container.encode(oomKilled, forKey: .oomKilled)
        try container.encode(exitCode, forKey: .exitCode)
    }
}

/// A published or exposed port of a container in `GET /containers/json`.
public struct ContainerPort: Codable, Sendable, Hashable {
    /// The host address the port is published on; nil when only exposed.
    public var ip: String?
    /// The port inside the container.
    public var privatePort: Int
    /// The host port; nil when only exposed.
    public var publicPort: Int?
    /// `tcp`, `udp` or `sctp`.
    public var type: String

    enum CodingKeys: String, CodingKey {
        case ip = "IP", privatePort = "PrivatePort", publicPort = "PublicPort", type = "Type"
    }

    public init(ip: String?, privatePort: Int, publicPort: Int?, type: String) {
        self.ip = ip
        self.privatePort = privatePort
        self.publicPort = publicPort
        self.type = type
    }
}
