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
        values.reserveCapacity(64)
        var text = text
        try text.forEachByteLine { line in
            guard line.count > 0 else { return }
            // `Key:` is the first field (keys have no spaces); a value may follow after the colon without a space.
            let first = line.fields[0]
            guard let colon = line.lastIndex(of: 0x3A, in: first) else { return }
            let key = line.string(first.lowerBound..<colon)
            var valueIndex = 1
            var valueRange = (colon + 1)..<first.upperBound
            if valueRange.isEmpty {
                guard line.count >= 2 else { return }
                valueRange = line.fields[1]
                valueIndex = 2
            }
            guard let value = line.uint64(valueRange) else {
                throw ParseError(file: file, line: line.number, reason: "\(key): \"\(line.string(valueRange))\" is not a number")
            }
            if line.count > valueIndex, line.equals(line.fields[valueIndex], "kB") {
                let (bytes, overflow) = value.multipliedReportingOverflow(by: 1024)
                if overflow { throw ParseError(file: file, line: line.number, reason: "\(key): value overflows") }
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
