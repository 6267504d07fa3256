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
        for (number, line) in text.numberedLines {
            if line.contains("|") { continue }  // the two header lines
            var tokens = line.fields
            guard let first = tokens.first else { continue }
            guard let colon = first.lastIndex(of: ":") else {
                throw ParseError(file: file, line: number, reason: "no \":\" after the interface name")
            }
            let name = String(first[..<colon])
            guard !name.isEmpty else { throw ParseError(file: file, line: number, reason: "empty interface name") }
            let glued = first[first.index(after: colon)...]
            tokens.removeFirst()
            if !glued.isEmpty { tokens.insert(glued, at: 0) }
            guard tokens.count >= 16 else {
                throw ParseError(file: file, line: number, reason: "\(name): \(tokens.count) counters, expected 16")
            }
            var counters: [UInt64] = []
            counters.reserveCapacity(16)
            for token in tokens.prefix(16) {
                guard let value = parseUInt64(token) else {
                    throw ParseError(file: file, line: number, reason: "\(name): \"\(token)\" is not a counter")
                }
                counters.append(value)
            }
            result.append(
                NetDevCounters(
                    name: name, receiveBytes: counters[0], receivePackets: counters[1], receiveErrors: counters[2],
                    receiveDrops: counters[3], transmitBytes: counters[8], transmitPackets: counters[9],
                    transmitErrors: counters[10], transmitDrops: counters[11]))
        }
        return result
    }
}
