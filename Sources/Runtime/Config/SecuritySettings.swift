//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// A role of the API, from least to most privileged: `viewer` < `operator` < `admin`.
public enum AccessRole: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Reads: status, system, collectors, plugins, metrics.
    case viewer = 1
    /// Changes the agent's own state: enable a plugin, rescan plugins.d.
    case `operator` = 2
    /// Commands on the host.
    case admin = 3

    public init?(name: String) {
        switch name.lowercased() {
        case "viewer": self = .viewer
        case "operator": self = .operator
        case "admin": self = .admin
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .viewer: "viewer"
        case .operator: "operator"
        case .admin: "admin"
        }
    }

    public static func < (lhs: AccessRole, rhs: AccessRole) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One API key: a name (the client id of logs and rate limits), a role, and the salted hash of the key.
public struct APIKeyEntry: Sendable, Hashable {
    public var name: String
    public var role: AccessRole
    /// `hmac-sha256:<salt, 32 hex digits>:<HMAC-SHA256(salt, key), 64 hex digits>` (what `viworks-agent keys create` prints).
    public var hash: String

    public init(name: String, role: AccessRole, hash: String) {
        self.name = name
        self.role = role
        self.hash = hash
    }

    /// Whether `hash` has the shape `keys create` writes.
    public static func isWellFormedHash(_ hash: String) -> Bool {
        let parts = hash.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "hmac-sha256", parts[1].utf8.count == 32, parts[2].utf8.count == 64 else { return false }
        return (parts[1] + parts[2]).utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// `[tls]`: HTTPS with a certificate and key in PEM files, reloaded on SIGHUP and when the files change.
public struct TLSSettings: Sendable, Hashable {
    /// `cert_file`: the certificate chain (leaf first), PEM.
    public var certFile: String?
    /// `key_file`: the private key of the leaf certificate, PEM.
    public var keyFile: String?
    /// `client_ca_file`: when set, clients must present a certificate signed by one of these CAs (mutual TLS).
    public var clientCAFile: String?
    /// `reload_check_interval`: how often the files' modification time, size and inode are compared.
    public var reloadCheckInterval: Duration = .seconds(5)

    public init() {}

    /// Whether HTTPS is configured.
    public var isEnabled: Bool { certFile != nil && keyFile != nil }
}

/// `[auth]` and `[auth.jwt]`.
public struct AuthSettings: Sendable, Hashable {
    /// `anonymous_role`: the role of a request without credentials. `auto`: `viewer` when the agent listens on
    /// loopback and no credential is configured, else none. `none` always asks for credentials.
    public var anonymousRole: String = "auto"
    /// `[[auth.api_keys]]` and the entries of `api_key_file`.
    public var apiKeys: [APIKeyEntry] = []
    /// `api_key_file`: lines `name role hash` (what `keys create --file` appends); `#` starts a comment.
    public var apiKeyFile: String?
    /// `[auth.jwt]`.
    public var jwt = JWTSettings()

    public init() {}

    /// Whether at least one credential (API key or JWT key) is configured.
    public var hasCredentials: Bool { !apiKeys.isEmpty || apiKeyFile != nil || jwt.isEnabled }
}

/// `[auth.jwt]`: bearer JWTs signed with HS256 (shared secret) or ES256 / EdDSA (public keys).
public struct JWTSettings: Sendable, Hashable {
    /// `hs256_secret_file`: a file holding the HS256 secret: its bytes as they are (binary is fine), less one trailing
    /// newline; at least 32 bytes. See ``readHS256Secret(file:)``.
    public var hs256SecretFile: String?
    /// `public_key_files`: PEM public keys, P-256 (ES256) or Ed25519 (EdDSA).
    public var publicKeyFiles: [String] = []
    /// `issuer`: when set, `iss` must equal it.
    public var issuer: String?
    /// `audience`: when set, `aud` must contain it.
    public var audience: String?
    /// `role_claim`: the claim naming the role (a string, or a list whose highest known role counts).
    public var roleClaim: String = "role"
    /// `leeway`: clock skew allowed on `exp` and `nbf`.
    public var leeway: Duration = .seconds(30)

    public init() {}

    public var isEnabled: Bool { hs256SecretFile != nil || !publicKeyFiles.isEmpty }

    /// The shortest HS256 secret accepted (RFC 7518 §3.2: at least the hash's size).
    public static let minimumSecretBytes = 32

    /// Why an HS256 secret file is refused.
    public struct SecretFileError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The HS256 key in `file`: its bytes as they are (any binary content; no text decoding, no trimming), less one
    /// trailing newline (`\n` or `\r\n`), so that both `echo "$secret" > file` and `head -c 64 /dev/urandom > file` work.
    /// - Throws: naming the file, when it cannot be read or the key is shorter than ``minimumSecretBytes``.
    public static func readHS256Secret(file: String) throws(SecretFileError) -> [UInt8] {
        var bytes: [UInt8]
        do {
            bytes = try HostFile.readBytes(file, limit: 64 * 1024)
        } catch {
            throw SecretFileError(description: "cannot read \(file): \(error.reason)")
        }
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        guard bytes.count >= minimumSecretBytes else {
            throw SecretFileError(description: "\(file): the HS256 secret must be at least \(minimumSecretBytes) bytes, got \(bytes.count)")
        }
        return bytes
    }
}

/// `[access]`: which addresses may talk to the API at all.
public struct AccessListSettings: Sendable, Hashable {
    /// `allow`: CIDR blocks (IPv4 and IPv6) allowed to connect; empty allows every address.
    public var allow: [String] = []
    /// `trusted_proxies`: CIDR blocks whose `X-Forwarded-For` is believed; ignored from anyone else.
    public var trustedProxies: [String] = []

    public init() {}
}

/// `[rate_limit]`: a token bucket per client (credential name, else address).
public struct RateLimitSettings: Sendable, Hashable {
    /// `requests_per_minute`: default rate and burst of every client; 0 turns rate limiting off.
    public var requestsPerMinute: Int = 100
    /// `viewer_per_minute`, `operator_per_minute`, `admin_per_minute`: per-role overrides.
    public var perRole: [AccessRole: Int] = [:]
    /// `max_clients`: clients remembered at most; the least recently seen are forgotten first.
    public var maxClients: Int = 10_000

    public init() {}

    public func limit(for role: AccessRole?) -> Int {
        role.flatMap { perRole[$0] } ?? requestsPerMinute
    }
}

/// `[limits]`: request size and time limits.
public struct RequestLimitSettings: Sendable, Hashable {
    /// `max_body_bytes`: larger bodies are refused with 413.
    public var maxBodyBytes: Int = 64 * 1024
    /// `max_header_bytes`: all header names and values together; more is 431.
    public var maxHeaderBytes: Int = 16 * 1024
    /// `max_url_bytes`: the request target; longer is 414.
    public var maxURLBytes: Int = 4096
    /// `request_timeout`: once a client starts sending, its whole request must have arrived within this time, else the
    /// connection is closed (slow clients, slowloris).
    public var requestTimeout: Duration = .seconds(15)

    public init() {}
}

/// The access-control part of the configuration.
public struct SecuritySettings: Sendable, Hashable {
    /// `server.allow_insecure`: serve plain HTTP off loopback (behind a TLS-terminating proxy); logged as a warning.
    public var allowInsecure = false
    public var tls = TLSSettings()
    public var auth = AuthSettings()
    public var access = AccessListSettings()
    public var rateLimit = RateLimitSettings()
    public var limits = RequestLimitSettings()

    public init() {}

    /// Whether `host` (as written in `server.listen`) is a loopback address: `127.0.0.0/8`, `::1` or `localhost`.
    public static func isLoopback(host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// The role of a request without credentials, resolved for a listen host.
    public func anonymousRole(listenHost: String) -> AccessRole? {
        switch auth.anonymousRole {
        case "none": return nil
        case "auto": return Self.isLoopback(host: listenHost) && !auth.hasCredentials ? .viewer : nil
        default: return AccessRole(name: auth.anonymousRole)
        }
    }
}

extension TLSSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .optionalPath("cert_file", \.certFile),
        .optionalPath("key_file", \.keyFile),
        .optionalPath("client_ca_file", \.clientCAFile),
        .duration("reload_check_interval", \.reloadCheckInterval, min: .milliseconds(100)),
    ]
}

extension AuthSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .oneOf("anonymous_role", \.anonymousRole, ["auto", "none", "viewer", "operator", "admin"]),
        .optionalPath("api_key_file", \.apiKeyFile),
        // From the environment or as a TOML list of strings: `name:role:hash` entries, comma-separated.
        .custom("api_keys") { auth, raw throws(ConfigValueError) in
            var entries: [APIKeyEntry] = []
            var problems: [ConfigValueError.Element] = []
            for (index, text) in try raw.strings().enumerated() {
                do throws(ConfigValueError) {
                    let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
                    guard parts.count == 3 else { throw ConfigValueError(message: "expected name:role:hash entries, got \"\(text)\"") }
                    entries.append(try ConfigLoader.apiKeyEntry(name: parts[0], role: parts[1], hash: parts[2]))
                } catch {
                    problems.append(.init(index: index, message: error.message))
                }
            }
            if !problems.isEmpty { throw ConfigValueError(elements: problems) }
            auth.apiKeys = entries
        },
    ]
}

extension APIKeyEntry: ConfigSection {
    /// The keys of a `[[auth.api_keys]]` entry.
    public static let keys: [ConfigKey<Self>] = [
        .string("name", \.name),
        .custom("role") { entry, raw throws(ConfigValueError) in
            let text = try raw.string()
            guard let role = AccessRole(name: text) else { throw ConfigValueError(message: "expected one of viewer, operator, admin, got \"\(text)\"") }
            entry.role = role
        },
        .custom("hash") { entry, raw throws(ConfigValueError) in
            let hash = try raw.string()
            // A malformed hash is reported here; the entry is not also reported as having no hash.
            entry.hash = APIKeyEntry.isWellFormedHash(hash) ? hash : "invalid"
            if entry.hash == "invalid" { throw ConfigValueError(message: ConfigLoader.hashShapeMessage) }
        },
    ]
}

extension JWTSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .optionalPath("hs256_secret_file", \.hs256SecretFile),
        .strings("public_key_files", \.publicKeyFiles) { $0.hasPrefix("/") ? nil : "expected absolute paths, got \"\($0)\"" },
        .custom("issuer") { jwt, raw throws(ConfigValueError) in jwt.issuer = try raw.nonEmpty() },
        .custom("audience") { jwt, raw throws(ConfigValueError) in jwt.audience = try raw.nonEmpty() },
        .value("role_claim", \.roleClaim) { raw throws(ConfigValueError) in
            guard let claim = try raw.nonEmpty() else { throw ConfigValueError(message: "must not be empty") }
            return claim
        },
        .duration("leeway", \.leeway, min: .zero, max: "10m"),
    ]
}

extension AccessListSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .strings("allow", \.allow, check: CIDRSyntax.problem),
        .strings("trusted_proxies", \.trustedProxies, check: CIDRSyntax.problem),
    ]
}

extension RateLimitSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .int("requests_per_minute", \.requestsPerMinute, in: 0...1_000_000),
        .int("viewer_per_minute", \.perRole[.viewer], in: 0...1_000_000),
        .int("operator_per_minute", \.perRole[.operator], in: 0...1_000_000),
        .int("admin_per_minute", \.perRole[.admin], in: 0...1_000_000),
        .int("max_clients", \.maxClients, in: 16...10_000_000),
    ]
}

extension RequestLimitSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .int("max_body_bytes", \.maxBodyBytes, in: 1...(1 << 30)),
        .int("max_header_bytes", \.maxHeaderBytes, in: 1024...(80 * 1024)),
        .int("max_url_bytes", \.maxURLBytes, in: 256...(64 * 1024)),
        .duration("request_timeout", \.requestTimeout, min: .milliseconds(100), max: "1h"),
    ]
}
