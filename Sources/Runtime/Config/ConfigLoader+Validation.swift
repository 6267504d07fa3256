//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The checks that span keys, run after the generic pass, and the API key helpers they share with `keys` commands.

/// Where a key's value came from when not from the file: the environment variable or command-line flag that set it.
struct ValueOrigin {
    var source: String
    var key: String

    /// The problem of `key` named by the variable or flag that set it (in `origins`), else at `line` of `file`.
    static func issue(_ key: String, _ message: String, origins: [String: ValueOrigin], file: String, line: @autoclosure () -> Int?) -> ConfigIssue {
        if let origin = origins[key] { return ConfigIssue(source: origin.source, line: nil, key: origin.key, message: message) }
        return ConfigIssue(source: file, line: line(), key: key, message: message)
    }
}

extension ConfigLoader {
    /// Checks that span keys. Each problem is placed on the line of its key, else of `near` (the key it is compared
    /// with), else of the nearest table; a key set by the environment or the command line is named as such.
    /// Problems that do not refuse the configuration (a command whose executable is not on this host) go to `warnings`.
    func validate(
        _ configuration: AgentConfiguration, file: String, locator: TOMLKeyLocator?, origins: [String: ValueOrigin] = [:], warnings: inout [ConfigIssue]
    ) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func place(_ key: String, near: String?, _ message: String) -> ConfigIssue {
            let paths = ([key] + (near.map { [$0] } ?? [])).map { $0.split(separator: ".").map(String.init) }
            return ValueOrigin.issue(
                key, message, origins: origins, file: file, line: paths.lazy.compactMap { locator?.exactLine(of: $0) }.first ?? locator?.line(of: paths[0]))
        }
        func issue(_ key: String, near: String? = nil, _ message: String) { issues.append(place(key, near: near, message)) }
        func warning(_ key: String, _ message: String) { warnings.append(place(key, near: nil, message)) }
        let (supervisor, history, alerts) = (configuration.supervisor, configuration.history, configuration.alerts)
        if supervisor.backoffMax < supervisor.backoffInitial {
            issue("supervisor.backoff_max", near: "supervisor.backoff_initial", "must not be smaller than supervisor.backoff_initial")
        }
        if history.minuteRetention < history.retention {
            issue("history.minute_retention", near: "history.retention", "must not be shorter than history.retention")
        }
        if history.hourRetention < history.minuteRetention {
            issue("history.hour_retention", near: "history.minute_retention", "must not be shorter than history.minute_retention")
        }
        for (name, rule) in [("cpu", alerts.cpu), ("memory", alerts.memory), ("load", alerts.load), ("disk", alerts.disk)] {
            let key = "alerts.\(name)"
            if rule.critical < rule.warning { issue(key + ".critical", near: key + ".warning", "must not be below \(key).warning") }
            if rule.effectiveWarningClear > rule.warning { issue(key + ".warning_clear", near: key + ".warning", "must not be above \(key).warning") }
            if rule.effectiveCriticalClear > rule.critical { issue(key + ".critical_clear", near: key + ".critical", "must not be above \(key).critical") }
        }
        if configuration.plugins.enabled {
            let directory = configuration.plugins.directory
            do {
                _ = try HostFile.list(directory)
            } catch where error.errno != ENOENT {
                issue("plugins.directory", error.errno == ENOTDIR ? "\(directory) is not a directory" : "cannot read \(directory): \(error.reason)")
            } catch {}
        }
        for definition in configuration.commands.definitions {
            let key = "commands.\(definition.id)"
            let executable = definition.executable
            if executable.isEmpty { issue(key, "a command needs an absolute executable") }
            // What a command runs as is only looked at when commands run: a configuration shared by hosts that lack
            // one program still starts (the command answers 409 unavailable there), a file that cannot run does not.
            if configuration.commands.enabled, !executable.isEmpty {
                let kind = HostFile.kind(executable)
                if kind == nil {
                    warning(key + ".executable", "\(executable) does not exist on this host: the command answers 409 unavailable until it does")
                } else if kind != .regularFile || access(executable, X_OK) != 0 {
                    issue(key + ".executable", "\(executable) is not an executable file")
                }
                do throws(UserAccounts.LookupError) {
                    if let user = definition.user {
                        _ = try UserAccounts.userID(user)
                        if definition.group == nil { _ = try UserAccounts.primaryGroup(of: user) }
                    }
                } catch {
                    issue(key + ".user", "\(error) on this host" + (definition.group == nil ? " (a user without a group needs a passwd entry for its primary group)" : ""))
                }
                do throws(UserAccounts.LookupError) {
                    if let group = definition.group { _ = try UserAccounts.groupID(group) }
                } catch {
                    issue(key + ".group", "\(error) on this host")
                }
            }
            let used = definition.arguments.flatMap { CommandDefinition.pieces($0) ?? [] }.compactMap { piece -> String? in
                if case .parameter(let name) = piece { return name }
                return nil
            }
            for name in Set(used).subtracting(definition.parameters.keys).sorted() { issue(key + ".arguments", "{\(name)} has no [\(key).parameters] entry") }
        }
        for definition in configuration.services.definitions where definition.enabled && !definition.isLocatable {
            issue("services.\(definition.name)", "a service needs units, process_names or command_patterns to be found")
        }
        // The agent's own files: the state directory (its databases, the outbox) and the history database.
        if let problem = HostFile.directoryProblem(configuration.stateDirectory) { issue("agent.state_directory", problem) }
        if !history.path.isEmpty {
            let kind = HostFile.kind(history.path)
            if kind == .directory {
                issue("history.path", "\(history.path) is a directory: name the database file in it, such as \(history.path.hasSuffix("/") ? history.path : history.path + "/")history.db")
            } else if kind != nil, kind != .regularFile {
                issue("history.path", "\(history.path) is not a regular file")
            } else if let problem = HostFile.directoryProblem(HostFile.directory(of: history.path)) {
                issue("history.path", problem)
            }
        }
        validateContainers(configuration.containers, issue: issue) { locator?.exactLine(of: $0.split(separator: ".").map(String.init)) != nil }
        let postgresql = configuration.outputs.postgresql
        if postgresql.caFile != nil, postgresql.tls != .verifyFull {
            issue("outputs.postgresql.ca_file", near: "outputs.postgresql.tls", "is only used with tls = \"verify-full\"")
        }
        if postgresql.enabled {
            for (key, path) in [("password_file", postgresql.passwordFile), ("ca_file", postgresql.caFile)] {
                guard let path else { continue }
                do {
                    let text = try HostFile.read(path, limit: key == "ca_file" ? PEMCertificates.maximumFileBytes : 1 << 20)
                    if key == "ca_file", PEMCertificates.parse(text) == nil { issue("outputs.postgresql.ca_file", "\(path) holds no PEM certificates") }
                } catch {
                    issue("outputs.postgresql.\(key)", "cannot read \(path): \(error.reason)")
                }
            }
            if AgentIdentity.resolve(configured: postgresql.agentID, paths: configuration.paths) == nil {
                issue("outputs.postgresql.agent_id", "no /etc/machine-id or host name to derive an id from: set agent_id")
            }
        }
        return issues
    }

    /// `[containers]` and its templates: ``ContainerSettings/validate()``, each problem on its key's line. A template
    /// that does not set its image or its port is reported once, on its table (a key that is set but invalid has
    /// been reported on its own line).
    private func validateContainers(_ containers: ContainerSettings, issue: (String, String?, String) -> Void, isWritten: (String) -> Bool) {
        var missing: Set<String> = []
        for name in containers.templates.keys.sorted() {
            guard let template = containers.templates[name] else { continue }
            let key = "containers.templates.\(name)"
            if template.image.isEmpty, !isWritten(key + ".image") {
                issue(key, nil, "a template needs an image (a local image reference such as \"debian:12\")")
                missing.insert("templates.\(name).image")
            }
            if template.port == 0 {
                // A port that was written is invalid and already reported on its own line.
                if !isWritten(key + ".port") { issue(key, nil, "a template needs a port (the TCP port its session listens on inside the container)") }
                missing.insert("templates.\(name).port")
            }
        }
        for error in containers.validate() where !missing.contains(error.field) {
            issue("containers.\(error.field)", nil, error.message)
        }
        // The engine may start after the agent: a socket that is not there yet is fine, something else in its place is
        // not, nor a place where no socket can ever be.
        if containers.enabled != .off {
            let socket = containers.socket
            if let kind = HostFile.kind(socket) {
                if kind != .socket { issue("containers.socket", nil, "\(socket) is not a socket (the engine's API socket, such as \(ContainerSettings.defaultSocket))") }
            } else if socket.hasPrefix("/"), let problem = HostFile.directoryProblem(HostFile.directory(of: socket), writable: false) {
                issue("containers.socket", nil, problem)
            }
        }
    }

    /// Safe defaults and files: off loopback the agent needs TLS (or `server.allow_insecure`) and at least one
    /// credential; TLS needs both files; the API key file is read here so its problems carry its own lines.
    func validateSecurity(
        _ configuration: inout AgentConfiguration, file: String, locator: TOMLKeyLocator?, origins: [String: ValueOrigin] = [:]
    ) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func issue(_ key: String, _ message: String) {
            issues.append(ValueOrigin.issue(key, message, origins: origins, file: file, line: locator?.line(of: key.split(separator: ".").map(String.init))))
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
        if !jwt.isEnabled, JWTSettings.keys.contains(where: { locator?.exactLine(of: ["auth", "jwt", $0.name]) != nil || origins["auth.jwt." + $0.name] != nil }) {
            issue("auth.jwt", "[auth.jwt] needs hs256_secret_file or public_key_files: without a key no token can be verified and the table is ignored")
        }
        let host = configuration.server.host
        if !SecuritySettings.isLoopback(host: host) {
            let listen = configuration.server.listen
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
}
