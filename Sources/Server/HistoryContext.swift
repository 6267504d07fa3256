//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// What the history routes read; the executable wires it.
public struct HistoryContext: Sendable {
    /// nil when history is disabled or its database could not be opened (see `unavailableReason`).
    public var store: HistoryStore?
    public var settings: HistorySettings
    public var unavailableReason: String
    public var now: @Sendable () -> Timestamp
    /// `[reports]`: the time zone of the reports.
    public var reports: ReportSettings

    public init(
        store: HistoryStore?, settings: HistorySettings, reports: ReportSettings = ReportSettings(), unavailableReason: String = "history is disabled",
        now: @escaping @Sendable () -> Timestamp = { .now() }
    ) {
        self.store = store
        self.settings = settings
        self.reports = reports
        self.unavailableReason = unavailableReason
        self.now = now
    }
}
