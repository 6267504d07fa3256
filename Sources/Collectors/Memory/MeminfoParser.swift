//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// Parses `/proc/meminfo` into bytes per key.
///
/// ```
/// MemTotal:       24668984 kB
/// MemAvailable:   23086412 kB
/// HugePages_Total:       0
/// ```
/// Values with a `kB` unit are multiplied by 1024; unit-less values (page counts) are kept as they are.
public enum MeminfoParser {
    /// - Throws: ``ParseError`` for a line whose value is not a number.
    public static func parse(_ text: String, file: String = "/proc/meminfo") throws -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for (number, line) in text.numberedLines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let fields = line[line.index(after: colon)...].fields
            guard let first = fields.first else { continue }
            guard let value = parseUInt64(first) else {
                throw ParseError(file: file, line: number, reason: "\(key): \"\(first)\" is not a number")
            }
            if fields.count >= 2, fields[1] == "kB" {
                let (bytes, overflow) = value.multipliedReportingOverflow(by: 1024)
                if overflow { throw ParseError(file: file, line: number, reason: "\(key): value overflows") }
                values[key] = bytes
            } else {
                values[key] = value
            }
        }
        return values
    }

    /// Builds the report from parsed values.
    ///
    /// Without `MemAvailable` (kernels before 3.14) the available memory is estimated as MemFree +
    /// Active(file) + Inactive(file) + SReclaimable, or MemFree + Buffers + Cached when the file LRU
    /// lines are missing too, and `availableEstimated` is true.
    /// - Throws: ``ParseError`` when `MemTotal` is missing or 0.
    public static func report(_ values: [String: UInt64], file: String = "/proc/meminfo") throws -> MemoryReport {
        guard let total = values["MemTotal"], total > 0 else {
            throw ParseError(file: file, reason: "MemTotal is missing or 0")
        }
        let free = values["MemFree"] ?? 0
        var available: UInt64
        let estimated: Bool
        if let reported = values["MemAvailable"] {
            available = reported
            estimated = false
        } else if let active = values["Active(file)"], let inactive = values["Inactive(file)"] {
            available = free &+ active &+ inactive &+ (values["SReclaimable"] ?? 0)
            estimated = true
        } else {
            available = free &+ (values["Buffers"] ?? 0) &+ (values["Cached"] ?? 0)
            estimated = true
        }
        available = min(available, total)
        let used = total - available
        return MemoryReport(
            totalBytes: total, usedBytes: used, availableBytes: available,
            usagePercent: percent(Double(used), of: Double(total)), availableEstimated: estimated,
            swapTotalBytes: values["SwapTotal"] ?? 0, swapFreeBytes: values["SwapFree"] ?? 0)
    }
}
