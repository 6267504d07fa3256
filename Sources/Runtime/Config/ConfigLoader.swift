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
/// variables (highest precedence), then command-line flags. Every key is declared once, in the schema of its section
/// (``ConfigSection/keys``, listed in `AgentConfiguration.tables`); one generic pass applies them all, and an unknown
/// key, a value of the wrong type or out of range is reported with file, line and key, every problem at once.
///
/// Environment variables are named after the key: `VIWORKS_` + the dotted key upper-cased with `.` → `_`
/// (`server.listen` → `VIWORKS_SERVER_LISTEN`, `collectors.cpu.interval` → `VIWORKS_COLLECTORS_CPU_INTERVAL`).
/// Lists in the environment are comma-separated.
public struct ConfigLoader: Sendable {
    /// The default configuration file, read when it exists and no `--config` is given.
    public static let defaultPath = "/etc/viworks-agent/agent.toml"

    /// The collectors a `[collectors.<id>]` table may name, with their options.
    public var collectors: [CollectorConfigSchema]

    /// Ids of the collectors a `[collectors.<id>]` table may name.
    public var knownCollectors: [String] { collectors.map(\.id) }

    public init(collectors: [CollectorConfigSchema]) {
        self.collectors = collectors
    }

    /// Collectors without options of their own.
    public init(knownCollectors: [String]) {
        self.init(collectors: knownCollectors.map { CollectorConfigSchema(id: $0) })
    }

    typealias Raw = ConfigValue
    typealias ValueError = ConfigValueError

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
        var origins: [String: ValueOrigin] = [:]
        issues += apply(environment: environment, to: &configuration, warnings: &warnings, origins: &origins)
        for override in overrides {
            do throws(ValueError) {
                try assign(override.key.split(separator: ".").map(String.init), .text(override.value), to: &configuration)
                origins[override.key] = ValueOrigin(source: "command line", key: override.flag)
            } catch {
                issues.append(ConfigIssue(source: "command line", line: nil, key: override.flag, message: error.message))
            }
        }
        issues += validate(configuration, file: file ?? "configuration", locator: locator, origins: origins, warnings: &warnings)
        issues += validateSecurity(&configuration, file: file ?? "configuration", locator: locator, origins: origins)
        // Reports without a configured zone use the host's: say so when `TZ` names none the agent knows.
        if configuration.reports.timeZone == nil, let problem = ReportSettings.hostTimeZone(tz: environment["TZ"]).problem {
            warnings.append(ConfigIssue(source: "environment", line: nil, key: "TZ", message: problem))
        }
        if !issues.isEmpty {
            throw ConfigError(issues: issues.sorted { ($0.source, $0.line ?? Int.max, $0.key) < ($1.source, $1.line ?? Int.max, $1.key) })
        }
        return Loaded(configuration: configuration, warnings: warnings)
    }

    /// Parses TOML text into `configuration`; returns the problems found.
    func apply(toml text: String, file: String, to configuration: inout AgentConfiguration) -> [ConfigIssue] {
        let pass = ConfigPass<AgentConfiguration>(
            isTable: isTablePath, misplacedTable: unknownKeyMessage, resolve: { path throws(ValueError) in try key(at: path) },
            tableArrays: Self.tableArrayPaths)
        return pass.apply(toml: text, file: file, to: &configuration)
    }

    /// Applies `VIWORKS_*` variables. A `VIWORKS_` name that is no configuration key (a typo, or a variable of
    /// another tool such as the test suite's `VIWORKS_AGENT_BIN`) is a warning naming the closest known variable.
    func apply(
        environment: [String: String], to configuration: inout AgentConfiguration, warnings: inout [ConfigIssue], origins: inout [String: ValueOrigin]
    ) -> [ConfigIssue] {
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
                origins[path.joined(separator: ".")] = ValueOrigin(source: "environment", key: name)
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
        var origins: [String: ValueOrigin] = [:]
        return apply(environment: environment, to: &configuration, warnings: &warnings, origins: &origins)
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

    // MARK: - The generic pass

    /// The fixed tables' keys by table path.
    static let tables: [[String]: [String: ConfigKey<AgentConfiguration>]] = Dictionary(
        AgentConfiguration.tables.map { ($0.path, Dictionary($0.keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })) },
        uniquingKeysWith: { first, _ in first })
    static let serviceKeys = Dictionary(ServiceDefinition.keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    static let commandKeys = Dictionary(CommandDefinition.keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    static let collectorKeys = Dictionary(CollectorSettings.keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    static let apiKeyEntryKeys = Dictionary(APIKeyEntry.keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    static let templateKeys = Dictionary(SessionTemplate.keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    /// Keys written as TOML arrays of tables (`[[auth.api_keys]]`): entry i (1-based) is `auth.api_keys.<i>.<key>`.
    static let tableArrayPaths: Set<[String]> = [["auth", "api_keys"]]

    private func isTablePath(_ path: [String]) -> Bool {
        if Self.tables[path] != nil { return true }
        switch (path.count, path[0]) {
        case (2, "services"), (2, "commands"): return Self.tables[[path[0]]]?[path[1]] == nil
        case (2, "collectors"): return knownCollectors.contains(path[1])
        case (3, "commands"): return path[2] == "parameters"
        case (2, "containers"), (3, "containers"): return path[1] == "templates"
        case (4, "containers"): return path[1] == "templates" && path[3] == "env"
        default: return false
        }
    }

    private func unknownKeyMessage(_ path: [String]) -> String {
        if path.count == 2, path[0] == "collectors" {
            return "unknown collector '\(path[1])' (known: \(knownCollectors.joined(separator: ", ")))"
        }
        return "unknown key"
    }

    /// Every key the environment may set: the fixed tables', every collector's and every built-in service's.
    func allKeyPaths() -> [[String]] {
        var paths = Self.tables.flatMap { table, keys in keys.keys.map { table + [$0] } }
        for collector in collectors {
            for key in CollectorSettings.keys { paths.append(["collectors", collector.id, key.name]) }
            for key in collector.optionKeys { paths.append(["collectors", collector.id, key.name]) }
        }
        for definition in ServicesSettings.builtinDefinitions {
            for key in ServiceDefinition.keys { paths.append(["services", definition.name, key.name]) }
        }
        return paths
    }

    private func assign(_ path: [String], _ raw: Raw, to configuration: inout AgentConfiguration) throws(ValueError) {
        try key(at: path).apply(raw, to: &configuration)
    }

    /// The key at a dotted path: a fixed table's, or one of a table of sections (`[services.<name>]`,
    /// `[commands.<id>]` and its `.parameters`, `[collectors.<id>]`, `[containers.templates.<name>]` and its `.env`,
    /// `[[auth.api_keys]]`).
    private func key(at path: [String]) throws(ValueError) -> ConfigKey<AgentConfiguration> {
        let name = path[path.count - 1]
        if let keys = Self.tables[Array(path.dropLast())] {
            guard let key = keys[name] else { throw ValueError(message: "unknown key") }
            return key
        }
        switch (path.count, path[0]) {
        case (3, "services"):
            let service = path[1]
            guard Self.isServiceName(service) else {
                throw ValueError(message: "a service name is letters, digits, '-', '_', '.' or '@', starting with a letter or digit")
            }
            guard let key = Self.serviceKeys[name] else {
                throw ValueError(message: "unknown key (known: \(Self.serviceKeys.keys.sorted().joined(separator: ", ")))")
            }
            return .custom(name) { configuration, raw throws(ValueError) in
                var failure: ValueError?
                configuration.services.withDefinition(service) { definition in
                    do throws(ValueError) { try key.apply(raw, to: &definition) } catch { failure = error }
                }
                if let failure { throw failure }
            }
        case (3, "commands"), (4, "commands"):
            guard path.count == 3 || path[2] == "parameters" else { break }
            let id = path[1]
            guard Self.isServiceName(id) else {
                throw ValueError(message: "a command id is letters, digits, '-', '_', '.' or '@', starting with a letter or digit")
            }
            let key: ConfigKey<CommandDefinition>
            if path.count == 4 {
                key = .custom(name) { definition, raw throws(ValueError) in definition.parameters[name] = try CommandDefinition.parameterType(raw) }
            } else if let found = Self.commandKeys[name] {
                key = found
            } else {
                var known = CommandDefinition.keys.map(\.name)
                known.insert("parameters", at: min(2, known.count))
                throw ValueError(message: "unknown key (known: \(known.joined(separator: ", ")))")
            }
            return .custom(name) { configuration, raw throws(ValueError) in
                var definition = configuration.commands.definitions.first { $0.id == id }
                    ?? CommandDefinition(id: id, summary: "", executable: "", arguments: [])
                try key.apply(raw, to: &definition)
                configuration.commands.definitions.removeAll { $0.id == id }
                configuration.commands.definitions.append(definition)
            }
        case (3, "collectors"):
            let id = path[1]
            guard let collector = collectors.first(where: { $0.id == id }) else { throw ValueError(message: unknownKeyMessage(Array(path.prefix(2)))) }
            if let key = Self.collectorKeys[name] {
                return .custom(name) { configuration, raw throws(ValueError) in
                    var settings = configuration.settings(for: id)
                    try key.apply(raw, to: &settings)
                    configuration.collectors[id] = settings
                }
            }
            if let key = collector.optionKeys.first(where: { $0.name == name }) { return key }
        case (4, "containers") where path[1] == "templates", (5, "containers") where path[1] == "templates" && path[3] == "env":
            let template = path[2]
            guard SessionRules.isValidTemplateName(template) else {
                throw ValueError(message: "a template name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
            }
            let key: ConfigKey<SessionTemplate>
            if path.count == 5 {
                key = SessionTemplate.envKey(name)
            } else if let found = Self.templateKeys[name] {
                key = found
            } else {
                throw ValueError(message: "unknown key (known: \(SessionTemplate.keys.map(\.name).joined(separator: ", ")))")
            }
            return .custom(name) { configuration, raw throws(ValueError) in
                var settings = configuration.containers.templates[template] ?? SessionTemplate.unset
                try key.apply(raw, to: &settings)
                configuration.containers.templates[template] = settings
            }
        case (4, "auth") where path[1] == "api_keys":
            guard let index = Int(path[2]), (1...10_000).contains(index) else { break }
            guard let key = Self.apiKeyEntryKeys[name] else { throw ValueError(message: "unknown key (an API key has name, role and hash)") }
            return .custom(name) { configuration, raw throws(ValueError) in
                var keys = configuration.security.auth.apiKeys
                while keys.count < index { keys.append(APIKeyEntry(name: "", role: .viewer, hash: "")) }
                let before = keys[index - 1]
                do throws(ValueError) {
                    try key.apply(raw, to: &keys[index - 1])
                } catch {
                    // A key that recorded something before failing (a malformed hash) keeps it, so the entry is not
                    // also reported as incomplete.
                    if keys[index - 1] != before { configuration.security.auth.apiKeys = keys }
                    throw error
                }
                configuration.security.auth.apiKeys = keys
            }
        default: break
        }
        throw ValueError(message: "unknown key")
    }

    static func isServiceName(_ name: String) -> Bool {
        func alphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        let bytes = Array(name.utf8)
        guard let first = bytes.first, alphanumeric(first), bytes.count <= 64 else { return false }
        return bytes.allSatisfy { alphanumeric($0) || "-_.@".utf8.contains($0) }
    }
}
