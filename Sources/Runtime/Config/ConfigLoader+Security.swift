//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// MARK: - The access-control keys

extension ConfigLoader {
    static let securityTables: Set<[String]> = [["tls"], ["auth"], ["auth", "jwt"], ["access"], ["rate_limit"], ["limits"]]

    /// Keys written as TOML arrays of tables (`[[auth.api_keys]]`).
    static let tableArrayPaths: Set<[String]> = [["auth", "api_keys"]]

    static let securityKeys: [String: Setter] = [
        "server.allow_insecure": { config, raw throws(ValueError) in config.security.allowInsecure = try bool(raw) },
        "tls.cert_file": { config, raw throws(ValueError) in config.security.tls.certFile = try optionalPath(raw) },
        "tls.key_file": { config, raw throws(ValueError) in config.security.tls.keyFile = try optionalPath(raw) },
        "tls.client_ca_file": { config, raw throws(ValueError) in config.security.tls.clientCAFile = try optionalPath(raw) },
        "tls.reload_check_interval": { config, raw throws(ValueError) in
            config.security.tls.reloadCheckInterval = try duration(raw, min: .milliseconds(100))
        },
        "auth.anonymous_role": { config, raw throws(ValueError) in
            config.security.auth.anonymousRole = try oneOf(raw, ["auto", "none", "viewer", "operator", "admin"])
        },
        "auth.api_key_file": { config, raw throws(ValueError) in config.security.auth.apiKeyFile = try optionalPath(raw) },
        // From the environment or as a TOML list of strings: `name:role:hash` entries, comma-separated.
        "auth.api_keys": { config, raw throws(ValueError) in
            var entries: [APIKeyEntry] = []
            var problems: [ElementProblem] = []
            for (index, text) in try strings(raw).enumerated() {
                do throws(ValueError) {
                    let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
                    guard parts.count == 3 else { throw ValueError(message: "expected name:role:hash entries, got \"\(text)\"") }
                    entries.append(try apiKeyEntry(name: parts[0], role: parts[1], hash: parts[2]))
                } catch {
                    problems.append(ElementProblem(index: index, message: error.message))
                }
            }
            if !problems.isEmpty { throw ValueError(elements: problems) }
            config.security.auth.apiKeys = entries
        },
        "auth.jwt.hs256_secret_file": { config, raw throws(ValueError) in config.security.auth.jwt.hs256SecretFile = try optionalPath(raw) },
        "auth.jwt.public_key_files": { config, raw throws(ValueError) in
            config.security.auth.jwt.publicKeyFiles = try checkEach(try strings(raw)) { file in
                file.hasPrefix("/") ? nil : "expected absolute paths, got \"\(file)\""
            }
        },
        "auth.jwt.issuer": { config, raw throws(ValueError) in config.security.auth.jwt.issuer = try nonEmpty(raw) },
        "auth.jwt.audience": { config, raw throws(ValueError) in config.security.auth.jwt.audience = try nonEmpty(raw) },
        "auth.jwt.role_claim": { config, raw throws(ValueError) in
            guard let claim = try nonEmpty(raw) else { throw ValueError(message: "must not be empty") }
            config.security.auth.jwt.roleClaim = claim
        },
        "auth.jwt.leeway": { config, raw throws(ValueError) in
            let leeway = try duration(raw, min: .zero)
            guard leeway <= .seconds(600) else { throw ValueError(message: "must be at most 10m") }
            config.security.auth.jwt.leeway = leeway
        },
        "access.allow": { config, raw throws(ValueError) in config.security.access.allow = try cidrs(raw) },
        "access.trusted_proxies": { config, raw throws(ValueError) in config.security.access.trustedProxies = try cidrs(raw) },
        "rate_limit.requests_per_minute": { config, raw throws(ValueError) in config.security.rateLimit.requestsPerMinute = try int(raw, in: 0...1_000_000) },
        "rate_limit.viewer_per_minute": { config, raw throws(ValueError) in config.security.rateLimit.perRole[.viewer] = try int(raw, in: 0...1_000_000) },
        "rate_limit.operator_per_minute": { config, raw throws(ValueError) in
            config.security.rateLimit.perRole[.operator] = try int(raw, in: 0...1_000_000)
        },
        "rate_limit.admin_per_minute": { config, raw throws(ValueError) in config.security.rateLimit.perRole[.admin] = try int(raw, in: 0...1_000_000) },
        "rate_limit.max_clients": { config, raw throws(ValueError) in config.security.rateLimit.maxClients = try int(raw, in: 16...10_000_000) },
        "limits.max_body_bytes": { config, raw throws(ValueError) in config.security.limits.maxBodyBytes = try int(raw, in: 1...(1 << 30)) },
        "limits.max_header_bytes": { config, raw throws(ValueError) in config.security.limits.maxHeaderBytes = try int(raw, in: 1024...(80 * 1024)) },
        "limits.max_url_bytes": { config, raw throws(ValueError) in config.security.limits.maxURLBytes = try int(raw, in: 256...(64 * 1024)) },
        "limits.request_timeout": { config, raw throws(ValueError) in
            let timeout = try duration(raw, min: .milliseconds(100))
            guard timeout <= .seconds(3600) else { throw ValueError(message: "must be at most 1h") }
            config.security.limits.requestTimeout = timeout
        },
    ]

    /// `auth.api_keys.<i>.<name|role|hash>` from a `[[auth.api_keys]]` entry; false for any other path.
    func assignTableArrayEntry(_ path: [String], _ raw: Raw, to configuration: inout AgentConfiguration) throws(ValueError) -> Bool {
        guard path.count == 4, path[0] == "auth", path[1] == "api_keys", let index = Int(path[2]), index >= 1, index <= 10_000 else { return false }
        var keys = configuration.security.auth.apiKeys
        while keys.count < index { keys.append(APIKeyEntry(name: "", role: .viewer, hash: "")) }
        switch path[3] {
        case "name": keys[index - 1].name = try Self.string(raw)
        case "role":
            let text = try Self.string(raw)
            guard let role = AccessRole(name: text) else { throw ValueError(message: "expected one of viewer, operator, admin, got \"\(text)\"") }
            keys[index - 1].role = role
        case "hash":
            let hash = try Self.string(raw)
            guard APIKeyEntry.isWellFormedHash(hash) else {
                // Reported here; the entry is not also reported as having no hash.
                keys[index - 1].hash = "invalid"
                configuration.security.auth.apiKeys = keys
                throw ValueError(message: Self.hashShapeMessage)
            }
            keys[index - 1].hash = hash
        default: throw ValueError(message: "unknown key (an API key has name, role and hash)")
        }
        configuration.security.auth.apiKeys = keys
        return true
    }

    /// The entries of an API key file (`name role hash` per line, `#` comments, blank lines skipped): each line's
    /// 1-based number and its whitespace-separated fields.
    public static func keyFileLines(_ text: String) -> [(line: Int, fields: [String])] {
        var result: [(line: Int, fields: [String])] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.prefix { $0 != "#" }.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if !fields.isEmpty { result.append((number + 1, fields)) }
        }
        return result
    }

    static let hashShapeMessage = "expected a hash printed by `viworks-agent keys create` (hmac-sha256:<32 hex>:<64 hex>); never the key itself"

    static func apiKeyEntry(name: String, role: String, hash: String) throws(ValueError) -> APIKeyEntry {
        guard isValidKeyName(name) else { throw ValueError(message: "API key name \"\(name)\" must be 1-64 letters, digits, '-', '_' or '.'") }
        guard let parsedRole = AccessRole(name: role) else { throw ValueError(message: "expected a role viewer, operator or admin, got \"\(role)\"") }
        guard APIKeyEntry.isWellFormedHash(hash) else { throw ValueError(message: hashShapeMessage) }
        return APIKeyEntry(name: name, role: parsedRole, hash: hash)
    }

    /// An API key name: 1-64 letters, digits, `-`, `_` or `.`.
    public static func isValidKeyName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95 || $0 == 46 }
    }

    /// An absolute path, or nil for an empty string (which unsets the key).
    static func optionalPath(_ raw: Raw) throws(ValueError) -> String? {
        let value = try string(raw)
        if value.isEmpty { return nil }
        return try absolutePath(raw)
    }

    static func nonEmpty(_ raw: Raw) throws(ValueError) -> String? {
        let value = try string(raw)
        return value.isEmpty ? nil : value
    }

    static func cidrs(_ raw: Raw) throws(ValueError) -> [String] {
        try checkEach(try strings(raw)) { value in
            CIDRSyntax.parse(value) == nil ? "\"\(value)\" is not a CIDR block such as 10.0.0.0/8, 192.0.2.7, 2001:db8::/32 or ::1" : nil
        }
    }

    // MARK: Cross-key checks

    /// Safe defaults and files: off loopback the agent needs TLS (or `server.allow_insecure`) and at least one
    /// credential; TLS needs both files; the API key file is read here so its problems carry its own lines.
    func validateSecurity(_ configuration: inout AgentConfiguration, file: String, locator: TOMLKeyLocator?) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func issue(_ key: String, _ message: String) {
            issues.append(ConfigIssue(source: file, line: locator?.line(of: key.split(separator: ".").map(String.init)), key: key, message: message))
        }
        let security = configuration.security
        for (index, key) in security.auth.apiKeys.enumerated() {
            let entry = "auth.api_keys.\(index + 1)"
            if key.name.isEmpty { issue(entry, "an API key needs a name") } else if !Self.isValidKeyName(key.name) {
                issue(entry + ".name", "must be 1-64 letters, digits, '-', '_' or '.'")
            }
            if key.hash.isEmpty { issue(entry, "an API key needs a hash") }
        }
        // Where each key name is defined, to report a name used twice at the second place, naming the first.
        var defined: [String: String] = [:]
        func define(_ name: String, source: String, line: Int?, key: String) {
            guard !name.isEmpty else { return }
            let place = line.map { "\(source):\($0)" } ?? source
            if let first = defined[name] {
                issues.append(
                    ConfigIssue(
                        source: source, line: line, key: key,
                        message: "API key name \"\(name)\" is already used at \(first); names must be unique (they are the client id in logs, audit records and rate limits)"))
            } else {
                defined[name] = place
            }
        }
        for (index, key) in security.auth.apiKeys.enumerated() {
            let path = ["auth", "api_keys", "\(index + 1)", "name"]
            define(key.name, source: file, line: locator?.line(of: path), key: path.joined(separator: "."))
        }
        if let keyFile = security.auth.apiKeyFile {
            do {
                let text = try HostFile.read(keyFile, limit: 1 << 20)
                for (number, content) in Self.keyFileLines(text) {
                    do throws(ValueError) {
                        guard content.count == 3 else { throw ValueError(message: "expected `name role hash`") }
                        configuration.security.auth.apiKeys.append(try Self.apiKeyEntry(name: content[0], role: content[1], hash: content[2]))
                        define(content[0], source: keyFile, line: number, key: "auth.api_key_file")
                    } catch {
                        issues.append(ConfigIssue(source: keyFile, line: number, key: "auth.api_key_file", message: error.message))
                    }
                }
            } catch {
                issue("auth.api_key_file", "cannot read \(keyFile): \(error.reason)")
            }
        }
        let tls = security.tls
        if tls.certFile != nil, tls.keyFile == nil { issue("tls.cert_file", "tls.key_file must be set too") }
        if tls.keyFile != nil, tls.certFile == nil { issue("tls.key_file", "tls.cert_file must be set too") }
        if tls.clientCAFile != nil, !tls.isEnabled { issue("tls.client_ca_file", "mutual TLS needs tls.cert_file and tls.key_file") }
        for (key, path) in [("tls.cert_file", tls.certFile), ("tls.key_file", tls.keyFile), ("tls.client_ca_file", tls.clientCAFile)] {
            if let path, !HostFile.exists(path) { issue(key, "\(path) does not exist") }
        }
        let jwt = security.auth.jwt
        if let secretFile = jwt.hs256SecretFile {
            do {
                _ = try JWTSettings.readHS256Secret(file: secretFile)
            } catch {
                issue("auth.jwt.hs256_secret_file", error.description)
            }
        }
        for path in jwt.publicKeyFiles where !HostFile.exists(path) { issue("auth.jwt.public_key_files", "\(path) does not exist") }
        let host = configuration.server.host
        if !SecuritySettings.isLoopback(host: host) {
            let listen = "\(host):\(configuration.server.port)"
            if !tls.isEnabled && !security.allowInsecure {
                issue(
                    "server.listen",
                    "listening on \(listen), which is not loopback, needs TLS: set tls.cert_file and tls.key_file, or server.allow_insecure = true behind a TLS-terminating proxy"
                )
            }
            if !configuration.security.auth.hasCredentials {
                issue("server.listen", "listening on \(listen), which is not loopback, needs at least one credential: [[auth.api_keys]], auth.api_key_file or [auth.jwt]")
            }
        }
        return issues
    }
}

/// Syntax of a CIDR block, shared by the configuration check and the server's allowlist.
public enum CIDRSyntax {
    /// (address bytes, prefix length) of `a.b.c.d[/n]` or an IPv6 address `[/n]`; nil when malformed.
    public static func parse(_ text: String) -> (address: [UInt8], prefix: Int)? {
        let parts = text.trimmingASCIIWhitespace().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        guard let address = parseAddress(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value), parts[1].utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
            prefix = value
        }
        return (address, prefix)
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address in text form (no zone).
    public static func parseAddress(_ text: String) -> [UInt8]? {
        if !text.contains(":") { return parseIPv4(Substring(text)) }
        var head: [UInt8] = []
        var tail: [UInt8] = []
        var sawGap = false
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowIPv4Tail: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowIPv4Tail, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    bytes += v4
                    continue
                }
                guard (1...4).contains(piece.utf8.count), let value = UInt16(piece, radix: 16) else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xff)]
            }
            return bytes
        }
        if halves.count == 2 {
            sawGap = true
            guard let h = groups(halves[0], allowIPv4Tail: false), let t = groups(halves[1], allowIPv4Tail: true) else { return nil }
            head = h
            tail = t
        } else {
            guard let h = groups(halves[0], allowIPv4Tail: true) else { return nil }
            head = h
        }
        let fill = 16 - head.count - tail.count
        guard sawGap ? fill >= 2 : fill == 0 else { return nil }
        return head + [UInt8](repeating: 0, count: fill) + tail
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for octet in octets {
            guard (1...3).contains(octet.utf8.count), octet.utf8.allSatisfy({ (48...57).contains($0) }), let value = UInt8(octet) else { return nil }
            bytes.append(value)
        }
        return bytes
    }
}
