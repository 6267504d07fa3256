//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// `[logs]`: `GET /api/v1/logs`.
public struct LogSettingsForAPI: Sendable, Hashable {
    /// `units`: units readable besides the tracked services' and the agent's own; `.service` is added to a name
    /// without a type suffix.
    public var units: [String] = []
    /// `journal_directory`: read the journal files of this directory instead of the local journal.
    public var journalDirectory: String?

    public init() {}
}

extension LogSettingsForAPI: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .strings("units", \.units) { unit in
            SystemdUnitName.problem(unit).map { "\"\(unit)\" is not a unit name such as \"cron.service\" or \"cron\": it \($0)" }
        },
        .absolutePath("journal_directory", \.journalDirectory),
    ]
}
