//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import TOMLKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Builds an ``AgentConfiguration`` from built-in defaults, then a TOML file, then `VIWORKS_*` environment
/// variables (highest precedence). Every known key is in ``ConfigLoader/keys``; an unknown key, a value of the
/// wrong type or out of range is reported with file, line and key, and loading reports all problems at once.
///
/// Environment variables are named after the key: `VIWORKS_` + the dotted key upper-cased with `.` → `_`
/// (`server.listen` → `VIWORKS_SERVER_LISTEN`, `collectors.cpu.interval` → `VIWORKS_COLLECTORS_CPU_INTERVAL`).
/// Lists in the environment are comma-separated.
public struct ConfigLoader: Sendable {
    /// The default configuration file, read when it exists and no `--config` is given.
    public static let defaultPath = "/etc/viworks-agent/agent.toml"

    /// Ids of the collectors a `[collectors.<id>]` table may name.
    public var knownCollectors: [String]

    public init(knownCollectors: [String]) {
        self.knownCollectors = knownCollectors
    }

    /// A value as written in TOML or in the environment.
    enum Raw: Sendable {
        case string(String)
        case int(Int)
        case double(Double)
        case bool(Bool)
        case array([Raw])
        /// From the environment: coerced to the key's type.
        case text(String)
    }

    struct ValueError: Error, Sendable {
        var message: String
        /// Every bad element of a list, by 0-based index: each is reported on its own line.
        var elements: [ElementProblem] = []

        init(message: String) {
            self.message = message
        }

        /// One problem per bad element; `message` is the first one's.
        init(elements: [ElementProblem]) {
            self.message = elements.first?.message ?? "invalid list"
            self.elements = elements
        }
    }

    struct ElementProblem: Sendable {
        var index: Int
        var message: String
    }

    /// A value given on the command line (`--listen`, `--log-level`), applied over the file and the environment and
    /// blamed on the flag when it is wrong.
    public struct Override: Sendable {
        /// The flag as the user typed it, e.g. `--log-level`.
        public var flag: String
        /// The configuration key it sets, e.g. `log.level`.
        public var key: String
        public var value: String

        public init(flag: String, key: String, value: String) {
            self.flag = flag
            self.key = key
            self.value = value
        }
    }

    /// A configuration and what is worth a warning but not a refusal (an unknown `VIWORKS_*` variable).
    public struct Loaded: Sendable {
        public var configuration: AgentConfiguration
        public var warnings: [ConfigIssue]
    }

    /// Loads `path` (nil: the default path if present, else built-in defaults) and applies `environment`.
    /// - Throws: ``ConfigError`` listing every problem.
    public func load(path: String?, environment: [String: String]) throws(ConfigError) -> AgentConfiguration {
        try loadWithWarnings(path: path, environment: environment).configuration
    }

    /// Loads `path`, applies `environment`, then `overrides` (command-line flags); returns the warnings too.
    /// - Throws: ``ConfigError`` listing every problem.
    public func loadWithWarnings(path: String?, environment: [String: String], overrides: [Override] = []) throws(ConfigError) -> Loaded {
        var configuration = AgentConfiguration()
        var issues: [ConfigIssue] = []
        var warnings: [ConfigIssue] = []
        var locator: TOMLKeyLocator?
        let file: String? = path ?? (HostFile.exists(Self.defaultPath) ? Self.defaultPath : nil)
        if let file {
            do {
                let text = try HostFile.read(file, limit: 1 << 20)
                locator = TOMLKeyLocator(text: text)
                issues += apply(toml: text, file: file, to: &configuration)
            } catch {
                issues.append(ConfigIssue(source: file, line: nil, key: "", message: "cannot read \(file): \(error.reason)"))
            }
        }
        issues += apply(environment: environment, to: &configuration, warnings: &warnings)
        for override in overrides {
            do throws(ValueError) {
                try assign(override.key.split(separator: ".").map(String.init), .text(override.value), to: &configuration)
            } catch {
                issues.append(ConfigIssue(source: "command line", line: nil, key: override.flag, message: error.message))
            }
        }
        issues += validate(configuration, file: file ?? "configuration", locator: locator)
        issues += validateSecurity(&configuration, file: file ?? "configuration", locator: locator)
        if !issues.isEmpty {
            throw ConfigError(issues: issues.sorted { ($0.source, $0.line ?? Int.max, $0.key) < ($1.source, $1.line ?? Int.max, $1.key) })
        }
        return Loaded(configuration: configuration, warnings: warnings)
    }

    /// Parses TOML text into `configuration`; returns the problems found.
    func apply(toml text: String, file: String, to configuration: inout AgentConfiguration) -> [ConfigIssue] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            return [ConfigIssue(source: file, line: error.source.begin.line, key: "", message: "TOML syntax: \(error.description)")]
        } catch {
            return [ConfigIssue(source: file, line: nil, key: "", message: "TOML syntax: \(error)")]
        }
        let locator = TOMLKeyLocator(text: text)
        var issues: [ConfigIssue] = []
        var assignments: [(path: [String], raw: Raw)] = []
        flatten(table, prefix: [], into: &assignments, issues: &issues, file: file, locator: locator)
        for (path, raw) in assignments {
            let dotted = path.joined(separator: ".")
            do throws(ValueError) {
                try assign(path, raw, to: &configuration)
            } catch {
                if error.elements.isEmpty {
                    issues.append(ConfigIssue(source: file, line: locator.line(of: path), key: dotted, message: error.message))
                }
                for element in error.elements {
                    issues.append(
                        ConfigIssue(source: file, line: locator.line(of: path, element: element.index) ?? locator.line(of: path), key: dotted, message: element.message))
                }
            }
        }
        return issues
    }

    /// Applies `VIWORKS_*` variables. A `VIWORKS_` name that is no configuration key (a typo, or a variable of
    /// another tool such as the test suite's `VIWORKS_AGENT_BIN`) is a warning naming the closest known variable.
    func apply(environment: [String: String], to configuration: inout AgentConfiguration, warnings: inout [ConfigIssue]) -> [ConfigIssue] {
        var byName: [String: [String]] = [:]
        for path in allKeyPaths() { byName["VIWORKS_" + path.joined(separator: "_").uppercased()] = path }
        var issues: [ConfigIssue] = []
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("VIWORKS_") {
            guard let path = byName[name] else {
                let closest = Self.closest(to: name, among: byName.keys)
                warnings.append(
                    ConfigIssue(
                        source: "environment", line: nil, key: name,
                        message: "not a configuration variable, ignored\(closest.map { " (the closest is \($0))" } ?? "")"))
                continue
            }
            do throws(ValueError) {
                try assign(path, .text(value), to: &configuration)
            } catch {
                let messages = error.elements.isEmpty ? [error.message] : error.elements.map(\.message)
                for message in messages { issues.append(ConfigIssue(source: "environment", line: nil, key: name, message: message)) }
            }
        }
        return issues
    }

    /// Applies `VIWORKS_*` variables, unknown names ignored.
    func apply(environment: [String: String], to configuration: inout AgentConfiguration) -> [ConfigIssue] {
        var warnings: [ConfigIssue] = []
        return apply(environment: environment, to: &configuration, warnings: &warnings)
    }

    /// The candidate nearest to `name` by edit distance (ties: alphabetical).
    static func closest(to name: String, among candidates: some Sequence<String>) -> String? {
        let target = Array(name.utf8)
        var best: (distance: Int, name: String)?
        for candidate in candidates {
            let distance = editDistance(target, Array(candidate.utf8))
            if best.map({ (distance, candidate) < ($0.distance, $0.name) }) ?? true { best = (distance, candidate) }
        }
        return best?.name
    }

    /// Levenshtein distance of two byte strings.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    private func flatten(
        _ table: TOMLTable, prefix: [String], into assignments: inout [(path: [String], raw: Raw)], issues: inout [ConfigIssue], file: String,
        locator: TOMLKeyLocator
    ) {
        for key in table.keys {
            guard let value = table[key] else { continue }
            let path = prefix + [key]
            if let array = value.array, Self.tableArrayPaths.contains(path), array.allSatisfy({ $0.table != nil }) {
                // `[[auth.api_keys]]`: entry i (1-based) flattens to `auth.api_keys.<i>.<key>`.
                for (index, item) in array.enumerated() {
                    guard let sub = item.table else { continue }
                    flatten(sub, prefix: path + ["\(index + 1)"], into: &assignments, issues: &issues, file: file, locator: locator)
                }
            } else if let sub = value.table {
                guard isTablePath(path) else {
                    issues.append(ConfigIssue(source: file, line: locator.line(of: path), key: path.joined(separator: "."), message: unknownKeyMessage(path)))
                    continue
                }
                flatten(sub, prefix: path, into: &assignments, issues: &issues, file: file, locator: locator)
            } else if let raw = Self.raw(value) {
                assignments.append((path, raw))
            } else {
                issues.append(
                    ConfigIssue(source: file, line: locator.line(of: path), key: path.joined(separator: "."), message: "unsupported value type \(value.type)")
                )
            }
        }
    }

    private static func raw(_ value: any TOMLValueConvertible) -> Raw? {
        switch value.type {
        case .string: return value.string.map(Raw.string)
        case .int: return value.int.map(Raw.int)
        case .double: return value.double.map(Raw.double)
        case .bool: return value.bool.map(Raw.bool)
        case .array:
            guard let array = value.array else { return nil }
            var items: [Raw] = []
            for item in array {
                guard let raw = raw(item) else { return nil }
                items.append(raw)
            }
            return .array(items)
        default: return nil
        }
    }

    // MARK: - The key table

    private func isTablePath(_ path: [String]) -> Bool {
        switch path.count {
        case 1:
            return ["agent", "paths", "server", "log", "supervisor", "collectors", "plugins", "services", "commands", "logs", "history", "alerts", "notifications"]
                .contains(path[0]) || Self.securityTables.contains(path)
        case 2:
            if Self.securityTables.contains(path) { return true }
            if path[0] == "services" { return Self.fixedKeys["services." + path[1]] == nil }
            if path[0] == "commands" { return Self.fixedKeys["commands." + path[1]] == nil }
            if path[0] == "alerts" { return Self.alertRuleTables.contains(path[1]) }
            return path[0] == "collectors" && knownCollectors.contains(path[1])
        case 3: return path[0] == "commands" && path[2] == "parameters"
        default: return false
        }
    }

    private func unknownKeyMessage(_ path: [String]) -> String {
        if path.count == 2, path[0] == "collectors" {
            return "unknown collector '\(path[1])' (known: \(knownCollectors.joined(separator: ", ")))"
        }
        return "unknown key"
    }

    func allKeyPaths() -> [[String]] {
        var paths = (Array(Self.fixedKeys.keys) + Array(Self.securityKeys.keys)).map { $0.split(separator: ".").map(String.init) }
        for id in knownCollectors {
            for key in Self.collectorKeys.keys { paths.append(["collectors", id, key]) }
            for key in (Self.collectorOptionKeys[id] ?? [:]).keys { paths.append(["collectors", id, key]) }
        }
        for definition in ServicesSettings.builtinDefinitions {
            for key in Self.serviceKeys.keys { paths.append(["services", definition.name, key]) }
        }
        return paths
    }

    private func assign(_ path: [String], _ raw: Raw, to configuration: inout AgentConfiguration) throws(ValueError) {
        let dotted = path.joined(separator: ".")
        if let setter = Self.fixedKeys[dotted] ?? Self.securityKeys[dotted] {
            try setter(&configuration, raw)
            return
        }
        if try assignTableArrayEntry(path, raw, to: &configuration) { return }
        if path[0] == "commands", path.count == 3 || (path.count == 4 && path[2] == "parameters") {
            let id = path[1]
            guard Self.isServiceName(id) else {
                throw ValueError(message: "a command id is letters, digits, '-', '_', '.' or '@', starting with a letter or digit")
            }
            var definition = configuration.commands.definitions.first { $0.id == id }
                ?? CommandDefinition(id: id, summary: "", executable: "", arguments: [])
            if path.count == 4 {
                guard let type = CommandParameterType.parse(try Self.string(raw)) else {
                    throw ValueError(message: "expected \"enum:a|b\", \"integer:1..100\", \"service\" or \"text:64\"")
                }
                definition.parameters[path[3]] = type
            } else {
                switch path[2] {
                case "executable":
                    definition.executable = try Self.absolutePath(raw)
                case "arguments":
                    definition.arguments = try Self.checkEach(try Self.strings(raw)) { argument in
                        CommandDefinition.pieces(argument) == nil ? "unbalanced braces in \"\(argument)\"; a parameter is written {name}" : nil
                    }
                case "summary": definition.summary = try Self.string(raw)
                case "optional": definition.optional = Set(try Self.strings(raw))
                case "timeout": definition.timeout = try Self.duration(raw, min: .milliseconds(100))
                case "max_output_bytes": definition.maxOutputBytes = try Self.int(raw, in: 1...(16 << 20))
                case "user": definition.user = try Self.string(raw)
                case "group": definition.group = try Self.string(raw)
                default:
                    throw ValueError(
                        message: "unknown key (known: executable, arguments, parameters, optional, summary, timeout, max_output_bytes, user, group)")
                }
            }
            configuration.commands.definitions.removeAll { $0.id == id }
            configuration.commands.definitions.append(definition)
            return
        }
        if path.count == 3, path[0] == "services" {
            let name = path[1]
            guard Self.isServiceName(name) else {
                throw ValueError(message: "a service name is letters, digits, '-', '_', '.' or '@', starting with a letter or digit")
            }
            guard let setter = Self.serviceKeys[path[2]] else {
                throw ValueError(message: "unknown key (known: \(Self.serviceKeys.keys.sorted().joined(separator: ", ")))")
            }
            var failure: ValueError?
            configuration.services.withDefinition(name) { definition in
                do throws(ValueError) { try setter(&definition, raw) } catch { failure = error }
            }
            if let failure { throw failure }
            return
        }
        if path.count == 3, path[0] == "collectors" {
            let id = path[1]
            guard knownCollectors.contains(id) else { throw ValueError(message: unknownKeyMessage(Array(path.prefix(2)))) }
            if let setter = Self.collectorKeys[path[2]] {
                var settings = configuration.settings(for: id)
                try setter(&settings, raw)
                configuration.collectors[id] = settings
                return
            }
            if let setter = Self.collectorOptionKeys[id]?[path[2]] {
                try setter(&configuration, raw)
                return
            }
        }
        throw ValueError(message: "unknown key")
    }

    typealias Setter = @Sendable (inout AgentConfiguration, Raw) throws(ValueError) -> Void

    private static let coreKeys: [String: Setter] = [
        "agent.interval": { config, raw throws(ValueError) in config.interval = try interval(raw) },
        "agent.state_directory": { config, raw throws(ValueError) in config.stateDirectory = try absolutePath(raw) },
        "agent.release_startup_memory": { config, raw throws(ValueError) in config.releaseStartupMemory = try bool(raw) },
        "paths.proc": { config, raw throws(ValueError) in config.paths.procRoot = try absolutePath(raw) },
        "paths.sys": { config, raw throws(ValueError) in config.paths.sysRoot = try absolutePath(raw) },
        "paths.rootfs": { config, raw throws(ValueError) in config.paths.rootfs = try absolutePath(raw) },
        "server.listen": { config, raw throws(ValueError) in
            let (host, port) = try listenAddress(raw)
            config.server.host = host
            config.server.port = port
        },
        "server.event_loop_threads": { config, raw throws(ValueError) in config.server.eventLoopThreads = try int(raw, in: 1...64) },
        "log.level": { config, raw throws(ValueError) in
            config.log.level = try oneOf(raw, ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        },
        "log.format": { config, raw throws(ValueError) in config.log.format = try oneOf(raw, ["auto", "journald", "logfmt", "json"]) },
        "supervisor.backoff_initial": { config, raw throws(ValueError) in config.supervisor.backoffInitial = try duration(raw, min: .milliseconds(10)) },
        "supervisor.backoff_max": { config, raw throws(ValueError) in config.supervisor.backoffMax = try duration(raw, min: .milliseconds(10)) },
        "supervisor.stable_after": { config, raw throws(ValueError) in config.supervisor.stableAfter = try duration(raw, min: .seconds(1)) },
        "supervisor.max_restarts": { config, raw throws(ValueError) in config.supervisor.maxRestarts = try int(raw, in: 0...1000) },
        "plugins.enabled": { config, raw throws(ValueError) in config.plugins.enabled = try bool(raw) },
        "plugins.directory": { config, raw throws(ValueError) in config.plugins.directory = try absolutePath(raw) },
        "plugins.max_series_per_plugin": { config, raw throws(ValueError) in config.plugins.maxSeriesPerPlugin = try int(raw, in: 1...100_000) },
        "commands.enabled": { config, raw throws(ValueError) in config.commands.enabled = try bool(raw) },
        "commands.max_running": { config, raw throws(ValueError) in config.commands.maxRunning = try int(raw, in: 1...256) },
        "commands.audit_retention": { config, raw throws(ValueError) in config.commands.auditRetention = try duration(raw, min: .seconds(86_400)) },
        "logs.units": { config, raw throws(ValueError) in config.logs.units = try strings(raw) },
        "logs.journal_directory": { config, raw throws(ValueError) in config.logs.journalDirectory = try absolutePath(raw) },
        "services.systemd": { config, raw throws(ValueError) in
            config.services.systemd = ServicesSettings.SystemdMode(rawValue: try oneOf(raw, ["auto", "on", "off"])) ?? .auto
        },
        "services.discover": { config, raw throws(ValueError) in config.services.discover = try bool(raw) },
        "services.probes": { config, raw throws(ValueError) in config.services.probes = try bool(raw) },
        "services.bus_timeout": { config, raw throws(ValueError) in config.services.busTimeout = try boundedTimeout(raw) },
        "services.probe_timeout": { config, raw throws(ValueError) in config.services.probeTimeout = try boundedTimeout(raw) },
    ]

    static let fixedKeys: [String: Setter] = coreKeys.merging(historyKeys) { first, _ in first }
    /// Keys of a `[services.<name>]` table.
    static let serviceKeys: [String: @Sendable (inout ServiceDefinition, Raw) throws(ValueError) -> Void] = [
        "enabled": { definition, raw throws(ValueError) in definition.enabled = try bool(raw) },
        "critical": { definition, raw throws(ValueError) in definition.critical = try bool(raw) },
        "units": { definition, raw throws(ValueError) in
            definition.units = try checkEach(try strings(raw)) { unit in
                unit.isEmpty || unit.contains("/") || unit.contains(" ") || !unit.contains(".")
                    ? "\"\(unit)\" is not a unit name such as \"nginx.service\" or \"postgresql@*.service\"" : nil
            }
        },
        "process_names": { definition, raw throws(ValueError) in
            definition.processNames = try checkEach(try strings(raw)) { name in
                name.isEmpty || name.contains("/") ? "\"\(name)\" is not a process name (comm)" : nil
            }
        },
        "command_patterns": { definition, raw throws(ValueError) in
            definition.commandPatterns = try checkEach(try strings(raw)) { pattern in
                pattern.count < 2 ? "a command pattern must have at least 2 characters, got \"\(pattern)\"" : nil
            }
        },
        "recovery": { definition, raw throws(ValueError) in definition.recoveryEnabled = try bool(raw) },
        "recovery_attempts": { definition, raw throws(ValueError) in definition.recoveryPolicy.maxAttempts = try int(raw, in: 1...100) },
        "recovery_window": { definition, raw throws(ValueError) in definition.recoveryPolicy.window = try duration(raw, min: .seconds(1)) },
        "recovery_backoff": { definition, raw throws(ValueError) in definition.recoveryPolicy.backoff = try duration(raw, min: .milliseconds(100)) },
        "probe": { definition, raw throws(ValueError) in
            let text = try string(raw)
            if text.lowercased() == "none" || text.isEmpty {
                definition.probe = nil
                return
            }
            switch ServiceProbeSpec.parse(text) {
            case .success(let spec): definition.probe = spec
            case .failure(let error):
                throw ValueError(message: "\(error.reason), e.g. \"tcp://127.0.0.1:22\", \"http://127.0.0.1:80/health\", \"redis://127.0.0.1:6379\", \"postgres://127.0.0.1:5432\" or \"none\"; got \"\(text)\"")
            }
        },
    ]

    static func isServiceName(_ name: String) -> Bool {
        func alphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        let bytes = Array(name.utf8)
        guard let first = bytes.first, alphanumeric(first), bytes.count <= 64 else { return false }
        return bytes.allSatisfy { alphanumeric($0) || "-_.@".utf8.contains($0) }
    }

    /// A timeout between 10 ms and 60 s.
    static func boundedTimeout(_ raw: Raw) throws(ValueError) -> Duration {
        let value = try duration(raw, min: .milliseconds(10))
        guard value <= .seconds(60) else { throw ValueError(message: "must be at most 60s") }
        return value
    }

    static let collectorKeys: [String: @Sendable (inout CollectorSettings, Raw) throws(ValueError) -> Void] = [
        "enabled": { settings, raw throws(ValueError) in settings.enabled = try bool(raw) },
        "interval": { settings, raw throws(ValueError) in settings.interval = try interval(raw) },
        "timeout": { settings, raw throws(ValueError) in settings.timeout = try duration(raw, min: .milliseconds(10)) },
    ]

    static let collectorOptionKeys: [String: [String: Setter]] = [
        "disk": [
            "exclude_fs_types": { config, raw throws(ValueError) in config.disk.excludeFSTypes = try strings(raw) },
            "include_fs_types": { config, raw throws(ValueError) in config.disk.includeFSTypes = try strings(raw) },
            "exclude_mount_points": { config, raw throws(ValueError) in config.disk.excludeMountPoints = try strings(raw) },
            "statfs_timeout": { config, raw throws(ValueError) in config.disk.statfsTimeout = try duration(raw, min: .milliseconds(10)) },
        ],
        "network": [
            "exclude_interfaces": { config, raw throws(ValueError) in config.network.excludeInterfaces = try strings(raw) }
        ],
        "processes": [
            "top": { config, raw throws(ValueError) in config.processes.top = try int(raw, in: 1...100) }
        ],
    ]

    // MARK: - Value parsing

    static func string(_ raw: Raw) throws(ValueError) -> String {
        switch raw {
        case .string(let value), .text(let value): return value
        default: throw ValueError(message: "expected a string, got \(describe(raw))")
        }
    }

    static func bool(_ raw: Raw) throws(ValueError) -> Bool {
        switch raw {
        case .bool(let value): return value
        case .text(let text):
            switch text.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: break
            }
        default: break
        }
        throw ValueError(message: "expected true or false, got \(describe(raw))")
    }

    static func int(_ raw: Raw, in range: ClosedRange<Int>) throws(ValueError) -> Int {
        var value: Int?
        switch raw {
        case .int(let v): value = v
        case .text(let text): value = Int(text)
        default: break
        }
        guard let value else { throw ValueError(message: "expected an integer, got \(describe(raw))") }
        guard range.contains(value) else { throw ValueError(message: "\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    static func oneOf(_ raw: Raw, _ allowed: [String]) throws(ValueError) -> String {
        let value = try string(raw).lowercased()
        guard allowed.contains(value) else {
            throw ValueError(message: "expected one of \(allowed.joined(separator: ", ")), got \"\(value)\"")
        }
        return value
    }

    static func absolutePath(_ raw: Raw) throws(ValueError) -> String {
        let value = try string(raw)
        guard value.hasPrefix("/") else { throw ValueError(message: "expected an absolute path, got \"\(value)\"") }
        return value
    }

    static func strings(_ raw: Raw) throws(ValueError) -> [String] {
        switch raw {
        case .array(let items):
            var result: [String] = []
            var problems: [ElementProblem] = []
            for (index, item) in items.enumerated() {
                do throws(ValueError) {
                    result.append(try string(item))
                } catch {
                    problems.append(ElementProblem(index: index, message: "element \(index + 1): \(error.message)"))
                }
            }
            if !problems.isEmpty { throw ValueError(elements: problems) }
            return result
        case .text(let text):
            return text.split(separator: ",").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
        default:
            throw ValueError(message: "expected a list of strings, got \(describe(raw))")
        }
    }

    /// `values` when `problem` finds nothing wrong with any of them; else every bad element, each with its index.
    static func checkEach(_ values: [String], _ problem: (String) -> String?) throws(ValueError) -> [String] {
        var problems: [ElementProblem] = []
        for (index, value) in values.enumerated() {
            if let message = problem(value) { problems.append(ElementProblem(index: index, message: message)) }
        }
        if !problems.isEmpty { throw ValueError(elements: problems) }
        return values
    }

    /// A collection interval: at least 100 ms, at most a day.
    static func interval(_ raw: Raw) throws(ValueError) -> Duration {
        let value = try duration(raw, min: .milliseconds(100))
        guard value <= .seconds(86_400) else { throw ValueError(message: "must be at most 24h") }
        return value
    }

    /// `30`, `1.5` (seconds), or `"30s"`, `"500ms"`, `"2m"`, `"1h"`, `"1m30s"`.
    static func duration(_ raw: Raw, min: Duration) throws(ValueError) -> Duration {
        let parsed: Duration?
        switch raw {
        case .int(let seconds): parsed = Self.duration(seconds: Double(seconds))
        case .double(let seconds): parsed = Self.duration(seconds: seconds)
        case .string(let text), .text(let text): parsed = parseDuration(text)
        default: parsed = nil
        }
        guard let parsed else {
            throw ValueError(message: "expected a duration such as \"30s\", \"500ms\" or \"2m\", got \(describe(raw))")
        }
        guard parsed >= min else { throw ValueError(message: "must be at least \(format(min))") }
        return parsed
    }

    /// A number of seconds as a duration: nil unless finite, not negative and below 10^9 s (about 31 years), so that
    /// no value written in a file, the environment or a manifest can overflow the conversion.
    public static func duration(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return nil }
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// Parses Go-style durations: a sequence of `<number><unit>` with units ns, us, ms, s, m, h; a bare number is seconds.
    public static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingASCIIWhitespace()
        if let seconds = Double(trimmed) { return duration(seconds: seconds) }
        var total: Double = 0
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86_400
            default: return nil
            }
            total += value * scale
        }
        return duration(seconds: total)
    }

    static func listenAddress(_ raw: Raw) throws(ValueError) -> (String, Int) {
        let text = try string(raw)
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ValueError(message: "expected host:port such as \"127.0.0.1:9740\" or \"[::1]:9740\", got \"\(text)\"")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else {
                throw ValueError(message: "expected host:port such as \"127.0.0.1:9740\" or \"[::1]:9740\", got \"\(text)\"")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else {
            throw ValueError(message: "expected host:port with a port in 0...65535, got \"\(text)\"")
        }
        return (String(host), port)
    }

    static func describe(_ raw: Raw) -> String {
        switch raw {
        case .string(let s), .text(let s): "\"\(s)\""
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        case .bool(let b): "\(b)"
        case .array: "a list"
        }
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.secondsDouble
        return seconds < 1 ? "\(Int((seconds * 1000).rounded()))ms" : "\(seconds)s"
    }

    // MARK: - Cross-key checks

    /// The line of the first of `keys` set in the file, else of the nearest table of the first; nil without a file.
    static func line(_ locator: TOMLKeyLocator?, _ keys: String...) -> Int? {
        guard let locator else { return nil }
        for key in keys {
            if let line = locator.exactLine(of: key.split(separator: ".").map(String.init)) { return line }
        }
        return keys.first.flatMap { locator.line(of: $0.split(separator: ".").map(String.init)) }
    }

    private func validate(_ configuration: AgentConfiguration, file: String, locator: TOMLKeyLocator?) -> [ConfigIssue] {
        var issues: [ConfigIssue] = validateHistory(configuration, file: file, locator: locator)
        if configuration.supervisor.backoffMax < configuration.supervisor.backoffInitial {
            issues.append(
                ConfigIssue(
                    source: file, line: Self.line(locator, "supervisor.backoff_max", "supervisor.backoff_initial"), key: "supervisor.backoff_max",
                    message: "must not be smaller than supervisor.backoff_initial"))
        }
        if configuration.plugins.enabled {
            let directory = configuration.plugins.directory
            do {
                _ = try HostFile.list(directory)
            } catch where error.errno != ENOENT {
                let reason = error.errno == ENOTDIR ? "\(directory) is not a directory" : "cannot read \(directory): \(error.reason)"
                issues.append(ConfigIssue(source: file, line: Self.line(locator, "plugins.directory"), key: "plugins.directory", message: reason))
            } catch {}
        }
        for definition in configuration.commands.definitions {
            if definition.executable.isEmpty {
                issues.append(
                    ConfigIssue(
                        source: file, line: Self.line(locator, "commands.\(definition.id)"), key: "commands.\(definition.id)",
                        message: "a command needs an absolute executable"))
            }
            let used = Set(definition.arguments.flatMap { CommandDefinition.pieces($0) ?? [] }.compactMap { piece -> String? in
                if case .parameter(let name) = piece { return name }
                return nil
            })
            for name in used.subtracting(definition.parameters.keys).sorted() {
                issues.append(
                    ConfigIssue(
                        source: file, line: Self.line(locator, "commands.\(definition.id).arguments"), key: "commands.\(definition.id).arguments",
                        message: "{\(name)} has no [commands.\(definition.id).parameters] entry"))
            }
        }
        for definition in configuration.services.definitions where definition.enabled && !definition.isLocatable {
            issues.append(
                ConfigIssue(
                    source: file, line: Self.line(locator, "services.\(definition.name)"), key: "services.\(definition.name)",
                    message: "a service needs units, process_names or command_patterns to be found"))
        }
        return issues
    }
}
