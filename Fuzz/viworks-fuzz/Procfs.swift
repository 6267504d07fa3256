//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentCollectors
import AgentRuntime

/// Every /proc and /sys parser, chosen by the input's first byte (the rest is the file's text); the seed corpus has one
/// real file of this kind per parser, named after it.
///
/// Invariants: percentages derived from what was parsed are finite and within 0…100; memory in use never exceeds the
/// total; a parsed process line has the pid written before its `(`.
struct ProcfsTarget: FuzzTarget {
    /// The parsers, by the first byte of an input (any other byte picks `parsers[byte % count]`).
    static let parsers: [(selector: UInt8, parse: @Sendable (UnsafeRawBufferPointer) -> Void)] = [
        (UInt8(ascii: "s"), procStat),
        (UInt8(ascii: "c"), { _ = CPUInfoParser.parse(text($0)) }),
        (UInt8(ascii: "m"), mountInfo),
        (UInt8(ascii: "o"), { _ = OSReleaseParser.parse(text($0)) }),
        (UInt8(ascii: "l"), { _ = try? LoadavgParser.parse(text($0)) }),
        (UInt8(ascii: "u"), { _ = try? UptimeParser.parse(text($0)) }),
        (UInt8(ascii: "i"), meminfo),
        (UInt8(ascii: "n"), { _ = try? NetDevParser.parse(text($0)) }),
        (UInt8(ascii: "p"), { _ = PressureParser.parse(text($0)) }),
        (UInt8(ascii: "t"), temperature),
        (UInt8(ascii: "P"), processStat),
        (UInt8(ascii: "S"), { _ = ProcFileReader.parsePss(text($0)) }),
    ]

    func run(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let body = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        let parser = Self.parsers.first { $0.selector == first } ?? Self.parsers[Int(first) % Self.parsers.count]
        parser.parse(body)
    }

    static func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }

    static func checkPercent(_ value: Double, _ what: String) {
        if !value.isFinite || value < 0 || value > 100 { fatalError("\(what) is \(value) %") }
    }

    static func procStat(_ bytes: UnsafeRawBufferPointer) {
        let text = text(bytes)
        _ = ProcStatParser.bootTime(text)
        guard let stat = try? ProcStatParser.parse(text) else { return }
        for cpu in stat.cpus {
            for (previous, current) in [(cpu.times, stat.total), (stat.total, cpu.times)] {
                let usage = CPUUsage.between(previous, current)
                checkPercent(usage.busyPercent, "busy")
                checkPercent(usage.iowaitPercent, "iowait")
                checkPercent(usage.stealPercent, "steal")
            }
        }
    }

    static func mountInfo(_ bytes: UnsafeRawBufferPointer) {
        let text = text(bytes)
        _ = MountInfoParser.unescape(text)
        _ = try? MountInfoParser.parse(text)
    }

    static func meminfo(_ bytes: UnsafeRawBufferPointer) {
        guard let values = try? MeminfoParser.parse(text(bytes)), let report = try? MeminfoParser.report(values) else { return }
        if report.usedBytes > report.totalBytes || report.availableBytes > report.totalBytes {
            fatalError("memory: used \(report.usedBytes), available \(report.availableBytes) of \(report.totalBytes)")
        }
        checkPercent(report.usagePercent, "memory in use")
    }

    static func temperature(_ bytes: UnsafeRawBufferPointer) {
        let text = text(bytes)
        if let celsius = TemperatureParser.celsius(millidegrees: text), !celsius.isFinite { fatalError("temperature \(celsius)") }
        _ = TemperatureParser.isCPUChip(text)
        _ = TemperatureParser.isCPUZone(text)
    }

    static func processStat(_ bytes: UnsafeRawBufferPointer) {
        guard let stat = ProcessStat.parse(bytes) else { return }
        if stat.pid < 0 { fatalError("pid \(stat.pid)") }
    }
}
