//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The type of one parameter of an allowlisted command. A value is validated against it before anything runs, and it
/// only ever becomes (part of) one argv element: no shell ever sees it.
public enum CommandParameterType: Sendable, Hashable, CustomStringConvertible {
    /// One of these exact values.
    case oneOf([String])
    /// A decimal integer in the range.
    case integer(ClosedRange<Int>)
    /// The name of a tracked service (`[services.<name>]`); `{name}` is replaced by the service's systemd unit.
    case service
    /// Letters, digits and `._-:@/+=,`, at most `maxLength` bytes, not starting with `-` (never an option).
    case text(maxLength: Int)

    public var description: String {
        switch self {
        case .oneOf(let values): "one of \(values.joined(separator: ", "))"
        case .integer(let range): "an integer in \(range.lowerBound)...\(range.upperBound)"
        case .service: "the name of a tracked service"
        case .text(let maxLength): "text of at most \(maxLength) characters from [A-Za-z0-9._:@/+=,-], not starting with '-'"
        }
    }

    /// Parses `enum:a|b|c`, `integer:1..100`, `service`, `text:64`.
    public static func parse(_ text: String) -> CommandParameterType? {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "enum" where parts.count == 2:
            let values = parts[1].split(separator: "|").map(String.init)
            return values.isEmpty || values.contains(where: \.isEmpty) ? nil : .oneOf(values)
        case "integer" where parts.count == 2:
            let bounds = parts[1].split(separator: ".", omittingEmptySubsequences: true)
            guard bounds.count == 2, parts[1].contains(".."), let low = Int(bounds[0]), let high = Int(bounds[1]), low <= high else { return nil }
            return .integer(low...high)
        case "service" where parts.count == 1:
            return .service
        case "text" where parts.count == 2:
            guard let length = Int(parts[1]), (1...4096).contains(length) else { return nil }
            return .text(maxLength: length)
        default:
            return nil
        }
    }
}

/// One piece of an argv element: literal text or a parameter.
public enum ArgumentPiece: Sendable, Hashable {
    case literal(String)
    case parameter(String)
}

/// An allowlisted command: the request names it by id; the agent builds the argv from the template.
public struct CommandDefinition: Sendable, Hashable {
    public var id: String
    public var summary: String
    /// Absolute path of the executable (never looked up in `PATH`).
    public var executable: String
    /// argv[1...] templates: each element is literal text with `{name}` placeholders, e.g. `--lines={lines}`.
    public var arguments: [String]
    public var parameters: [String: CommandParameterType]
    /// Parameters that may be left out (their placeholder elements are then dropped).
    public var optional: Set<String>
    public var timeout: Duration
    /// Cap of stdout and of stderr, each.
    public var maxOutputBytes: Int
    /// Run as this user / group (root only); nil keeps the agent's.
    public var user: String?
    public var group: String?

    public init(
        id: String, summary: String, executable: String, arguments: [String], parameters: [String: CommandParameterType] = [:], optional: Set<String> = [],
        timeout: Duration = .seconds(30), maxOutputBytes: Int = 64 << 10, user: String? = nil, group: String? = nil
    ) {
        self.id = id
        self.summary = summary
        self.executable = executable
        self.arguments = arguments
        self.parameters = parameters
        self.optional = optional
        self.timeout = timeout
        self.maxOutputBytes = maxOutputBytes
        self.user = user
        self.group = group
    }

    /// Splits an argument template into literal text and `{parameter}` pieces; nil when a brace is unbalanced.
    public static func pieces(_ template: String) -> [ArgumentPiece]? {
        var pieces: [ArgumentPiece] = []
        var literal = ""
        var name: String?
        for character in template {
            if var current = name {
                if character == "}" {
                    guard !current.isEmpty else { return nil }
                    pieces.append(.parameter(current))
                    name = nil
                } else if character == "{" {
                    return nil
                } else {
                    current.append(character)
                    name = current
                }
            } else if character == "{" {
                if !literal.isEmpty { pieces.append(.literal(literal)) }
                literal = ""
                name = ""
            } else if character == "}" {
                return nil
            } else {
                literal.append(character)
            }
        }
        guard name == nil else { return nil }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return pieces
    }
}

/// A request that cannot run: the HTTP layer answers 400 (bad parameters) or 404 (unknown command).
public struct CommandRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case unknownCommand
        case invalidParameter
        case unavailable
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The allowlist: built-in safe commands plus `[commands.<id>]` of the configuration.
public struct CommandCatalog: Sendable {
    public var definitions: [String: CommandDefinition]
    /// Service name → systemd unit, for parameters of type `service`.
    public var serviceUnits: [String: String]

    public init(definitions: [CommandDefinition], serviceUnits: [String: String]) {
        self.definitions = Dictionary(definitions.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        self.serviceUnits = serviceUnits
    }

    /// The built-in commands: read-only views of the host and of the tracked services (restart is the service
    /// control route's job, with its own audit records).
    public static func builtins() -> [CommandDefinition] {
        [
            CommandDefinition(id: "uptime", summary: "uptime(1): time since boot, users, load", executable: "/usr/bin/uptime", arguments: []),
            CommandDefinition(id: "df", summary: "df(1) of every filesystem, human-readable, POSIX format", executable: "/usr/bin/df", arguments: ["-h", "-P"]),
            CommandDefinition(
                id: "service-status", summary: "systemctl status of a tracked service", executable: "/usr/bin/systemctl",
                arguments: ["status", "--no-pager", "--full", "--lines=0", "--", "{service}"], parameters: ["service": .service]),
            CommandDefinition(
                id: "service-restart", summary: "systemctl restart of a tracked service", executable: "/usr/bin/systemctl",
                arguments: ["restart", "--", "{service}"], parameters: ["service": .service], timeout: .seconds(90)),
            CommandDefinition(
                id: "journal-tail", summary: "The last lines of a tracked service's journal", executable: "/usr/bin/journalctl",
                arguments: ["--no-pager", "--output=short-iso", "--lines={lines}", "--unit={service}"],
                parameters: ["service": .service, "lines": .integer(1...1000)], optional: ["lines"]),
        ]
    }

    /// Validates `parameters` against command `id` and builds the argv (argv[0] is the executable).
    /// - Throws: ``CommandRejection``: unknown id, unknown / missing / invalid parameter.
    public func argv(for id: String, parameters: [String: String]) throws(CommandRejection) -> (CommandDefinition, [String]) {
        guard let definition = definitions[id] else {
            throw CommandRejection(.unknownCommand, "no command '\(Self.shortened(id))' in the allowlist (known: \(definitions.keys.sorted().joined(separator: ", ")))")
        }
        for name in parameters.keys where definition.parameters[name] == nil {
            let known = definition.parameters.keys.sorted()
            throw CommandRejection(
                .invalidParameter, "command '\(id)' has no parameter '\(Self.shortened(name))'" + (known.isEmpty ? " (it takes none)" : " (it takes \(known.joined(separator: ", ")))"))
        }
        var values: [String: String] = [:]
        for (name, type) in definition.parameters {
            guard let raw = parameters[name] else {
                if definition.optional.contains(name) { continue }
                throw CommandRejection(.invalidParameter, "parameter '\(name)' is required: \(type)")
            }
            values[name] = try validate(raw, name: name, type: type)
        }
        var argv = [definition.executable]
        for template in definition.arguments {
            guard let pieces = CommandDefinition.pieces(template) else { continue }
            var element = ""
            var skipped = false
            for piece in pieces {
                switch piece {
                case .literal(let text): element += text
                case .parameter(let name):
                    if let value = values[name] { element += value } else { skipped = true }
                }
            }
            if !skipped { argv.append(element) }
        }
        return (definition, argv)
    }

    private func validate(_ raw: String, name: String, type: CommandParameterType) throws(CommandRejection) -> String {
        func reject(_ why: String) -> CommandRejection {
            CommandRejection(.invalidParameter, "parameter '\(name)' \(why); expected \(type)")
        }
        // Whatever the type: no NUL, no control characters, bounded size.
        guard raw.utf8.count <= 4096 else { throw reject("is \(raw.utf8.count) bytes long") }
        guard !raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { throw reject("contains a control character (NUL, newline, …)") }
        switch type {
        case .oneOf(let allowed):
            guard allowed.contains(raw) else { throw reject("is \"\(Self.shortened(raw))\"") }
            return raw
        case .integer(let range):
            guard let value = Int(raw), raw.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }), range.contains(value) else {
                throw reject("is \"\(Self.shortened(raw))\"")
            }
            return String(value)
        case .service:
            guard let unit = serviceUnits[raw] else {
                throw reject("is \"\(Self.shortened(raw))\", not a tracked service (\(serviceUnits.keys.sorted().joined(separator: ", ")))")
            }
            return unit
        case .text(let maxLength):
            guard !raw.isEmpty, raw.utf8.count <= maxLength else { throw reject("is empty or longer than \(maxLength)") }
            guard !raw.hasPrefix("-") else { throw reject("starts with '-' (it would be read as an option)") }
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@/+=,-".utf8)
            guard raw.utf8.allSatisfy(allowed.contains) else { throw reject("contains a character outside [A-Za-z0-9._:@/+=,-]") }
            guard !raw.split(separator: "/").contains("..") else { throw reject("contains '..'") }
            return raw
        }
    }

    /// A client-supplied value as echoed in a message: control characters as `?`, at most 80 characters.
    public static func shortened(_ text: String) -> String {
        let clean = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return clean.count <= 80 ? clean : String(clean.prefix(80)) + "…"
    }
}
