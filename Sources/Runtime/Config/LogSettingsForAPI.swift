//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// `[logs]`: `GET /api/v1/logs`.
public struct LogSettingsForAPI: Sendable, Hashable {
    /// `units`: units readable besides the tracked services' and the agent's own.
    public var units: [String] = []
    /// `journal_directory`: read the journal files of this directory instead of the local journal.
    public var journalDirectory: String?

    public init() {}
}

extension LogSettingsForAPI: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .strings("units", \.units),
        .absolutePath("journal_directory", \.journalDirectory),
    ]
}
