//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// Parses a `/proc/pressure/{cpu,memory,io}` file (Linux pressure stall information, 4.20+):
///
///     some avg10=1.53 avg60=0.87 avg300=0.36 total=1151616499
///     full avg10=0.00 avg60=0.00 avg300=0.00 total=0
///
/// A line that is not `some`/`full` with all four fields well formed (averages finite and in 0…100,
/// `total` an unsigned 64-bit integer) is skipped; a missing `full` line (`cpu` before Linux 5.13) stays nil.
public enum PressureParser {
    public static func parse(_ text: String) -> PressureResource {
        var resource = PressureResource(some: nil, full: nil)
        for (_, line) in text.numberedLines {
            let fields = line.fields
            guard let kind = fields.first, let parsed = parseLine(fields.dropFirst()) else { continue }
            switch kind {
            case "some": if resource.some == nil { resource.some = parsed }
            case "full": if resource.full == nil { resource.full = parsed }
            default: continue
            }
        }
        return resource
    }

    /// `avg10=… avg60=… avg300=… total=…`, in any order; nil when one is missing, repeated or malformed.
    static func parseLine(_ fields: ArraySlice<Substring>) -> PressureLine? {
        var avg10: Double?
        var avg60: Double?
        var avg300: Double?
        var total: UInt64?
        for field in fields {
            let pair = field.split(byte: 0x3D)
            guard pair.count == 2 else { return nil }
            let value = pair[1]
            switch pair[0] {
            case "avg10": guard avg10 == nil, let v = percent(value) else { return nil }; avg10 = v
            case "avg60": guard avg60 == nil, let v = percent(value) else { return nil }; avg60 = v
            case "avg300": guard avg300 == nil, let v = percent(value) else { return nil }; avg300 = v
            case "total": guard total == nil, let v = parseUInt64(value) else { return nil }; total = v
            default: continue  // a field a later kernel may add
            }
        }
        guard let avg10, let avg60, let avg300, let total else { return nil }
        return PressureLine(avg10: avg10, avg60: avg60, avg300: avg300, totalMicroseconds: total)
    }

    private static func percent(_ text: Substring) -> Double? {
        guard let value = parseDouble(text), value >= 0, value <= 100 else { return nil }
        return value
    }
}
