//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Syntax of a CIDR block, shared by the configuration check and the server's allowlist.
public enum CIDRSyntax {
    /// The message for a value that is no CIDR block; nil when it is one.
    @Sendable static func problem(_ value: String) -> String? {
        parse(value) == nil ? "\"\(value)\" is not a CIDR block such as 10.0.0.0/8, 192.0.2.7, 2001:db8::/32 or ::1" : nil
    }

    /// (address bytes, prefix length) of `a.b.c.d[/n]` or an IPv6 address `[/n]`; nil when malformed.
    public static func parse(_ text: String) -> (address: [UInt8], prefix: Int)? {
        let parts = text.trimmingASCIIWhitespace().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        guard let address = parseAddress(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value), parts[1].utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
            prefix = value
        }
        return (address, prefix)
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address in text form (no zone).
    public static func parseAddress(_ text: String) -> [UInt8]? {
        if !text.contains(":") { return parseIPv4(Substring(text)) }
        var head: [UInt8] = []
        var tail: [UInt8] = []
        var sawGap = false
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowIPv4Tail: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowIPv4Tail, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    bytes += v4
                    continue
                }
                guard (1...4).contains(piece.utf8.count), let value = UInt16(piece, radix: 16) else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xff)]
            }
            return bytes
        }
        if halves.count == 2 {
            sawGap = true
            guard let h = groups(halves[0], allowIPv4Tail: false), let t = groups(halves[1], allowIPv4Tail: true) else { return nil }
            head = h
            tail = t
        } else {
            guard let h = groups(halves[0], allowIPv4Tail: true) else { return nil }
            head = h
        }
        let fill = 16 - head.count - tail.count
        guard sawGap ? fill >= 2 : fill == 0 else { return nil }
        return head + [UInt8](repeating: 0, count: fill) + tail
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for octet in octets {
            guard (1...3).contains(octet.utf8.count), octet.utf8.allSatisfy({ (48...57).contains($0) }), let value = UInt8(octet) else { return nil }
            bytes.append(value)
        }
        return bytes
    }
}
