//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// A value as written in TOML, in the environment or on the command line.
public enum ConfigValue: Sendable, Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case array([ConfigValue])
    /// From the environment or the command line: coerced to the key's type (lists are comma-separated).
    case text(String)

    /// The value as an error message quotes it: `"fast"`, `7`, `a list`.
    var quoted: String {
        switch self {
        case .string(let s), .text(let s): "\"\(s)\""
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        case .bool(let b): "\(b)"
        case .array: "a list"
        }
    }
}

/// Why a value does not fit its key. The loader adds the file, line and key (``ConfigIssue``).
public struct ConfigValueError: Error, Sendable {
    /// One bad element of a list, by 0-based index: each is reported on its own line.
    public struct Element: Sendable {
        public var index: Int
        public var message: String
    }

    public var message: String
    public var elements: [Element] = []

    public init(message: String) {
        self.message = message
    }

    /// One problem per bad element; `message` is the first one's.
    public init(elements: [Element]) {
        self.message = elements.first?.message ?? "invalid list"
        self.elements = elements
    }
}

// MARK: - Value kinds

extension ConfigValue {
    public func string() throws(ConfigValueError) -> String {
        switch self {
        case .string(let value), .text(let value): return value
        default: throw ConfigValueError(message: "expected a string, got \(quoted)")
        }
    }

    /// `true`/`false`; from text also 1/0, yes/no, on/off.
    public func bool() throws(ConfigValueError) -> Bool {
        switch self {
        case .bool(let value): return value
        case .text(let text):
            switch text.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: break
            }
        default: break
        }
        throw ConfigValueError(message: "expected true or false, got \(quoted)")
    }

    public func int(in range: ClosedRange<Int>) throws(ConfigValueError) -> Int {
        var value: Int?
        switch self {
        case .int(let v): value = v
        case .text(let text): value = Int(text)
        default: break
        }
        guard let value else { throw ConfigValueError(message: "expected an integer, got \(quoted)") }
        guard range.contains(value) else { throw ConfigValueError(message: "\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    /// A finite number (integer or float).
    public func number() throws(ConfigValueError) -> Double {
        let value: Double?
        switch self {
        case .int(let v): value = Double(v)
        case .double(let v): value = v
        case .text(let text): value = Double(text.trimmingASCIIWhitespace())
        default: value = nil
        }
        guard let value, value.isFinite else { throw ConfigValueError(message: "expected a number, got \(quoted)") }
        return value
    }

    /// A percentage: 0 to 100.
    public func percent() throws(ConfigValueError) -> Double {
        let value = try number()
        guard (0...100).contains(value) else { throw ConfigValueError(message: "a percentage must be between 0 and 100, got \(quoted)") }
        return value
    }

    /// A number, 0 or more.
    public func nonNegative() throws(ConfigValueError) -> Double {
        let value = try number()
        guard value >= 0 else { throw ConfigValueError(message: "must be 0 or more, got \(quoted)") }
        return value
    }

    /// One of `allowed` (lower-cased).
    public func oneOf(_ allowed: [String]) throws(ConfigValueError) -> String {
        let value = try string().lowercased()
        guard allowed.contains(value) else { throw ConfigValueError(message: "expected one of \(allowed.joined(separator: ", ")), got \"\(value)\"") }
        return value
    }

    public func absolutePath() throws(ConfigValueError) -> String {
        let value = try string()
        guard value.hasPrefix("/") else { throw ConfigValueError(message: "expected an absolute path, got \"\(value)\"") }
        return value
    }

    /// An absolute path, or nil for an empty string (which unsets the key).
    public func optionalPath() throws(ConfigValueError) -> String? {
        try string().isEmpty ? nil : try absolutePath()
    }

    /// A string, or nil for an empty one.
    public func nonEmpty() throws(ConfigValueError) -> String? {
        let value = try string()
        return value.isEmpty ? nil : value
    }

    /// A TOML list of strings, or comma-separated text; with `check`, every bad element is reported on its own.
    public func strings(_ check: ((String) -> String?)? = nil) throws(ConfigValueError) -> [String] {
        let values: [String]
        switch self {
        case .array(let items):
            var result: [String] = []
            var problems: [ConfigValueError.Element] = []
            for (index, item) in items.enumerated() {
                do throws(ConfigValueError) {
                    result.append(try item.string())
                } catch {
                    problems.append(.init(index: index, message: "element \(index + 1): \(error.message)"))
                }
            }
            if !problems.isEmpty { throw ConfigValueError(elements: problems) }
            values = result
        case .text(let text):
            values = text.split(separator: ",").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
        default:
            throw ConfigValueError(message: "expected a list of strings, got \(quoted)")
        }
        guard let check else { return values }
        let problems = values.enumerated().compactMap { index, value in check(value).map { ConfigValueError.Element(index: index, message: $0) } }
        if !problems.isEmpty { throw ConfigValueError(elements: problems) }
        return values
    }

    /// `30`, `1.5` (seconds), or `"30s"`, `"500ms"`, `"2m"`, `"1h"`, `"1m30s"` (``Swift/Duration/init(parsing:)``), at least
    /// `min` and, with `max` (written as the message shows it, e.g. `"24h"`), at most that.
    public func duration(min: Duration, max: String? = nil) throws(ConfigValueError) -> Duration {
        let parsed: Duration?
        switch self {
        case .int(let seconds): parsed = Duration(checkedSeconds: Double(seconds))
        case .double(let seconds): parsed = Duration(checkedSeconds: seconds)
        case .string(let text), .text(let text): parsed = Duration(parsing: text)
        default: parsed = nil
        }
        guard let parsed else { throw ConfigValueError(message: "expected a duration such as \"30s\", \"500ms\" or \"2m\", got \(quoted)") }
        guard parsed >= min else { throw ConfigValueError(message: "must be at least \(Self.format(min))") }
        if let max, let limit = Duration(parsing: max), parsed > limit { throw ConfigValueError(message: "must be at most \(max)") }
        return parsed
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.secondsDouble
        return seconds < 1 ? "\(Int((seconds * 1000).rounded()))ms" : "\(seconds)s"
    }
}

// MARK: - Keys and sections

/// A type a key can store: the value itself, or an optional of it (a key that is unset until written).
public protocol ConfigStorable: SendableMetatype {
    associatedtype Parsed
    init(configValue: Parsed)
}

extension Bool: ConfigStorable { public init(configValue: Bool) { self = configValue } }
extension Int: ConfigStorable { public init(configValue: Int) { self = configValue } }
extension Double: ConfigStorable { public init(configValue: Double) { self = configValue } }
extension String: ConfigStorable { public init(configValue: String) { self = configValue } }
extension Duration: ConfigStorable { public init(configValue: Duration) { self = configValue } }
extension Array: ConfigStorable where Element == String { public init(configValue: [String]) { self = configValue } }
extension Optional: ConfigStorable where Wrapped: ConfigStorable {
    public init(configValue: Wrapped.Parsed) { self = Wrapped(configValue: configValue) }
}

/// One key of a configuration table: its name and how a value is checked and stored into `Root`.
public struct ConfigKey<Root>: Sendable {
    public let name: String
    let assign: @Sendable (inout Root, ConfigValue) throws(ConfigValueError) -> Void

    /// A key with its own parsing (`server.listen`, `services.<name>.probe`).
    public static func custom(_ name: String, _ assign: @escaping @Sendable (inout Root, ConfigValue) throws(ConfigValueError) -> Void) -> Self {
        Self(name: name, assign: assign)
    }

    /// A key stored at `path` after `parse`.
    public static func value<V: ConfigStorable>(
        _ name: String, _ path: any WritableKeyPath<Root, V> & Sendable, _ parse: @escaping @Sendable (ConfigValue) throws(ConfigValueError) -> V.Parsed
    ) -> Self {
        Self(name: name) { root, raw throws(ConfigValueError) in root[keyPath: path] = V(configValue: try parse(raw)) }
    }

    public static func bool<V: ConfigStorable>(_ name: String, _ path: any WritableKeyPath<Root, V> & Sendable) -> Self where V.Parsed == Bool {
        value(name, path) { raw throws(ConfigValueError) in try raw.bool() }
    }

    public static func int<V: ConfigStorable>(_ name: String, _ path: any WritableKeyPath<Root, V> & Sendable, in range: ClosedRange<Int>) -> Self
    where V.Parsed == Int {
        value(name, path) { raw throws(ConfigValueError) in try raw.int(in: range) }
    }

    public static func string<V: ConfigStorable>(_ name: String, _ path: any WritableKeyPath<Root, V> & Sendable) -> Self where V.Parsed == String {
        value(name, path) { raw throws(ConfigValueError) in try raw.string() }
    }

    /// A string with its allowed values (stored lower-cased).
    public static func oneOf(_ name: String, _ path: any WritableKeyPath<Root, String> & Sendable, _ allowed: [String]) -> Self {
        value(name, path) { raw throws(ConfigValueError) in try raw.oneOf(allowed) }
    }

    /// A string naming a case of `E` (the cases in declaration order are the allowed values).
    public static func oneOf<E: RawRepresentable & CaseIterable & Sendable>(_ name: String, _ path: any WritableKeyPath<Root, E> & Sendable) -> Self
    where E.RawValue == String {
        Self(name: name) { root, raw throws(ConfigValueError) in
            let text = try raw.oneOf(E.allCases.map(\.rawValue))
            if let value = E(rawValue: text) { root[keyPath: path] = value }
        }
    }

    public static func absolutePath<V: ConfigStorable>(_ name: String, _ path: any WritableKeyPath<Root, V> & Sendable) -> Self where V.Parsed == String {
        value(name, path) { raw throws(ConfigValueError) in try raw.absolutePath() }
    }

    /// An absolute path; an empty string unsets it.
    public static func optionalPath(_ name: String, _ path: any WritableKeyPath<Root, String?> & Sendable) -> Self {
        Self(name: name) { root, raw throws(ConfigValueError) in root[keyPath: path] = try raw.optionalPath() }
    }

    /// A list of strings; `check` returns the message of a bad element (each is reported on its own line).
    public static func strings(
        _ name: String, _ path: any WritableKeyPath<Root, [String]> & Sendable, check: (@Sendable (String) -> String?)? = nil
    ) -> Self {
        value(name, path) { raw throws(ConfigValueError) in try raw.strings(check) }
    }

    /// A duration of at least `min` and at most `max` (as the message writes it, e.g. `"24h"`).
    public static func duration<V: ConfigStorable>(
        _ name: String, _ path: any WritableKeyPath<Root, V> & Sendable, min: Duration, max: String? = nil
    ) -> Self where V.Parsed == Duration {
        value(name, path) { raw throws(ConfigValueError) in try raw.duration(min: min, max: max) }
    }

    /// This key, written into the `Root` found at `path` of `Outer`.
    public func lifted<Outer>(_ path: any WritableKeyPath<Outer, Root> & Sendable) -> ConfigKey<Outer> {
        let assign = self.assign
        return ConfigKey<Outer>(name: name) { outer, raw throws(ConfigValueError) in try assign(&outer[keyPath: path], raw) }
    }

    /// Checks `raw` and stores it into `root`.
    public func apply(_ raw: ConfigValue, to root: inout Root) throws(ConfigValueError) {
        try assign(&root, raw)
    }
}

/// A configuration table as a typed struct: its defaults and its keys, one line each.
public protocol ConfigSection: Sendable, Hashable {
    /// Every key of the table.
    static var keys: [ConfigKey<Self>] { get }
}

extension ConfigSection {
    /// Type-erased equality for stores of sections of different types.
    func isEqual(to other: any ConfigSection) -> Bool {
        (other as? Self) == self
    }
}

/// Options of a collector (`[collectors.disk] exclude_fs_types`), declared beside the collector; the defaults are `init()`.
public protocol CollectorOptions: ConfigSection {
    init()
}

/// The options of every collector, by collector id; read with ``AgentConfiguration/options(_:for:)``.
public struct CollectorOptionsStore: Sendable, Hashable {
    var values: [String: any CollectorOptions] = [:]

    public init() {}

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.values.count == rhs.values.count && lhs.values.allSatisfy { id, value in rhs.values[id].map { value.isEqual(to: $0) } ?? false }
    }

    public func hash(into hasher: inout Hasher) {
        for id in values.keys.sorted() {
            hasher.combine(id)
            values[id]?.hash(into: &hasher)
        }
    }
}

/// A `[collectors.<id>]` table the configuration may have: the collector's id and its own option keys.
public struct CollectorConfigSchema: Sendable {
    public var id: String
    let optionKeys: [ConfigKey<AgentConfiguration>]

    /// A collector with options of type `options` (nil: only `enabled`, `interval` and `timeout`).
    public init(id: String, options: (any CollectorOptions.Type)? = nil) {
        self.id = id
        if let options { optionKeys = Self.keys(options, id: id) } else { optionKeys = [] }
    }

    private static func keys<Options: CollectorOptions>(_ type: Options.Type, id: String) -> [ConfigKey<AgentConfiguration>] {
        Options.keys.map { key in
            .custom(key.name) { configuration, raw throws(ConfigValueError) in
                var options = configuration.options(Options.self, for: id)
                try key.apply(raw, to: &options)
                configuration.collectorOptions.values[id] = options
            }
        }
    }
}

/// One fixed table of the file (`[history]`, `[alerts.cpu]`) and its keys, written into the configuration.
struct ConfigTable: Sendable {
    let path: [String]
    let keys: [ConfigKey<AgentConfiguration>]

    /// The table `dotted` whose keys are `section`'s, plus `extra` keys stored elsewhere in the configuration.
    init<Section>(
        _ dotted: String, _ section: any WritableKeyPath<AgentConfiguration, Section> & Sendable, _ keys: [ConfigKey<Section>],
        extra: [ConfigKey<AgentConfiguration>] = []
    ) {
        self.init(dotted, keys: keys.map { $0.lifted(section) } + extra)
    }

    init(_ dotted: String, keys: [ConfigKey<AgentConfiguration>]) {
        self.path = dotted.split(separator: ".").map(String.init)
        self.keys = keys
    }
}
