//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// The documents of the Docker Engine API (v1.41) that the agent reads and writes, with the engine's own field names.
/// Only the fields the agent uses are declared; every field the engine may leave out is optional, so a document from
/// another engine version (or Podman) decodes instead of failing.

// MARK: - Version

/// `GET /version`.
public struct EngineVersion: Decodable, Sendable, Hashable {
    /// The engine's release, e.g. `20.10.24+dfsg1`.
    public var version: String
    /// The newest API version the engine speaks, e.g. `1.41`.
    public var apiVersion: String
    /// The oldest API version the engine accepts, e.g. `1.12`.
    public var minAPIVersion: String?
    public var os: String?
    public var arch: String?
    public var kernelVersion: String?

    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", minAPIVersion = "MinAPIVersion", os = "Os", arch = "Arch"
        case kernelVersion = "KernelVersion"
    }

    public init(version: String, apiVersion: String, minAPIVersion: String? = nil) {
        self.version = version
        self.apiVersion = apiVersion
        self.minAPIVersion = minAPIVersion
    }
}

// MARK: - Containers

/// One entry of `GET /containers/json`.
public struct ContainerSummary: Decodable, Sendable, Hashable {
    /// 64 hex digits.
    public var id: String
    /// Names with their leading `/`.
    public var names: [String]
    public var image: String
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    public var state: String
    /// Human text such as `Up 3 minutes`.
    public var status: String
    public var labels: [String: String]
    public var ports: [ContainerPort]
    /// Unix seconds.
    public var created: Int64

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", state = "State", status = "Status", labels = "Labels", ports = "Ports"
        case created = "Created"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        names = try container.decodeIfPresent([String].self, forKey: .names) ?? []
        image = try container.decodeIfPresent(String.self, forKey: .image) ?? ""
        state = try container.decodeIfPresent(String.self, forKey: .state) ?? ""
        status = try container.decodeIfPresent(String.self, forKey: .status) ?? ""
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        ports = try container.decodeIfPresent([ContainerPort].self, forKey: .ports) ?? []
        created = try container.decodeIfPresent(Int64.self, forKey: .created) ?? 0
    }

    /// The first name without its leading `/`.
    public var name: String {
        guard let first = names.first else { return "" }
        return first.hasPrefix("/") ? String(first.dropFirst()) : first
    }
}

/// A host address and port a container port is bound to (`HostConfig.PortBindings`, `NetworkSettings.Ports`).
public struct PortBinding: Codable, Sendable, Hashable {
    /// The host address, e.g. `127.0.0.1`; empty means every address.
    public var hostIP: String
    /// The host port as decimal text.
    public var hostPort: String

    enum CodingKeys: String, CodingKey {
        case hostIP = "HostIp", hostPort = "HostPort"
    }

    public init(hostIP: String, hostPort: String) {
        self.hostIP = hostIP
        self.hostPort = hostPort
    }
}

/// `GET /containers/{id}/json`.
public struct ContainerInspect: Decodable, Sendable, Hashable {
    public struct State: Decodable, Sendable, Hashable {
        /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
        public var status: String
        public var running: Bool
        /// True when the kernel's OOM killer ended the container's process.
        public var oomKilled: Bool
        public var exitCode: Int
        /// Host pid of the container's first process; 0 when not running.
        public var pid: Int
        /// RFC 3339; `0001-01-01T00:00:00Z` when never started.
        public var startedAt: String?
        public var finishedAt: String?
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case status = "Status", running = "Running", oomKilled = "OOMKilled", exitCode = "ExitCode", pid = "Pid"
            case startedAt = "StartedAt", finishedAt = "FinishedAt", error = "Error"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            status = try container.decodeIfPresent(String.self, forKey: .status) ?? ""
            running = try container.decodeIfPresent(Bool.self, forKey: .running) ?? false
            oomKilled = try container.decodeIfPresent(Bool.self, forKey: .oomKilled) ?? false
            exitCode = try container.decodeIfPresent(Int.self, forKey: .exitCode) ?? 0
            pid = try container.decodeIfPresent(Int.self, forKey: .pid) ?? 0
            startedAt = try container.decodeIfPresent(String.self, forKey: .startedAt)
            finishedAt = try container.decodeIfPresent(String.self, forKey: .finishedAt)
            error = try container.decodeIfPresent(String.self, forKey: .error)
        }
    }

    public struct Config: Decodable, Sendable, Hashable {
        public var image: String?
        public var labels: [String: String]?

        enum CodingKeys: String, CodingKey {
            case image = "Image", labels = "Labels"
        }
    }

    public struct HostConfig: Decodable, Sendable, Hashable {
        /// Bytes; 0 means no limit.
        public var memory: Int64?
        /// Relative weight (1024 = one default share); 0 means the default.
        public var cpuShares: Int?
        /// CPU quota in billionths of a CPU.
        public var nanoCPUs: Int64?
        public var pidsLimit: Int64?
        public var portBindings: [String: [PortBinding]]?

        enum CodingKeys: String, CodingKey {
            case memory = "Memory", cpuShares = "CpuShares", nanoCPUs = "NanoCpus", pidsLimit = "PidsLimit", portBindings = "PortBindings"
        }
    }

    public struct NetworkSettings: Decodable, Sendable, Hashable {
        /// `"8080/tcp"` → the bindings in effect (null for an exposed, unpublished port).
        public var ports: [String: [PortBinding]?]?

        enum CodingKeys: String, CodingKey {
            case ports = "Ports"
        }
    }

    public var id: String
    /// With its leading `/`.
    public var name: String
    /// RFC 3339.
    public var created: String?
    public var state: State
    public var config: Config?
    public var hostConfig: HostConfig?
    public var networkSettings: NetworkSettings?

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", created = "Created", state = "State", config = "Config", hostConfig = "HostConfig"
        case networkSettings = "NetworkSettings"
    }

    /// The labels, empty when none.
    public var labels: [String: String] { config?.labels ?? [:] }

    /// The host port `containerPort/tcp` is published on: from the bindings in effect, else the requested ones.
    public func hostPort(for containerPort: Int) -> Int? {
        let key = "\(containerPort)/tcp"
        if let bound = networkSettings?.ports?[key] ?? nil, let port = bound.lazy.compactMap({ Int($0.hostPort) }).first { return port }
        return hostConfig?.portBindings?[key]?.lazy.compactMap { Int($0.hostPort) }.first
    }
}

/// The body of `POST /containers/create`.
public struct ContainerCreateRequest: Encodable, Sendable, Hashable {
    public struct HostConfig: Encodable, Sendable, Hashable {
        /// Bytes.
        public var memory: Int64
        /// Memory plus swap, bytes: equal to ``memory`` so that the limit cannot be stretched with swap.
        public var memorySwap: Int64
        public var cpuShares: Int
        /// CPU quota in billionths of a CPU (1.5 CPUs = 1_500_000_000); nil for no cap.
        public var nanoCPUs: Int64?
        public var pidsLimit: Int64
        /// Runs an init process (docker-init) as PID 1: signals are forwarded and zombies reaped.
        public var initProcess: Bool
        public var readonlyRootfs: Bool
        /// Path → mount options (`""` for the defaults).
        public var tmpfs: [String: String]
        public var securityOpt: [String]
        public var capDrop: [String]
        public var capAdd: [String]
        /// `"8080/tcp"` → where to publish it.
        public var portBindings: [String: [PortBinding]]
        public var privileged: Bool

        enum CodingKeys: String, CodingKey {
            case memory = "Memory", memorySwap = "MemorySwap", cpuShares = "CpuShares", nanoCPUs = "NanoCpus", pidsLimit = "PidsLimit"
            case initProcess = "Init", readonlyRootfs = "ReadonlyRootfs", tmpfs = "Tmpfs", securityOpt = "SecurityOpt"
            case capDrop = "CapDrop", capAdd = "CapAdd", portBindings = "PortBindings", privileged = "Privileged"
        }

        public init(
            memory: Int64, memorySwap: Int64, cpuShares: Int, nanoCPUs: Int64?, pidsLimit: Int64, initProcess: Bool, readonlyRootfs: Bool,
            tmpfs: [String: String], securityOpt: [String], capDrop: [String], capAdd: [String], portBindings: [String: [PortBinding]], privileged: Bool
        ) {
            self.memory = memory
            self.memorySwap = memorySwap
            self.cpuShares = cpuShares
            self.nanoCPUs = nanoCPUs
            self.pidsLimit = pidsLimit
            self.initProcess = initProcess
            self.readonlyRootfs = readonlyRootfs
            self.tmpfs = tmpfs
            self.securityOpt = securityOpt
            self.capDrop = capDrop
            self.capAdd = capAdd
            self.portBindings = portBindings
            self.privileged = privileged
        }
    }

    public var image: String
    /// Overrides the image's command; nil keeps it.
    public var cmd: [String]?
    /// `KEY=value` entries.
    public var env: [String]
    public var labels: [String: String]
    /// `"8080/tcp"` → `{}`. Docker 20.10 ignores a port binding whose port is not also exposed here.
    public var exposedPorts: [String: EmptyObject]
    public var hostConfig: HostConfig

    enum CodingKeys: String, CodingKey {
        case image = "Image", cmd = "Cmd", env = "Env", labels = "Labels", exposedPorts = "ExposedPorts", hostConfig = "HostConfig"
    }

    public init(
        image: String, cmd: [String]?, env: [String], labels: [String: String], exposedPorts: [String: EmptyObject], hostConfig: HostConfig
    ) {
        self.image = image
        self.cmd = cmd
        self.env = env
        self.labels = labels
        self.exposedPorts = exposedPorts
        self.hostConfig = hostConfig
    }
}

/// `{}` in a JSON document.
public struct EmptyObject: Codable, Sendable, Hashable {
    public init() {}
}

/// The answer of `POST /containers/create`.
struct ContainerCreateResponse: Decodable {
    var id: String
    var warnings: [String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id", warnings = "Warnings"
    }
}

/// The error document of the engine: `{"message": "..."}`.
struct EngineMessage: Decodable {
    var message: String
}

// MARK: - Images

/// `GET /images/{name}/json` (only what the agent reads).
public struct ImageInspect: Decodable, Sendable, Hashable {
    /// `sha256:…`.
    public var id: String
    public var repoTags: [String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id", repoTags = "RepoTags"
    }
}

// MARK: - Events

/// One line of `GET /events`.
public struct EngineEvent: Decodable, Sendable, Hashable {
    public struct Actor: Decodable, Sendable, Hashable {
        /// The container id for container events.
        public var id: String
        /// The container's labels, plus `image`, `name` and (for `die`) `exitCode`.
        public var attributes: [String: String]

        enum CodingKeys: String, CodingKey {
            case id = "ID", attributes = "Attributes"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
            attributes = try container.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        }
    }

    /// `container`, `image`, `network`, …
    public var type: String
    /// `create`, `start`, `die`, `oom`, `kill`, `stop`, `destroy`, …
    public var action: String
    public var actor: Actor
    /// Unix nanoseconds.
    public var timeNano: Int64?

    enum CodingKeys: String, CodingKey {
        case type = "Type", action = "Action", actor = "Actor", timeNano
    }
}
