//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// What the agent takes as a systemd unit name (`nginx.service`, `postgresql@16-main.service`,
/// `systemd-fsck@dev-disk-by\x2duuid-1234.service`), in the configuration (`[services.<name>] units`, `[logs] units`)
/// and in a request (`GET /api/v1/logs?unit=`): at most 255 bytes of parts separated by single dots, each part
/// letters, digits, `:`, `_`, `@`, `-` and systemd's `\xNN` escapes (systemd.unit(5)). A name with `/`, `..`, `%`, a
/// control character or another `\` is named as looking like a path.
public enum SystemdUnitName {
    /// The longest name systemd accepts (`UNIT_NAME_MAX` less its terminating NUL).
    public static let maximumBytes = 255

    /// Why `name` is not a unit name (a phrase that follows the quoted name), or nil. `globs`: `*`, `?`, `[` and `]`
    /// may stand in the name, as in a pattern that matches a template's instances (`postgresql@*.service`).
    public static func problem(_ name: String, globs: Bool = false) -> String? {
        guard !name.isEmpty else { return "is empty" }
        let bytes = Array(name.utf8)
        guard bytes.count <= maximumBytes else { return "is longer than \(maximumBytes) bytes" }
        if name.contains("/") || name.contains("..") || name.contains("%") || bytes.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
            return "looks like a path, not a unit name"
        }
        var index = 0
        var partLength = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                guard index + 3 < bytes.count, bytes[index + 1] == UInt8(ascii: "x"), isHex(bytes[index + 2]), isHex(bytes[index + 3]) else {
                    return "looks like a path, not a unit name (a '\\' starts only a \\xNN escape)"
                }
                index += 4
                partLength += 1
                continue
            }
            if byte == UInt8(ascii: ".") {
                if partLength == 0 { return "has an empty part before a '.'" }
                partLength = 0
            } else if isNameByte(byte) || (globs && isGlobByte(byte)) {
                partLength += 1
            } else {
                return "may contain only letters, digits, ':', '_', '.', '@', '-' and \\xNN escapes" + (globs ? " (and the globs * ? [ ])" : "")
            }
            index += 1
        }
        if partLength == 0 { return "ends with a '.'" }
        return nil
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: "@"), UInt8(ascii: "-"): true
        default: false
        }
    }

    private static func isGlobByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]")
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }
}
