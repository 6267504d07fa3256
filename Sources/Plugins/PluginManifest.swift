//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a plugin delivers samples.
public enum PluginMode: String, Sendable, Hashable, CaseIterable {
    /// The agent writes `collect` each interval and waits for the reply.
    case poll
    /// The plugin pushes `metrics` on its own, at least once per interval.
    case stream
}

/// `[restart]` of a manifest: the plugin's ``ExponentialJitterRestartPolicy``.
public struct PluginRestartSettings: Sendable, Hashable {
    public var backoffInitial: Duration
    public var backoffMax: Duration
    public var maxRestarts: Int
    public var stableAfter: Duration

    public init(_ settings: SupervisorSettings = SupervisorSettings()) {
        backoffInitial = settings.backoffInitial
        backoffMax = settings.backoffMax
        maxRestarts = settings.maxRestarts
        stableAfter = settings.stableAfter
    }
}

/// One `plugins.d/*.toml`, validated and resolved (docs/plugin-protocol.md, section 6).
public struct PluginManifest: Sendable, Hashable {
    public var name: String
    /// The manifest file.
    public var file: String
    /// argv as written in the manifest.
    public var command: [String]
    /// The executable to run, resolved (relative to the manifest's directory, or found in `PATH`).
    public var executable: String
    /// The arguments after argv[0], with `./` and `../` ones resolved against the manifest's directory.
    public var arguments: [String]
    public var mode: PluginMode
    public var interval: Duration
    public var timeout: Duration
    public var environment: [String: String]
    public var workingDirectory: String
    public var user: String?
    public var group: String?
    public var maxLineBytes: Int
    /// `max_series`: the most distinct series (name + labels) the plugin may have at once; samples of further
    /// new series are dropped (`series_limit`) until an old series has been idle for `seriesIdleTimeout`.
    public var maxSeries: Int
    /// `max_messages_per_second`: lines read per second after the hello; the excess is dropped unread
    /// (`rate_limited`) and reading pauses until the next second, which slows a flooding plugin down.
    public var maxMessagesPerSecond: Int
    /// A series the plugin has not reported for this long stops counting against `maxSeries` (`[history] series_idle_timeout`).
    public var seriesIdleTimeout: Duration
    /// The oldest `timestamp_ms` accepted, as an age (`[history] retention`): older data would be deleted at once.
    public var maxTimestampAge: Duration
    public var restart: PluginRestartSettings
    public var enabled: Bool
    /// Size and modification time of the executable and the script arguments: a reload restarts a plugin
    /// whose code changed even when its manifest did not.
    public var codeFingerprint: [Int64]

    public static let defaultMaxLineBytes = 65_536
    public static let maxLineBytesRange = 1024...(16 << 20)
    public static let defaultMaxSeries = 1000
    public static let maxSeriesRange = 1...100_000
    public static let defaultMaxMessagesPerSecond = 1000
    public static let maxMessagesPerSecondRange = 1...1_000_000
    /// How far ahead of the agent's clock a `timestamp_ms` may be (clock skew between plugin and agent).
    public static let maxTimestampLead: Duration = .seconds(300)
}

/// Defaults a manifest does not set, from the agent's configuration.
public struct PluginDefaults: Sendable, Hashable {
    public var interval: Duration
    public var restart: PluginRestartSettings
    /// `PATH` used to find a bare command name.
    public var searchPath: String
    /// Refuse manifests, directories and executables that are group/world-writable or owned by another user.
    public var checkOwnership: Bool
    /// `[plugins] max_series_per_plugin`: `max_series` of a manifest that does not set it.
    public var maxSeries: Int
    /// `[history] series_idle_timeout`.
    public var seriesIdleTimeout: Duration
    /// `[history] retention`: the oldest accepted `timestamp_ms`.
    public var maxTimestampAge: Duration

    public init(
        interval: Duration = .seconds(30), restart: PluginRestartSettings = PluginRestartSettings(),
        searchPath: String = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", checkOwnership: Bool = true,
        maxSeries: Int = PluginManifest.defaultMaxSeries, seriesIdleTimeout: Duration = HistorySettings().seriesIdleTimeout,
        maxTimestampAge: Duration = HistorySettings().retention
    ) {
        self.interval = interval
        self.restart = restart
        self.searchPath = searchPath
        self.checkOwnership = checkOwnership
        self.maxSeries = maxSeries
        self.seriesIdleTimeout = seriesIdleTimeout
        self.maxTimestampAge = maxTimestampAge
    }
}

/// Reads `plugins.d/*.toml`. Every problem is a ``ConfigIssue`` with file, line and key; a bad manifest is
/// skipped and the others still load.
public struct PluginManifestLoader: Sendable {
    public var defaults: PluginDefaults

    public init(defaults: PluginDefaults = PluginDefaults()) {
        self.defaults = defaults
    }

    /// Every `*.toml` in `directory` (sorted by file name), and the problems of the ones that did not load.
    public func loadDirectory(_ directory: String) -> (manifests: [PluginManifest], issues: [ConfigIssue]) {
        let names: [String]
        do {
            names = try HostFile.list(directory).filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }.sorted()
        } catch {
            if error.isMissing { return ([], []) }
            return ([], [ConfigIssue(source: directory, line: nil, key: "", message: "cannot list the plugins directory: \(error)")])
        }
        if defaults.checkOwnership, let problem = PluginFileCheck.problem(directory, what: "plugins directory") {
            return ([], [ConfigIssue(source: directory, line: nil, key: "", message: "refused: \(problem)")])
        }
        var manifests: [PluginManifest] = []
        var issues: [ConfigIssue] = []
        var seen: [String: String] = [:]
        for name in names {
            let file = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            switch load(file: file) {
            case .success(let manifest):
                if let other = seen[manifest.name] {
                    issues.append(ConfigIssue(source: file, line: 1, key: "name", message: "plugin \"\(manifest.name)\" is already defined in \(other)"))
                    continue
                }
                seen[manifest.name] = file
                manifests.append(manifest)
            case .failure(let error):
                issues += error.issues
            }
        }
        return (manifests, issues)
    }

    /// One manifest file (a relative path is taken from the current directory).
    public func load(file: String) -> Result<PluginManifest, ConfigError> {
        let file = Self.absolute(file)
        let text: String
        do {
            text = try HostFile.read(file, limit: 256 << 10)
        } catch {
            return .failure(ConfigError(issues: [ConfigIssue(source: file, line: nil, key: "", message: "cannot read: \(error)")]))
        }
        if defaults.checkOwnership, let problem = PluginFileCheck.problem(file, what: "manifest") {
            return .failure(ConfigError(issues: [ConfigIssue(source: file, line: nil, key: "", message: "refused: \(problem)")]))
        }
        return parse(text: text, file: file)
    }

    /// Parses and validates manifest text; `file` names it in issues and its directory anchors relative paths.
    public func parse(text: String, file: String) -> Result<PluginManifest, ConfigError> {
        var fields = ManifestFields(maxSeries: defaults.maxSeries, restart: defaults.restart)
        var issues = ManifestFields.pass.apply(toml: text, file: file, to: &fields)
        if let syntax = issues.first(where: { $0.key.isEmpty }) { return .failure(ConfigError(issues: [syntax])) }
        let locator = TOMLKeyLocator(text: text)
        func issue(_ path: [String], _ message: String) {
            issues.append(ConfigIssue(source: file, line: locator.line(of: path), key: path.joined(separator: "."), message: message))
        }
        let directory = HostFile.directory(of: file)
        let (name, command, enabled, restart) = (fields.name, fields.command, fields.enabled, fields.restart)
        if name == nil, !issues.contains(where: { $0.key == "name" }) { issues.append(ConfigIssue(source: file, line: nil, key: "name", message: "missing")) }
        if command == nil, !issues.contains(where: { $0.key == "command" }) { issues.append(ConfigIssue(source: file, line: nil, key: "command", message: "missing")) }
        if restart.backoffMax < restart.backoffInitial { issue(["restart", "backoff_max"], "must not be smaller than backoff_initial") }

        var executable = ""
        var arguments: [String] = []
        var fingerprint: [Int64] = []
        if let command, let first = command.first {
            if let resolved = resolveExecutable(first, directory: directory) {
                executable = resolved
                if access(resolved, X_OK) != 0, enabled {
                    issue(["command"], "\(resolved) is not executable (chmod +x, or run it through an interpreter: [\"python3\", \"\(first)\"])")
                } else if defaults.checkOwnership, let problem = PluginFileCheck.problem(resolved, what: "executable") {
                    issue(["command"], "refused: \(problem)")
                }
                fingerprint += PluginFileCheck.fingerprint(resolved)
            } else if !enabled {
                // A disabled example need not be installed (or built) yet; enabling it reports the problem.
                executable = first.contains("/") ? Self.resolve(first, in: directory) : first
            } else {
                issue(["command"], first.contains("/") ? "\(Self.resolve(first, in: directory)) does not exist" : "\(first) is not in PATH (\(defaults.searchPath))")
            }
            for argument in command.dropFirst() {
                if argument.hasPrefix("./") || argument.hasPrefix("../") {
                    let path = Self.resolve(argument, in: directory)
                    arguments.append(path)
                    if HostFile.exists(path) {
                        if defaults.checkOwnership, let problem = PluginFileCheck.problem(path, what: "script") { issue(["command"], "refused: \(problem)") }
                        fingerprint += PluginFileCheck.fingerprint(path)
                    }
                } else {
                    arguments.append(argument)
                }
            }
        }
        guard issues.isEmpty, let name, let command else {
            return .failure(ConfigError(issues: issues.sorted { ($0.line ?? Int.max, $0.key) < ($1.line ?? Int.max, $1.key) }))
        }
        let interval = fields.interval ?? defaults.interval
        return .success(
            PluginManifest(
                name: name, file: file, command: command, executable: executable, arguments: arguments, mode: fields.mode, interval: interval,
                timeout: fields.timeout ?? min(.seconds(10), interval), environment: fields.environment,
                workingDirectory: fields.workingDirectory.map { Self.resolve($0, in: directory) } ?? directory, user: fields.user, group: fields.group,
                maxLineBytes: fields.maxLineBytes, maxSeries: fields.maxSeries, maxMessagesPerSecond: fields.maxMessagesPerSecond,
                seriesIdleTimeout: defaults.seriesIdleTimeout, maxTimestampAge: defaults.maxTimestampAge, restart: restart, enabled: enabled,
                codeFingerprint: fingerprint
            ))
    }

    // MARK: - Helpers

    /// 1 to 64 of `[a-zA-Z0-9_.-]`, starting with a letter or digit (so never `.`, `..` or a hidden name: the name is a
    /// path segment of `/api/v1/plugins/{name}`).
    static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard (1...64).contains(utf8.count), let first = utf8.first,
            (0x30...0x39).contains(first) || (0x41...0x5A).contains(first) || (0x61...0x7A).contains(first)
        else { return false }
        return utf8.allSatisfy { b in
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x5F || b == 0x2E || b == 0x2D
        }
    }

    /// `path` made absolute against the current directory.
    static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return normalize(cwd + "/" + path)
    }

    /// `path` made absolute against `directory` (which may itself be relative to the working directory).
    static func resolve(_ path: String, in directory: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        return normalize(directory + "/" + path)
    }

    /// Removes `.` and `..` components and doubled slashes, lexically.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    func resolveExecutable(_ name: String, directory: String) -> String? {
        if name.contains("/") {
            let path = Self.resolve(name, in: directory)
            return HostFile.exists(path) ? path : nil
        }
        for entry in defaults.searchPath.split(separator: ":") where !entry.isEmpty {
            let candidate = entry + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// A manifest's keys as written, each checked by the configuration's value kinds in the shared generic pass; paths are
/// resolved and the command is looked up afterwards.
struct ManifestFields: Sendable {
    var name: String?
    var command: [String]?
    var mode = PluginMode.poll
    var interval: Duration?
    var timeout: Duration?
    var enabled = true
    var maxLineBytes = PluginManifest.defaultMaxLineBytes
    var maxSeries: Int
    var maxMessagesPerSecond = PluginManifest.defaultMaxMessagesPerSecond
    var workingDirectory: String?
    var user: String?
    var group: String?
    var environment: [String: String] = [:]
    var restart: PluginRestartSettings

    static let keys: [ConfigKey<Self>] = [
        .custom("name") { fields, raw throws(ConfigValueError) in
            let text = try raw.string()
            guard text != "reload" else { throw ConfigValueError(message: "\"reload\" is reserved (POST /api/v1/plugins/reload)") }
            guard PluginManifestLoader.isValidName(text) else {
                throw ConfigValueError(message: "expected 1 to 64 of [a-zA-Z0-9_.-] starting with a letter or digit, got \"\(text)\"")
            }
            fields.name = text
        },
        .custom("command") { fields, raw throws(ConfigValueError) in
            guard case .array(let items) = raw, !items.isEmpty else {
                throw ConfigValueError(
                    message: "expected a non-empty list of strings (argv), e.g. [\"./plugin.sh\", \"--flag\"]; a shell string is not accepted")
            }
            let argv = items.compactMap { item -> String? in if case .string(let text) = item { text } else { nil } }
            guard argv.count == items.count, let first = argv.first, !first.isEmpty else {
                throw ConfigValueError(message: "expected a non-empty list of strings (argv)")
            }
            fields.command = argv
        },
        .oneOf("mode", \.mode),
        .duration("interval", \.interval, min: .milliseconds(100), max: "24h"),
        .duration("timeout", \.timeout, min: .milliseconds(10)),
        .bool("enabled", \.enabled),
        .int("max_line_bytes", \.maxLineBytes, in: PluginManifest.maxLineBytesRange),
        .int("max_series", \.maxSeries, in: PluginManifest.maxSeriesRange),
        .int("max_messages_per_second", \.maxMessagesPerSecond, in: PluginManifest.maxMessagesPerSecondRange),
        .value("working_directory", \.workingDirectory, nonEmpty("expected a path")),
        .value("user", \.user, nonEmpty("expected a user name or uid")),
        .value("group", \.group, nonEmpty("expected a group name or gid")),
        .custom("env") { _, _ throws(ConfigValueError) in throw ConfigValueError(message: "expected a table of strings, e.g. [env] NAME = \"value\"") },
        .custom("restart") { _, _ throws(ConfigValueError) in throw ConfigValueError(message: "expected a table [restart]") },
    ]

    /// `[restart]`.
    static let restartKeys: [ConfigKey<PluginRestartSettings>] = [
        .duration("backoff_initial", \.backoffInitial, min: .milliseconds(10)),
        .duration("backoff_max", \.backoffMax, min: .milliseconds(10)),
        .int("max_restarts", \.maxRestarts, in: 0...1000),
        .duration("stable_after", \.stableAfter, min: .milliseconds(10)),
    ]

    /// The top level with its keys, `[restart]` with its keys, and `[env]` with any variable name.
    static var pass: ConfigPass<Self> {
        let top = Dictionary(keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let restart = Dictionary(restartKeys.map { ($0.name, $0.lifted(\ManifestFields.restart)) }, uniquingKeysWith: { first, _ in first })
        func unknown(_ path: [String]) -> ConfigValueError {
            let known = (path.count == 2 ? restartKeys.map(\.name) : keys.map(\.name)).joined(separator: ", ")
            return ConfigValueError(message: path.count == 2 && path[0] == "env" ? environmentMessage : "unknown key (known: \(known))")
        }
        return ConfigPass(
            isTable: { $0 == ["env"] || $0 == ["restart"] }, misplacedTable: { unknown($0).message },
            resolve: { path throws(ConfigValueError) in
                if path.count == 2, path[0] == "env" {
                    let variable = path[1]
                    return .custom(variable) { fields, raw throws(ConfigValueError) in
                        guard case .string(let text) = raw, !variable.isEmpty, !variable.contains("=") else { throw ConfigValueError(message: environmentMessage) }
                        fields.environment[variable] = text
                    }
                }
                guard let key = path.count == 2 ? restart[path[1]] : top[path[0]] else { throw unknown(path) }
                return key
            })
    }

    static let environmentMessage = "expected a string value and a name without '='"

    /// A non-empty string, else `message`.
    static func nonEmpty(_ message: String) -> @Sendable (ConfigValue) throws(ConfigValueError) -> String {
        { raw throws(ConfigValueError) in
            guard case .string(let text) = raw, !text.isEmpty else { throw ConfigValueError(message: message) }
            return text
        }
    }
}

/// Ownership and permission checks of plugin files.
enum PluginFileCheck {
    /// Why `path` must not be trusted, or nil: group/world-writable, or owned by a user other than root and the agent's.
    static func problem(_ path: String, what: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let mode = UInt32(info.st_mode)
        if mode & UInt32(S_IWGRP | S_IWOTH) != 0 {
            let octal = String(mode & 0o7777, radix: 8)
            return "\(what) \(path) is group- or world-writable (mode \(octal)); run chmod go-w \(path)"
        }
        let owner = info.st_uid
        if owner != 0, owner != geteuid() {
            return "\(what) \(path) is owned by uid \(owner), which is neither root nor the agent's user (uid \(geteuid()))"
        }
        return nil
    }

    /// Size and modification time in nanoseconds, or nothing when the file cannot be read.
    static func fingerprint(_ path: String) -> [Int64] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int64(info.st_size), Timestamp(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int64(info.st_mtim.tv_nsec)).nanosecondsSinceEpoch]
    }
}
