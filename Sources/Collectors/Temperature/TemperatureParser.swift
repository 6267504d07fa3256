//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// Pure helpers for hwmon and thermal-zone readings.
public enum TemperatureParser {
    /// `45000\n` (millidegrees Celsius) → 45.0; nil for anything that is not one integer.
    public static func celsius(millidegrees text: String) -> Double? {
        let trimmed = text.trimmingASCIIWhitespace()
        guard let value = parseInt64(trimmed) else { return nil }
        return Double(value) / 1000
    }

    /// hwmon chips that measure the CPU package or its cores.
    public static let cpuChips: Set<String> = ["coretemp", "k10temp", "zenpower", "cpu_thermal", "soc_thermal", "k8temp", "via_cputemp"]

    /// Whether an hwmon chip `name` is a CPU sensor.
    public static func isCPUChip(_ name: String) -> Bool {
        cpuChips.contains(name.lowercased())
    }

    /// Whether a thermal zone `type` is a CPU sensor: `x86_pkg_temp`, `cpu*`, `soc*`, `*cpu*`.
    public static func isCPUZone(_ type: String) -> Bool {
        let lower = type.lowercased()
        return lower == "x86_pkg_temp" || lower.hasPrefix("soc") || lower.contains("cpu")
    }

    /// Orders `hwmon2` before `hwmon10` and `temp2_input` before `temp10_input`.
    static func naturalOrder(_ lhs: String, _ rhs: String) -> Bool {
        let (lp, ln) = splitNumber(lhs)
        let (rp, rn) = splitNumber(rhs)
        if lp != rp { return lp < rp }
        if ln != rn { return ln < rn }
        return lhs < rhs
    }

    /// `temp12_input` → ("temp", 12); `hwmon3` → ("hwmon", 3).
    private static func splitNumber(_ name: String) -> (Substring, UInt64) {
        let prefix = name.prefix { !($0 >= "0" && $0 <= "9") }
        let digits = name.dropFirst(prefix.count).prefix { $0 >= "0" && $0 <= "9" }
        return (prefix, parseUInt64(digits) ?? 0)
    }
}
