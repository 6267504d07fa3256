//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// A responsiveness probe of a service: `tcp://host:port`, `http://host:port/path`, `redis://host:port`,
/// `postgres://host:port` in the configuration.
public struct ServiceProbeSpec: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A TCP connect.
        case tcp
        /// `GET path` over HTTP/1.1; any status below 500 answers.
        case http
        /// `PING` must be answered `+PONG` (or `-NOAUTH`, which still proves the server answers).
        case redis
        /// The PostgreSQL `SSLRequest` must be answered `S` or `N`.
        case postgres
    }

    public var kind: Kind
    public var host: String
    public var port: Int
    /// The HTTP path (with query), `/` by default; unused by the other kinds.
    public var path: String

    public init(kind: Kind, host: String, port: Int, path: String = "/") {
        self.kind = kind
        self.host = host
        self.port = port
        self.path = path
    }

    public var description: String {
        "\(kind.rawValue)://\(HostName.endpoint(host, port))\(kind == .http ? path : "")"
    }

    /// Parses `kind://host:port[/path]`; IPv6 hosts in brackets, a host name that is not ASCII in its IDNA form
    /// (``HostName``). A failure with the reason when malformed.
    public static func parse(_ text: String) -> Result<ServiceProbeSpec, ProbeSpecError> {
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .failure(ProbeSpecError(text: text, reason: "expected kind://host:port")) }
        let scheme = String(parts[0]).lowercased()
        guard let kind = Kind(rawValue: scheme) else {
            return .failure(ProbeSpecError(text: text, reason: "unknown probe kind '\(scheme)' (known: tcp, http, redis, postgres, or \"none\")"))
        }
        var rest = parts[1]
        var path = "/"
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        guard let (host, portText) = HostName.splitEndpoint(rest) else {
            return .failure(ProbeSpecError(text: text, reason: "expected host:port, an IPv6 address as [ipv6]:port"))
        }
        guard !host.isEmpty, let port = HostName.port(portText, in: 1...65535) else {
            return .failure(ProbeSpecError(text: text, reason: "expected a host and a port in 1...65535"))
        }
        let name: String
        switch HostName.normalized(host) {
        case .success(let normalized): name = normalized
        case .failure(let problem): return .failure(ProbeSpecError(text: text, reason: "the host \"\(host)\" \(problem.reason)"))
        }
        guard path.allSatisfy({ $0.isASCII && $0 != " " && $0 != "\r" && $0 != "\n" }) else {
            return .failure(ProbeSpecError(text: text, reason: "the path must be ASCII without spaces"))
        }
        return .success(ServiceProbeSpec(kind: kind, host: name, port: port, path: path))
    }
}

/// A malformed probe address.
public struct ProbeSpecError: Error, Sendable, Hashable {
    public var text: String
    public var reason: String
}

/// One service to track: how to find it under systemd and in `/proc`, and how to probe it.
public struct ServiceDefinition: Sendable, Hashable {
    /// The name in the API (`sshd`, `nginx`, `postgres`, …).
    public var name: String
    /// `enabled`: false stops tracking a built-in service.
    public var enabled: Bool
    /// `units`: systemd unit names to look for, in order of preference; `*` globs match template instances
    /// (`postgresql@*.service`). The first loaded unit that is active wins.
    public var units: [String]
    /// `process_names`: `comm` values (`/proc/PID/comm`, at most 15 bytes; longer names match on their first 15).
    public var processNames: [String]
    /// `command_patterns`: substrings of the command line (`/proc/PID/cmdline`, arguments joined by spaces).
    public var commandPatterns: [String]
    /// `probe`: nil for none.
    public var probe: ServiceProbeSpec?
    /// `critical`: the spec's critical services (alerts treat a stopped critical service as critical).
    public var critical: Bool
    /// `recovery = true`: restart it when it is stopped or in error (systemd only). Off by default.
    public var recoveryEnabled = false
    /// `recovery_attempts`, `recovery_window`, `recovery_backoff`.
    public var recoveryPolicy = RecoveryPolicy()

    /// The auto-recovery policy, when enabled.
    public var recovery: RecoveryPolicy? { recoveryEnabled ? recoveryPolicy : nil }

    public init(
        name: String, enabled: Bool = true, units: [String] = [], processNames: [String] = [], commandPatterns: [String] = [],
        probe: ServiceProbeSpec? = nil, critical: Bool = false
    ) {
        self.name = name
        self.enabled = enabled
        self.units = units
        self.processNames = processNames
        self.commandPatterns = commandPatterns
        self.probe = probe
        self.critical = critical
    }

    /// True when the definition can find anything.
    public var isLocatable: Bool { !units.isEmpty || !processNames.isEmpty || !commandPatterns.isEmpty }
}

/// A pattern of auto-discovery: a loaded systemd unit or a running process that looks like a well-known server.
public struct DiscoveryRule: Sendable, Hashable {
    public var name: String
    public var unitPattern: String
    public var processName: String

    public init(name: String, unitPattern: String, processName: String) {
        self.name = name
        self.unitPattern = unitPattern
        self.processName = processName
    }
}

/// `[services]`: the services collector.
public struct ServicesSettings: Sendable, Hashable {
    public enum SystemdMode: String, Sendable, Hashable, CaseIterable {
        /// Use D-Bus when the host was booted with systemd (`/run/systemd/system` exists under the rootfs).
        case auto
        /// Always try D-Bus (and fall back to `/proc` when it fails).
        case on
        /// Never: `/proc` only.
        case off
    }

    /// `systemd`.
    public var systemd: SystemdMode = .auto
    /// `discover`: report loaded units / running processes of well-known servers that are not configured.
    public var discover = true
    /// `bus_timeout`: deadline of each D-Bus call.
    public var busTimeout: Duration = .seconds(2)
    /// `probe_timeout`: deadline of each probe, connect included.
    public var probeTimeout: Duration = .seconds(2)
    /// `probes`: false runs no probe at all.
    public var probes = true
    /// `[services.<name>]`: the tracked services, built-in ones first.
    public var definitions: [ServiceDefinition] = ServicesSettings.builtinDefinitions
    /// Well-known servers for auto-discovery.
    public var discoveryRules: [DiscoveryRule] = ServicesSettings.builtinDiscoveryRules

    public init() {}

    /// The enabled definitions, in order.
    public var enabledDefinitions: [ServiceDefinition] { definitions.filter(\.enabled) }

    /// The definition with this name, creating it (disabled-by-nothing, empty) at the end when new.
    public mutating func withDefinition(_ name: String, _ change: (inout ServiceDefinition) -> Void) {
        if let index = definitions.firstIndex(where: { $0.name == name }) {
            change(&definitions[index])
        } else {
            var definition = ServiceDefinition(name: name)
            change(&definition)
            definitions.append(definition)
        }
    }

    private static func probe(_ text: String) -> ServiceProbeSpec? {
        if case .success(let spec) = ServiceProbeSpec.parse(text) { return spec }
        return nil
    }

    /// The spec's services: critical nginx, sshd and viworks-gateway-agent; monitored docker, postgres, redis, openvpn.
    public static let builtinDefinitions: [ServiceDefinition] = [
        ServiceDefinition(name: "docker", units: ["docker.service"], processNames: ["dockerd"]),
        ServiceDefinition(name: "sshd", units: ["ssh.service", "sshd.service"], processNames: ["sshd"], probe: probe("tcp://127.0.0.1:22"), critical: true),
        ServiceDefinition(name: "nginx", units: ["nginx.service"], processNames: ["nginx"], probe: probe("http://127.0.0.1:80/"), critical: true),
        ServiceDefinition(
            name: "postgres", units: ["postgresql@*.service", "postgresql.service"], processNames: ["postgres"], probe: probe("postgres://127.0.0.1:5432")),
        ServiceDefinition(name: "redis", units: ["redis-server.service", "redis.service"], processNames: ["redis-server"], probe: probe("redis://127.0.0.1:6379")),
        ServiceDefinition(
            name: "openvpn", units: ["openvpn-server@*.service", "openvpn-client@*.service", "openvpn@*.service", "openvpn.service"], processNames: ["openvpn"]),
        ServiceDefinition(name: "viworks-gateway-agent", units: ["viworks-gateway-agent.service"], processNames: ["viworks-gateway-agent"], critical: true),
    ]

    public static let builtinDiscoveryRules: [DiscoveryRule] = [
        DiscoveryRule(name: "mysql", unitPattern: "mysql.service", processName: "mysqld"),
        DiscoveryRule(name: "mariadb", unitPattern: "mariadb.service", processName: "mariadbd"),
        DiscoveryRule(name: "mongodb", unitPattern: "mongod.service", processName: "mongod"),
        DiscoveryRule(name: "apache2", unitPattern: "apache2.service", processName: "apache2"),
        DiscoveryRule(name: "httpd", unitPattern: "httpd.service", processName: "httpd"),
        DiscoveryRule(name: "haproxy", unitPattern: "haproxy.service", processName: "haproxy"),
        DiscoveryRule(name: "caddy", unitPattern: "caddy.service", processName: "caddy"),
        DiscoveryRule(name: "memcached", unitPattern: "memcached.service", processName: "memcached"),
        DiscoveryRule(name: "rabbitmq", unitPattern: "rabbitmq-server.service", processName: "beam.smp"),
        DiscoveryRule(name: "elasticsearch", unitPattern: "elasticsearch.service", processName: "java"),
        DiscoveryRule(name: "containerd", unitPattern: "containerd.service", processName: "containerd"),
        DiscoveryRule(name: "php-fpm", unitPattern: "php*-fpm.service", processName: "php-fpm"),
        DiscoveryRule(name: "bind9", unitPattern: "named.service", processName: "named"),
        DiscoveryRule(name: "postfix", unitPattern: "postfix@*.service", processName: "master"),
        DiscoveryRule(name: "wireguard", unitPattern: "wg-quick@*.service", processName: ""),
        DiscoveryRule(name: "fail2ban", unitPattern: "fail2ban.service", processName: ""),
    ]
}

/// Matches `name` against a glob with `*` (any run of characters) and `?` (one character).
public func globMatches(_ pattern: String, _ name: String) -> Bool {
    let p = Array(pattern.utf8)
    let n = Array(name.utf8)
    var pi = 0
    var ni = 0
    var star = -1
    var mark = 0
    while ni < n.count {
        if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == n[ni] {
            pi += 1
            ni += 1
        } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
            star = pi
            mark = ni
            pi += 1
        } else if star >= 0 {
            pi = star + 1
            mark += 1
            ni = mark
        } else {
            return false
        }
    }
    while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
    return pi == p.count
}

extension ServicesSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .oneOf("systemd", \.systemd),
        .bool("discover", \.discover),
        .bool("probes", \.probes),
        .duration("bus_timeout", \.busTimeout, min: .milliseconds(10), max: "60s"),
        .duration("probe_timeout", \.probeTimeout, min: .milliseconds(10), max: "60s"),
    ]
}

extension ServiceDefinition: ConfigSection {
    /// The keys of a `[services.<name>]` table.
    public static let keys: [ConfigKey<Self>] = [
        .bool("enabled", \.enabled),
        .bool("critical", \.critical),
        .strings("units", \.units) { unit in
            let problem = SystemdUnitName.problem(unit, globs: true) ?? (unit.contains(".") ? nil : "has no type suffix such as .service")
            return problem.map { "\"\(unit)\" is not a unit name such as \"nginx.service\" or \"postgresql@*.service\": it \($0)" }
        },
        .strings("process_names", \.processNames) { $0.isEmpty || $0.contains("/") ? "\"\($0)\" is not a process name (comm)" : nil },
        .strings("command_patterns", \.commandPatterns) { $0.count < 2 ? "a command pattern must have at least 2 characters, got \"\($0)\"" : nil },
        .bool("recovery", \.recoveryEnabled),
        .int("recovery_attempts", \.recoveryPolicy.maxAttempts, in: 1...100),
        .duration("recovery_window", \.recoveryPolicy.window, min: .seconds(1)),
        .duration("recovery_backoff", \.recoveryPolicy.backoff, min: .milliseconds(100)),
        .custom("probe") { definition, raw throws(ConfigValueError) in
            let text = try raw.string()
            if text.lowercased() == "none" || text.isEmpty {
                definition.probe = nil
                return
            }
            switch ServiceProbeSpec.parse(text) {
            case .success(let spec): definition.probe = spec
            case .failure(let error):
                throw ConfigValueError(
                    message: "\(error.reason), e.g. \"tcp://127.0.0.1:22\", \"http://127.0.0.1:80/health\", \"redis://127.0.0.1:6379\", \"postgres://127.0.0.1:5432\" or \"none\"; got \"\(text)\"")
            }
        },
    ]
}
