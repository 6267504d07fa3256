//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import FoundationEssentials

/// A host of the configuration (`[server] listen`, a service's probe, `[outputs.postgresql] host`) in the form the
/// resolver and the peer take: an IP address as written, a name in ASCII.
///
/// A name that is not ASCII (`bücher.example`, or `ｌｏｃａｌｈｏｓｔ` in full-width letters) becomes its IDNA form
/// (`xn--bcher-kva.example`, `localhost`) as Foundation's `URL` maps it, the same mapping the HTTP client applies to a
/// webhook URL; the resolver (`getaddrinfo`) does no such mapping and would not find the name. Anything else than
/// letters, digits, `-`, `_` and `.` in a name (a space, a line break, `@`, `/`, `%`) is refused: a line break would
/// end up in an HTTP probe's `Host` header, a user before `@` would be looked up as part of the name.
public enum HostName {
    /// `host:port` as a peer, a log line or a `Host` header writes it: an IPv6 address in brackets (`[::1]:9740`).
    public static func endpoint(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The host and the port text of `host:port` or `[ipv6]:port` (the brackets dropped), or nil when it has neither
    /// form: no colon, more than one outside brackets, or text between `]` and the colon. Neither part is checked.
    static func splitEndpoint(_ text: Substring) -> (host: Substring, port: Substring)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            return (text[text.index(after: text.startIndex)..<close], text[text.index(close, offsetBy: 2)...])
        }
        guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else { return nil }
        return (text[..<colon], text[text.index(after: colon)...])
    }

    /// A port written in decimal digits only (no sign, no spaces), within `range`.
    static func port(_ text: Substring, in range: ClosedRange<Int>) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let port = Int(text) else { return nil }
        return range.contains(port) ? port : nil
    }

    /// The host as it goes on the wire, or why it cannot be one (a phrase that follows the quoted host).
    static func normalized(_ host: Substring) -> Result<String, Problem> {
        guard !host.isEmpty else { return .failure(Problem(reason: "is empty")) }
        if host.contains(":") {
            if host.hasPrefix("[") { return .failure(Problem(reason: "is an IPv6 address in brackets: write it without them")) }
            // A link-local address may name its interface: fe80::1%eth0.
            let parts = host.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
            guard CIDRSyntax.parseAddress(String(parts[0]))?.count == 16,
                parts.count == 1 || (!parts[1].isEmpty && parts[1].utf8.allSatisfy(isNameByte))
            else {
                return .failure(Problem(reason: "is neither a host name nor an IPv6 address (a port goes in its own place)"))
            }
            return .success(String(host))
        }
        var name = String(host)
        if !name.allSatisfy(\.isASCII) {
            guard let mapped = URL(string: "http://\(name)/")?.host, !mapped.isEmpty, mapped.allSatisfy(\.isASCII) else {
                return .failure(Problem(reason: "is not a valid internationalised host name"))
            }
            name = mapped
        }
        guard name.utf8.allSatisfy(isNameByte), name.utf8.count <= 253 else {
            return .failure(Problem(reason: "may contain only letters, digits, '-', '_' and '.' (at most 253 of them)"))
        }
        return .success(name)
    }

    struct Problem: Error, Sendable, Hashable {
        var reason: String
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): true
        default: false
        }
    }
}
