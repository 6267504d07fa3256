//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// Parses `/proc/loadavg`: `0.45 0.71 0.33 1/81 8600`.
public enum LoadavgParser {
    /// - Throws: ``ParseError`` when a field is missing or not a number.
    public static func parse(_ text: String, file: String = "/proc/loadavg") throws -> LoadReport {
        let fields = Substring(text.trimmingASCIIWhitespace()).fields
        guard fields.count >= 4 else { throw ParseError(file: file, line: 1, reason: "expected at least 4 fields, found \(fields.count)") }
        guard let one = parseDouble(fields[0]), let five = parseDouble(fields[1]), let fifteen = parseDouble(fields[2]) else {
            throw ParseError(file: file, line: 1, reason: "load averages are not numbers")
        }
        let tasks = fields[3].split(byte: 0x2F)
        guard tasks.count == 2, let runnable = parseUInt64(tasks[0]), let total = parseUInt64(tasks[1]),
            runnable <= UInt64(Int.max), total <= UInt64(Int.max)
        else {
            throw ParseError(file: file, line: 1, reason: "\"\(fields[3])\" is not runnable/total")
        }
        return LoadReport(oneMinute: one, fiveMinutes: five, fifteenMinutes: fifteen, runnableTasks: Int(runnable), totalTasks: Int(total))
    }
}

/// Parses `/proc/uptime`: `341.81 411.01` (seconds since boot, idle seconds summed over CPUs).
public enum UptimeParser {
    /// - Throws: ``ParseError`` when the first field is missing or not a number.
    public static func parse(_ text: String, file: String = "/proc/uptime") throws -> UptimeReport {
        let fields = Substring(text.trimmingASCIIWhitespace()).fields
        guard let first = fields.first, let uptime = parseDouble(first), uptime >= 0 else {
            throw ParseError(file: file, line: 1, reason: "uptime is not a number")
        }
        let idle = fields.count >= 2 ? parseDouble(fields[1]) ?? 0 : 0
        return UptimeReport(uptimeSeconds: uptime, idleSeconds: idle)
    }
}
