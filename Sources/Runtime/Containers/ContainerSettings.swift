//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#endif

/// A problem with one field of the container settings, a template or a session request.
///
/// `field` is the configuration key (`port_range`, `templates.web.memory`) or the request body's field (`username`,
/// `ttl`): the configuration loader turns it into a ``ConfigIssue``, the HTTP layer into a 400 naming the field.
public struct FieldError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// The `[containers]` section: where the engine is and how sessions are run.
public struct ContainerSettings: Sendable, Hashable {
    /// `enabled`: `"auto"` (on when ``socket`` exists), `true` or `false`.
    public enum Enablement: String, Sendable, Hashable, CaseIterable {
        case auto
        case on = "true"
        case off = "false"
    }

    /// What reconciliation at start does with a running container that carries this agent's label but has no session
    /// record (`orphans`).
    public enum OrphanPolicy: String, Sendable, Hashable, CaseIterable {
        /// Record it as a session and manage it from then on.
        case adopt
        /// Remove the container and record why.
        case remove
    }

    public static let defaultSocket = "/var/run/docker.sock"
    /// The longest path a Unix socket address holds (`sun_path` is 108 bytes with its terminating NUL).
    public static let maximumSocketPathBytes = 107
    public static let defaultPortRange: ClosedRange<Int> = 20000...20999

    /// `enabled`; default `auto`.
    public var enabled: Enablement = .auto
    /// `socket`: the engine's Unix socket.
    public var socket: String = defaultSocket
    /// `port_range`: host ports sessions are published on, `"20000-20999"`.
    public var portRange: ClosedRange<Int> = defaultPortRange
    /// `publish_address`: the host address ports are published on (`127.0.0.1`: reachable only through a proxy on
    /// this host).
    public var publishAddress: String = "127.0.0.1"
    /// `max_sessions`: sessions (not yet removed) at once, all users.
    public var maxSessions: Int = 100
    /// `max_sessions_per_user`.
    public var maxSessionsPerUser: Int = 3
    /// `keep_exited`: how long a container that exited on its own is kept (for inspection) before it is removed.
    public var keepExited: Duration = .seconds(3600)
    /// `pull`: pull a template's image that is missing locally (else creating a session fails naming the image).
    public var pull: Bool = false
    /// `show_all`: status lists every container on the host, not only the agent's.
    public var showAll: Bool = false
    /// `orphans`: what to do at start with a labelled container that has no record.
    public var orphans: OrphanPolicy = .adopt
    /// `stop_grace_period`: SIGTERM, then SIGKILL after this long.
    public var stopGracePeriod: Duration = .seconds(10)
    /// `engine_timeout`: deadline of one call to the engine.
    public var engineTimeout: Duration = .seconds(10)
    /// `keep_records`: how long the record of a removed session is kept (history) before it is forgotten.
    public var keepRecords: Duration = .seconds(30 * 86_400)
    /// `reap_interval`: how often TTLs, idle limits and exited containers are checked.
    public var reapInterval: Duration = .seconds(5)
    /// The value of the `io.viworks.agent` label on this agent's containers (the host's name by default): several
    /// agents may share one engine, each managing only its own containers.
    public var agentID: String = ContainerSettings.hostName()
    /// `[containers.templates.<name>]`.
    public var templates: [String: SessionTemplate] = [:]

    public init() {}

    /// Whether the feature is on: `auto` asks whether the socket exists.
    public var isEnabled: Bool {
        switch enabled {
        case .on: true
        case .off: false
        case .auto: access(socket, F_OK) == 0
        }
    }

    /// Why the feature is off, for status (`engine.reason`); nil when it is on.
    public var disabledReason: String? {
        switch enabled {
        case .on: nil
        case .off: "[containers] enabled = false"
        case .auto: isEnabled ? nil : "no engine socket at \(socket) ([containers] enabled = \"auto\")"
        }
    }

    /// Every problem with the settings and their templates, each naming its key (`port_range`,
    /// `templates.<name>.memory`); empty when valid.
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if !socket.hasPrefix("/") { errors.append(FieldError(field: "socket", message: "must be an absolute path, got \"\(socket)\"")) }
        if enabled != .off, socket.utf8.count > Self.maximumSocketPathBytes {
            errors.append(FieldError(field: "socket", message: "must be at most \(Self.maximumSocketPathBytes) bytes (a Unix socket address's limit), got \(socket.utf8.count)"))
        }
        if portRange.lowerBound < 1024 || portRange.upperBound > 65535 {
            errors.append(FieldError(field: "port_range", message: "must lie within 1024-65535, got \(portRange.lowerBound)-\(portRange.upperBound)"))
        }
        if Self.parseIPv4(publishAddress) == nil {
            errors.append(FieldError(field: "publish_address", message: "must be an IPv4 address such as 127.0.0.1, got \"\(publishAddress)\""))
        }
        if maxSessions < 1 { errors.append(FieldError(field: "max_sessions", message: "must be at least 1")) }
        if maxSessionsPerUser < 1 || maxSessionsPerUser > maxSessions {
            errors.append(FieldError(field: "max_sessions_per_user", message: "must be between 1 and max_sessions (\(maxSessions))"))
        }
        if keepExited < .zero { errors.append(FieldError(field: "keep_exited", message: "must not be negative")) }
        if keepRecords < .zero { errors.append(FieldError(field: "keep_records", message: "must not be negative")) }
        if stopGracePeriod < .zero || stopGracePeriod > .seconds(300) {
            errors.append(FieldError(field: "stop_grace_period", message: "must be between 0s and 5m"))
        }
        if engineTimeout < .milliseconds(100) || engineTimeout > .seconds(300) {
            errors.append(FieldError(field: "engine_timeout", message: "must be between 100ms and 5m"))
        }
        if reapInterval < .milliseconds(100) { errors.append(FieldError(field: "reap_interval", message: "must be at least 100ms")) }
        if !SessionRules.isValidLabelValue(agentID) {
            errors.append(FieldError(field: "agent_id", message: "must be 1-64 letters, digits, '.', '_' or '-', got \"\(agentID)\""))
        }
        for name in templates.keys.sorted() {
            guard let template = templates[name] else { continue }
            if !SessionRules.isValidTemplateName(name) {
                errors.append(FieldError(field: "templates.\(name)", message: "a template name is 1-64 letters, digits, '.', '_' or '-'"))
            }
            errors += template.validate().map { FieldError(field: "templates.\(name).\($0.field)", message: $0.message) }
        }
        return errors
    }

    /// `"20000-20999"` → 20000...20999; nil unless two ports in 1...65535, the first not above the second.
    public static func parsePortRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let low = Int(parts[0].trimmingASCIIWhitespace()), let high = Int(parts[1].trimmingASCIIWhitespace()),
            (1...65535).contains(low), (1...65535).contains(high), low <= high
        else { return nil }
        return low...high
    }

    /// The four bytes of a dotted IPv4 address (``CIDRSyntax/parseAddress(_:)``, the agent's one address parser); nil
    /// otherwise, IPv6 included.
    public static func parseIPv4(_ text: String) -> [UInt8]? {
        CIDRSyntax.parseAddress(text).flatMap { $0.count == 4 ? $0 : nil }
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "viworks-agent" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return SessionRules.isValidLabelValue(name) ? name : "viworks-agent"
    }
}

/// Sizes such as `"256MiB"` (the configuration's and the request's `memory`).
public enum ByteSize {
    /// `"256MiB"`, `"1GiB"`, `"512M"`, `"64k"`, `"1048576"` (bytes) → bytes. Binary units (KiB, MiB, GiB, TiB) and
    /// their short forms (k/K, m/M, g/G, t/T, with an optional trailing `B`) are powers of 1024, as Docker reads them;
    /// `KB`, `MB`, `GB` are powers of 1000. Nil for anything else, negative or fractional byte counts and values
    /// beyond 2^62.
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingASCIIWhitespace()
        let digits = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = trimmed.dropFirst(digits.count).trimmingASCIIWhitespace()
        guard !digits.isEmpty, let value = Double(digits), value.isFinite, value >= 0 else { return nil }
        let scale: Double
        switch unit {
        case "", "B", "b": scale = 1
        case "k", "K", "KiB", "Ki": scale = 1024
        case "KB", "kB": scale = 1000
        case "m", "M", "MiB", "Mi": scale = 1_048_576
        case "MB": scale = 1_000_000
        case "g", "G", "GiB", "Gi": scale = 1_073_741_824
        case "GB": scale = 1_000_000_000
        case "t", "T", "TiB", "Ti": scale = 1_099_511_627_776
        case "TB": scale = 1_000_000_000_000
        default: return nil
        }
        let bytes = (value * scale).rounded()
        guard bytes < Double(Int64(1) << 62), scale > 1 || value == value.rounded() else { return nil }
        return Int64(bytes)
    }

    /// Bytes as the largest binary unit that divides them: `268435456` → `"256MiB"`.
    public static func format(_ bytes: Int64) -> String {
        for (unit, size) in [("TiB", Int64(1) << 40), ("GiB", Int64(1) << 30), ("MiB", Int64(1) << 20), ("KiB", Int64(1) << 10)]
        where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)B"
    }
}
