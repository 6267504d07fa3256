//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// Full Foundation links the ICU time-zone data that TimeZone(identifier:) needs on Linux.
import Foundation
public import FoundationEssentials

/// `[reports]`: the daily, weekly and monthly reports of `GET /api/v1/reports/{period}`.
public struct ReportSettings: Sendable, Hashable {
    /// `time_zone`: the IANA zone (`Europe/Berlin`) whose calendar days, weeks (Monday to Monday) and months a report
    /// asked with `date=` covers, and in which every report states its local start and end. nil: the host's zone
    /// (``resolvedTimeZone``).
    public var timeZone: String?

    public init() {}

    /// The configured zone, else the host's: `TZ`, else the zone /etc/localtime links to, else UTC (Foundation's
    /// `TimeZone.current`).
    public var resolvedTimeZone: TimeZone {
        timeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone.current
    }
}

extension ReportSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .custom("time_zone") { settings, raw throws(ConfigValueError) in
            let name = try raw.string()
            guard !name.isEmpty, TimeZone(identifier: name) != nil else {
                throw ConfigValueError(message: "unknown time zone \"\(name)\": expected an IANA zone name such as \"Europe/Berlin\" or \"UTC\"")
            }
            settings.timeZone = name
        }
    ]
}
