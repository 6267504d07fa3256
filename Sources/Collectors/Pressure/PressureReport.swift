//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// Pressure stall information from `/proc/pressure/{cpu,memory,io}`; a resource is nil when its file
/// could not be read.
///
/// `system_info.pressure`: `{"cpu", "memory", "io"}`, each ``PressureResource`` or null.
public struct PressureReport: SystemInfoSection, Hashable {
    public static let key = "pressure"

    public var cpu: PressureResource?
    public var memory: PressureResource?
    public var io: PressureResource?

    public init(cpu: PressureResource?, memory: PressureResource?, io: PressureResource?) {
        self.cpu = cpu
        self.memory = memory
        self.io = io
    }

    enum Keys: String, CodingKey { case cpu, memory, io }

    public func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.cpu, cpu)
        try o(.memory, memory)
        try o(.io, io)
    }
}

/// One `/proc/pressure/<resource>` file: `some` (at least one task stalled) and `full` (all non-idle tasks
/// stalled at once). `full` is nil where the kernel does not report it (`cpu` before Linux 5.13).
///
/// JSON: `{"some", "full"}`, each ``PressureLine`` or null.
public struct PressureResource: Sendable, Hashable, Encodable {
    public var some: PressureLine?
    public var full: PressureLine?

    public init(some: PressureLine?, full: PressureLine?) {
        self.some = some
        self.full = full
    }

    enum Keys: String, CodingKey { case some, full }

    public func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.some, some)
        try o(.full, full)
    }
}

/// One line of a `/proc/pressure/<resource>` file (Linux PSI): `some avg10=1.53 avg60=0.87 avg300=0.36 total=1151616499`.
///
/// JSON: `{"avg10", "avg60", "avg300"}` in percent and `total_seconds`, the total stall time in seconds.
public struct PressureLine: Sendable, Hashable, Encodable {
    /// Share of wall time, in percent, that tasks were stalled on the resource, averaged over 10 s, 60 s and 300 s.
    public var avg10: Double
    public var avg60: Double
    public var avg300: Double
    /// Total stall time since boot in microseconds (a counter).
    public var totalMicroseconds: UInt64

    public init(avg10: Double, avg60: Double, avg300: Double, totalMicroseconds: UInt64) {
        self.avg10 = avg10
        self.avg60 = avg60
        self.avg300 = avg300
        self.totalMicroseconds = totalMicroseconds
    }

    /// The total stall time in seconds.
    public var totalSeconds: Double { Double(totalMicroseconds) / 1e6 }

    enum Keys: String, CodingKey { case avg10, avg60, avg300, total_seconds }

    public func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.avg10, avg10)
        try o(.avg60, avg60)
        try o(.avg300, avg300)
        try o(.total_seconds, totalSeconds)
    }
}
