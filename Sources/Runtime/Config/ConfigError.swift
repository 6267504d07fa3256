//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// One problem in the configuration, with where it is.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    /// The file, or `environment` for a `VIWORKS_*` variable.
    public var source: String
    /// 1-based line in the file; nil for the environment or when it cannot be located.
    public var line: Int?
    /// The dotted key, e.g. `collectors.cpu.interval` (or the variable's name).
    public var key: String
    public var message: String

    public init(source: String, line: Int?, key: String, message: String) {
        self.source = source
        self.line = line
        self.key = key
        self.message = message
    }

    /// `agent.toml:12: collectors.cpu.interval: expected a duration such as "30s", got "fast"`.
    public var description: String {
        let location = line.map { "\(source):\($0)" } ?? source
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}

/// Every problem found in the configuration (loading does not stop at the first one).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) {
        self.issues = issues
    }

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
