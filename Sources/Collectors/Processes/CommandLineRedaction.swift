//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Hides secrets that processes carry on their command line before the line leaves the agent
/// (`GET /api/v1/processes`), since any viewer may read it.
///
/// An argument's value is replaced by ``mask`` when its name looks secret, i.e. contains (ASCII case-insensitively)
/// one of ``secretWords``:
/// - `--name=value`, `-name=value` and `name=value` (environment style, `PASSWORD=x`): the part after the first `=`;
/// - `--name value` and `-name value`: the next argument, unless it is itself a long option (`--…`);
/// - and in any argument, the password of a URL's user info (`postgres://app:hunter2@db/x` → `postgres://app:***@db/x`).
///
/// Over-redacting a harmless value (`--keyboard=us`) is accepted; showing a secret is not.
public enum CommandLineRedaction {
    /// What a secret value becomes.
    public static let mask = "***"

    /// Parts of argument names whose values are hidden.
    public static let secretWords = ["password", "passwd", "pass", "pwd", "token", "secret", "key", "credential", "auth"]

    /// `arguments` with the values of secret-looking arguments replaced by ``mask``.
    public static func redact(_ arguments: [String]) -> [String] {
        var result: [String] = []
        result.reserveCapacity(arguments.count)
        var hideNext = false
        for argument in arguments {
            if hideNext, !argument.hasPrefix("--") {
                hideNext = false
                result.append(mask)
                continue
            }
            hideNext = false
            if let equals = argument.firstIndex(of: "="), isName(argument[..<equals]) {
                let name = argument[..<equals]
                if isSecretName(name) {
                    result.append(name + "=" + mask)
                    continue
                }
            } else if argument.hasPrefix("-"), isName(argument[...]), isSecretName(argument[...]) {
                hideNext = true
                result.append(argument)
                continue
            }
            result.append(redactingURLPasswords(argument))
        }
        return result
    }

    /// Whether `name` (an option or variable name, dashes included) contains one of ``secretWords``.
    public static func isSecretName(_ name: Substring) -> Bool {
        // Byte comparison without a lowered copy: this runs for every argument of every listed process at each collection.
        let bytes = Array(name.utf8)
        return secretWordBytes.contains { word in
            guard word.count <= bytes.count else { return false }
            return (0...(bytes.count - word.count)).contains { start in
                word.indices.allSatisfy { asciiLowered(bytes[start + $0]) == word[$0] }
            }
        }
    }

    /// ``secretWords`` as bytes (all lower case).
    private static let secretWordBytes: [[UInt8]] = secretWords.map { Array($0.utf8) }

    private static func asciiLowered(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte + 32 : byte }

    /// An option or variable name: 1 to 128 ASCII letters, digits, `-`, `_` and `.`, with at least one letter.
    static func isName(_ text: Substring) -> Bool {
        let bytes = text.utf8
        guard (1...128).contains(bytes.count), bytes.contains(where: { (65...90).contains($0) || (97...122).contains($0) }) else { return false }
        return bytes.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95 || $0 == 46 }
    }

    /// `scheme://user:password@host…` with the password masked, wherever it appears in `argument`.
    static func redactingURLPasswords(_ argument: String) -> String {
        let utf8 = argument.utf8
        guard zip(utf8, zip(utf8.dropFirst(), utf8.dropFirst(2))).contains(where: { $0 == UInt8(ascii: ":") && $1 == (UInt8(ascii: "/"), UInt8(ascii: "/")) }) else {
            return argument
        }
        var output = ""
        var rest = Substring(argument)
        while let scheme = schemeSeparator(in: rest) {
            output += rest[..<scheme]
            rest = rest[scheme...]
            // The authority ends at the first '/', '?' or '#'; user info is before its last '@'.
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                output += rest[..<colon] + ":" + mask
                rest = rest[at...]
            }
        }
        return output + rest
    }

    /// The index just after the first `://` of `text`.
    static func schemeSeparator(in text: Substring) -> Substring.Index? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix("://") { return text.index(index, offsetBy: 3) }
            index = text.index(after: index)
        }
        return nil
    }
}
