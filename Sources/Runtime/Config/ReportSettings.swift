//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// Full Foundation links the ICU time-zone data that TimeZone(identifier:) needs on Linux.
import Foundation
public import FoundationEssentials

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `[reports]`: the daily, weekly and monthly reports of `GET /api/v1/reports/{period}`.
public struct ReportSettings: Sendable, Hashable {
    /// `time_zone`: the IANA zone (`Europe/Berlin`) whose calendar days, weeks (Monday to Monday) and months a report
    /// asked with `date=` covers, and in which every report states its local start and end. nil: the host's zone
    /// (``resolvedTimeZone``).
    public var timeZone: String?

    public init() {}

    /// The configured zone, else the host's (``hostTimeZone(tz:)`` of the process's `TZ`).
    public var resolvedTimeZone: TimeZone {
        timeZone.flatMap(TimeZone.init(identifier:)) ?? Self.hostTimeZone(tz: getenv("TZ").map { String(cString: $0) }).zone
    }

    /// Where the C library finds zone files by name.
    static let zoneinfoDirectory = "/usr/share/zoneinfo"

    /// The host's zone as the C library takes it: `TZ` when set (a zone name, also after a `:`, or the path of a zone
    /// file under a `zoneinfo` directory or of a link to one: `:Europe/Berlin`, `/usr/share/zoneinfo/Europe/Berlin`,
    /// `:/etc/localtime`, `posixrules`), empty meaning UTC; else the zone /etc/localtime links to, else UTC (Foundation's
    /// `TimeZone.current`). A `TZ` that names no zone Foundation knows (a POSIX rule such as
    /// `CET-1CEST,M3.5.0,M10.5.0/3`, a misspelt name) gives UTC and says why in `problem`, which the configuration's
    /// loader makes a warning (logged at start, printed by `check-config`).
    public static func hostTimeZone(tz: String?) -> (zone: TimeZone, problem: String?) {
        guard let tz else { return (TimeZone.current, nil) }
        var name = Substring(tz)
        if name.hasPrefix(":") { name = name.dropFirst() }
        if name.isEmpty { return (.gmt, nil) }
        if !name.hasPrefix("/"), let zone = TimeZone(identifier: String(name)) { return (zone, nil) }
        // A zone file, a link to one (`/etc/localtime`, `posixrules`), or a name of the zoneinfo directory Foundation
        // does not list: the name is what follows the zoneinfo directory once every link is followed. The `right/`
        // files (with leap seconds) give the zone of the same name.
        let file = name.hasPrefix("/") ? String(name) : Self.zoneinfoDirectory + "/" + name
        let path = URL(fileURLWithPath: file).resolvingSymlinksInPath().path
        if let zoneinfo = path.ranges(of: "/zoneinfo/").last {
            var identifier = path[zoneinfo.upperBound...]
            for variant in ["posix/", "right/"] where identifier.hasPrefix(variant) { identifier = identifier.dropFirst(variant.count) }
            if let zone = TimeZone(identifier: String(identifier)) { return (zone, nil) }
        }
        return (
            .gmt,
            "\"\(tz)\" names no time zone the agent knows (an IANA name such as Europe/Berlin, or a path under /usr/share/zoneinfo): reports use UTC; set [reports] time_zone"
        )
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
