//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
public import NIOCore
// `sockaddr_in`/`sockaddr_in6` as NIO declares them (SocketAddress.IPv4Address.address).
#if canImport(CNIOLinux)
import CNIOLinux
#endif

/// An IP address as 128 bits; IPv4 addresses are held IPv4-mapped (`::ffff:a.b.c.d`), so an IPv4 block matches a
/// client that reached an IPv6 socket with an IPv4-mapped address, and the other way round.
public struct IPAddressBits: Sendable, Hashable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    /// From 4 or 16 bytes.
    public init?(bytes: [UInt8]) {
        var full: [UInt8]
        switch bytes.count {
        case 4: full = [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + bytes
        case 16: full = bytes
        default: return nil
        }
        high = full[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = full[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// From text: `192.0.2.1`, `2001:db8::1`, `::ffff:192.0.2.1`.
    public init?(_ text: some StringProtocol) {
        guard let bytes = CIDRSyntax.parseAddress(String(text)) else { return nil }
        self.init(bytes: bytes)
    }

    /// The peer of a socket, from its `sockaddr` bytes (the zone of `fe80::1%eth0` is not part of them); nil for Unix
    /// sockets.
    public init?(_ address: SocketAddress?) {
        switch address {
        case .v4(let v4):
            // `s_addr` is in network order: its first byte in memory is the address's first.
            let value = UInt64(UInt32(bigEndian: v4.address.sin_addr.s_addr))
            high = 0
            low = 0xffff_0000_0000 | value
        case .v6(let v6):
            var address = v6.address.sin6_addr
            (high, low) = withUnsafeBytes(of: &address) { bytes in
                (UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
        case .unixDomainSocket, nil:
            return nil
        }
    }

    public var isIPv4Mapped: Bool { high == 0 && low >> 32 == 0xffff }

    public var description: String {
        if isIPv4Mapped {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        }
        let groups = (0..<8).map { i -> String in
            let word = i < 4 ? high >> (48 - 16 * UInt64(i)) : low >> (48 - 16 * UInt64(i - 4))
            return String(word & 0xffff, radix: 16)
        }
        return groups.joined(separator: ":")
    }
}

/// A CIDR block: IPv4 blocks are stored IPv4-mapped with their prefix plus 96.
public struct CIDRBlock: Sendable, Hashable {
    var network: IPAddressBits
    var maskHigh: UInt64
    var maskLow: UInt64

    public init?(_ text: String) {
        guard let (bytes, prefix) = CIDRSyntax.parse(text), let address = IPAddressBits(bytes: bytes) else { return nil }
        let bits = bytes.count == 4 ? prefix + 96 : prefix
        maskHigh = bits >= 64 ? .max : (bits == 0 ? 0 : .max << (64 - UInt64(bits)))
        maskLow = bits <= 64 ? 0 : (bits == 128 ? .max : .max << (128 - UInt64(bits)))
        network = IPAddressBits(bytes: [UInt8](repeating: 0, count: 16)) ?? address
        network.high = address.high & maskHigh
        network.low = address.low & maskLow
    }

    public func contains(_ address: IPAddressBits) -> Bool {
        address.high & maskHigh == network.high && address.low & maskLow == network.low
    }
}

/// A list of CIDR blocks (`[access] allow`, `trusted_proxies`).
public struct IPAllowlist: Sendable {
    public let blocks: [CIDRBlock]

    /// - Throws: the first entry that is not a CIDR block.
    public init(_ entries: [String]) throws(AccessControlError) {
        var blocks: [CIDRBlock] = []
        for entry in entries {
            guard let block = CIDRBlock(entry) else { throw AccessControlError("\"\(entry)\" is not a CIDR block") }
            blocks.append(block)
        }
        self.blocks = blocks
    }

    public func contains(_ address: IPAddressBits) -> Bool {
        blocks.contains { $0.contains(address) }
    }

    /// The client behind `peer`: the right-most `X-Forwarded-For` address that is not a trusted proxy, when `peer`
    /// itself is one; `peer` otherwise (the header of an untrusted peer is ignored).
    public func clientAddress(peer: IPAddressBits, forwardedFor: String?) -> IPAddressBits {
        guard let forwardedFor, contains(peer) else { return peer }
        var client = peer
        for hop in forwardedFor.split(separator: ",").reversed() {
            var text = hop.trimmingASCIIWhitespace()
            // `[2001:db8::1]:443` and `192.0.2.1:443` forms.
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                text = String(text[text.index(after: text.startIndex)..<close])
            } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
                text = String(text[..<colon])
            }
            guard let address = IPAddressBits(text) else { return client }
            client = address
            if !contains(address) { return address }
        }
        return client
    }
}
