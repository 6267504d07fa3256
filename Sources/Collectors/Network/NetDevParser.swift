//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// The cumulative counters of one interface in `/proc/net/dev`.
public struct NetDevCounters: Sendable, Hashable {
    public var name: String
    public var receiveBytes: UInt64
    public var receivePackets: UInt64
    public var receiveErrors: UInt64
    public var receiveDrops: UInt64
    public var transmitBytes: UInt64
    public var transmitPackets: UInt64
    public var transmitErrors: UInt64
    public var transmitDrops: UInt64

    public init(
        name: String, receiveBytes: UInt64, receivePackets: UInt64, receiveErrors: UInt64, receiveDrops: UInt64,
        transmitBytes: UInt64, transmitPackets: UInt64, transmitErrors: UInt64, transmitDrops: UInt64
    ) {
        self.name = name
        self.receiveBytes = receiveBytes
        self.receivePackets = receivePackets
        self.receiveErrors = receiveErrors
        self.receiveDrops = receiveDrops
        self.transmitBytes = transmitBytes
        self.transmitPackets = transmitPackets
        self.transmitErrors = transmitErrors
        self.transmitDrops = transmitDrops
    }
}

/// Parses `/proc/net/dev`.
///
/// ```
/// Inter-|   Receive                                                |  Transmit
///  face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
///   eth0:68210035552 4100000 0 0 0 0 0 0 1234 5678 0 0 0 0 0 0
/// team0:1: 100 2 0 0 0 0 0 0 300 4 0 0 0 0 0 0
/// ```
/// The kernel prints the name right-aligned in 6 columns followed by `:`; a long name or a large
/// counter leaves no space after the colon, and names may contain `:` themselves (aliases such as
/// `team0:1`). Names never contain whitespace, so the first whitespace-separated token holds the name
/// and, possibly, the first counter glued to it: the name ends at the last `:` of that token.
public enum NetDevParser {
    /// - Throws: ``ParseError`` for an interface line without a `:` or with fewer than 16 numeric counters.
    public static func parse(_ text: String, file: String = "/proc/net/dev") throws -> [NetDevCounters] {
        var result: [NetDevCounters] = []
        var text = text
        try text.forEachByteLine { line in
            guard line.count > 0 else { return }
            let first = line.fields[0]
            // The two header lines hold `|`.
            for field in line.fields where line.lastIndex(of: 0x7C, in: field) != nil { return }
            guard let colon = line.lastIndex(of: 0x3A, in: first) else {
                throw ParseError(file: file, line: line.number, reason: "no \":\" after the interface name")
            }
            guard colon > first.lowerBound else { throw ParseError(file: file, line: line.number, reason: "empty interface name") }
            let name = line.string(first.lowerBound..<colon)
            var counters: [Range<Int>] = []
            counters.reserveCapacity(16)
            if colon + 1 < first.upperBound { counters.append((colon + 1)..<first.upperBound) }
            counters += line.fields.dropFirst()
            guard counters.count >= 16 else {
                throw ParseError(file: file, line: line.number, reason: "\(name): \(counters.count) counters, expected 16")
            }
            var values = [UInt64](repeating: 0, count: 16)
            for position in 0..<16 {
                guard let value = line.uint64(counters[position]) else {
                    throw ParseError(file: file, line: line.number, reason: "\(name): \"\(line.string(counters[position]))\" is not a counter")
                }
                values[position] = value
            }
            result.append(
                NetDevCounters(
                    name: name, receiveBytes: values[0], receivePackets: values[1], receiveErrors: values[2],
                    receiveDrops: values[3], transmitBytes: values[8], transmitPackets: values[9],
                    transmitErrors: values[10], transmitDrops: values[11]))
        }
        return result
    }
}
