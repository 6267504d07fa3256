//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// `[commands]` and `[commands.<id>]`: remote operations (allowlisted commands, service control) and their audit log.
public struct CommandSettings: Sendable, Hashable {
    /// `enabled`: false answers every command and service-control request with 503.
    public var enabled = true
    /// `max_running`: commands that may run at once; more are answered 429.
    public var maxRunning = 16
    /// `audit_retention`: audit records older than this are removed (oldest first, keeping the chain verifiable).
    public var auditRetention: Duration = .seconds(365 * 86_400)
    /// `[commands.<id>]`: commands added to (or replacing) the built-in ones.
    public var definitions: [CommandDefinition] = []

    public init() {}
}

extension CommandSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .bool("enabled", \.enabled),
        .int("max_running", \.maxRunning, in: 1...256),
        .duration("audit_retention", \.auditRetention, min: .seconds(86_400)),
    ]
}

extension CommandDefinition: ConfigSection {
    /// The keys of a `[commands.<id>]` table; `[commands.<id>.parameters]` names a type per parameter.
    public static let keys: [ConfigKey<Self>] = [
        .absolutePath("executable", \.executable),
        .strings("arguments", \.arguments) { CommandDefinition.pieces($0) == nil ? "unbalanced braces in \"\($0)\"; a parameter is written {name}" : nil },
        .custom("optional") { definition, raw throws(ConfigValueError) in definition.optional = Set(try raw.strings()) },
        .string("summary", \.summary),
        .duration("timeout", \.timeout, min: .milliseconds(100)),
        .int("max_output_bytes", \.maxOutputBytes, in: 1...(16 << 20)),
        .string("user", \.user),
        .string("group", \.group),
    ]

    /// A `[commands.<id>.parameters]` entry: its type.
    static func parameterType(_ raw: ConfigValue) throws(ConfigValueError) -> CommandParameterType {
        guard let type = CommandParameterType.parse(try raw.string()) else {
            throw ConfigValueError(message: "expected \"enum:a|b\", \"integer:1..100\", \"service\" or \"text:64\"")
        }
        return type
    }
}
