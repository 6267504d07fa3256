//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import Crypto
import FoundationEssentials

/// API keys, kept only as salted hashes.
///
/// A key reads `vwk_<salt>_<secret>`: 16 random bytes of salt and 32 of secret, in hex. The configuration holds
/// `hmac-sha256:<salt>:<HMAC-SHA256(salt, key)>`; the salt in the key finds its entry in one dictionary lookup,
/// and the HMAC (keyed with the salt once per entry) is compared in constant time (swift-crypto's `==` of a MAC and
/// bytes, as its `isValidAuthenticationCode` does).
public struct APIKeyStore: Sendable {
    struct Entry: Sendable {
        var name: String
        var role: AccessRole
        var salt: [UInt8]
        var digest: [UInt8]
        /// HMAC-SHA256 keyed with the salt, before any data: a request copies it instead of keying one anew.
        var keyed: HMAC<SHA256>

        init(name: String, role: AccessRole, salt: [UInt8], digest: [UInt8]) {
            self.name = name
            self.role = role
            self.salt = salt
            self.digest = digest
            self.keyed = HMAC<SHA256>(key: SymmetricKey(data: salt))
        }
    }

    private let entries: [String: Entry]
    /// Burns the same HMAC for an unknown salt, so a miss takes as long as a wrong secret.
    private static let decoy = Entry(name: "", role: .viewer, salt: [UInt8](repeating: 0, count: 16), digest: [UInt8](repeating: 0, count: 32))

    public init(_ keys: [APIKeyEntry]) {
        var entries: [String: Entry] = [:]
        for key in keys {
            let parts = key.hash.split(separator: ":")
            guard parts.count == 3, let salt = Self.bytes(hex: parts[1]), let digest = Self.bytes(hex: parts[2]) else { continue }
            entries[String(parts[1])] = Entry(name: key.name, role: key.role, salt: salt, digest: digest)
        }
        self.entries = entries
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The name and role of `key`, or nil when it is not one of ours.
    public func authenticate(_ key: Substring) -> (name: String, role: AccessRole)? {
        let utf8 = key.utf8
        // vwk_ + 32 + _ + 64
        guard utf8.count == 101, key.hasPrefix("vwk_") else { return nil }
        let saltHex = key.dropFirst(4).prefix(32)
        let entry = entries[String(saltHex)]
        let candidate = entry ?? Self.decoy
        var hmac = candidate.keyed
        hmac.update(data: Array(utf8))
        // `==` of a MAC and bytes compares in constant time, as `isValidAuthenticationCode` does.
        let valid = hmac.finalize() == candidate.digest
        guard valid, let entry else { return nil }
        return (entry.name, entry.role)
    }

    // MARK: - Creating keys

    /// A new random key and its `hmac-sha256:…` hash; the key is shown once and never stored.
    public static func generate() -> (key: String, hash: String) {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = "vwk_\(hex(salt))_\(hex(secret))"
        return (key, hash(key: key, salt: salt))
    }

    /// `hmac-sha256:<salt hex>:<HMAC-SHA256(salt, key) hex>`.
    public static func hash(key: String, salt: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(key.utf8), using: SymmetricKey(data: salt))
        return "hmac-sha256:\(hex(salt)):\(hex(Array(code)))"
    }

    static func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

    static func bytes(hex: Substring) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}
