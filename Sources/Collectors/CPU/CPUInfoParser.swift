//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// What the agent takes from `/proc/cpuinfo`: the brand and the current frequency of the first CPU.
public struct CPUInfo: Sendable, Hashable {
    /// `model name` (x86, 32-bit ARM), else a name built from `CPU implementer`/`CPU part` (arm64),
    /// else `cpu` (POWER); nil when none is present.
    public var brand: String?
    /// `cpu MHz` of the first processor (x86 only).
    public var frequencyMHz: Double?

    public init(brand: String?, frequencyMHz: Double?) {
        self.brand = brand
        self.frequencyMHz = frequencyMHz
    }
}

/// Parses `/proc/cpuinfo`. Only the first processor block is used; unknown keys are skipped.
///
/// arm64 kernels print no `model name`, only the MIDR fields:
/// ```
/// processor       : 0
/// BogoMIPS        : 243.75
/// CPU implementer : 0x41
/// CPU part        : 0xd0c
/// ```
/// which become `ARM Neoverse-N1`. An unknown id becomes `ARM implementer 0x41 part 0xd99`.
public enum CPUInfoParser {
    public static func parse(_ text: String) -> CPUInfo {
        var modelName: String?
        var cpuField: String?
        var megahertz: Double?
        var implementer: String?
        var part: String?
        var processorsSeen = 0
        for (_, line) in text.numberedLines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingASCIIWhitespace()
            let value = line[line.index(after: colon)...].trimmingASCIIWhitespace()
            if key == "processor" {
                processorsSeen += 1
                // Everything we need is in the first block; stop at the second.
                if processorsSeen > 1, modelName != nil || implementer != nil || megahertz != nil { break }
                continue
            }
            switch key {
            case "model name": if modelName == nil, !value.isEmpty { modelName = value }
            case "cpu MHz": if megahertz == nil { megahertz = parseDouble(value) }
            case "CPU implementer": if implementer == nil { implementer = value.lowercased() }
            case "CPU part": if part == nil { part = value.lowercased() }
            case "cpu": if cpuField == nil, !value.isEmpty { cpuField = value }
            default: continue
            }
        }
        let brand = modelName ?? implementer.map { armBrand(implementer: $0, part: part) } ?? cpuField
        return CPUInfo(brand: brand, frequencyMHz: megahertz)
    }

    /// A readable name for an arm64 core from its MIDR implementer and part ids (`0x41`, `0xd0c`).
    public static func armBrand(implementer: String, part: String?) -> String {
        let implementer = normalizedHex(implementer)
        let part = part.map(normalizedHex)
        if let vendor = implementers[implementer], let part, let core = parts[implementer]?[part] {
            return "\(vendor) \(core)"
        }
        guard let part else { return "ARM implementer \(implementer)" }
        return "ARM implementer \(implementer) part \(part)"
    }

    private static func normalizedHex(_ text: String) -> String {
        let lower = text.lowercased()
        guard lower.hasPrefix("0x"), let value = UInt64(lower.dropFirst(2), radix: 16) else { return lower }
        return "0x" + String(value, radix: 16)
    }

    private static let implementers: [String: String] = [
        "0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x48": "HiSilicon", "0x4e": "NVIDIA", "0x51": "Qualcomm",
        "0x61": "Apple", "0xc0": "Ampere",
    ]

    private static let parts: [String: [String: String]] = [
        "0x41": [
            "0xb76": "ARM1176", "0xc07": "Cortex-A7", "0xc08": "Cortex-A8", "0xc09": "Cortex-A9", "0xc0f": "Cortex-A15",
            "0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
            "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
            "0xd0c": "Neoverse-N1", "0xd0d": "Cortex-A77", "0xd40": "Neoverse-V1", "0xd41": "Cortex-A78",
            "0xd49": "Neoverse-N2", "0xd4f": "Neoverse-V2", "0xd8e": "Neoverse-N3",
        ],
        "0x43": ["0x0af": "ThunderX2 99xx"],
        "0x48": ["0xd01": "Kunpeng-920"],
        "0xc0": ["0xac3": "Ampere-1", "0xac4": "Ampere-1a"],
    ]
}
