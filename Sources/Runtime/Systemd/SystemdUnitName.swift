//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// What the agent takes as a systemd unit name (`nginx.service`, `postgresql@16-main.service`), in the configuration
/// (`[services.<name>] units`, `[logs] units`) and in a request (`GET /api/v1/logs?unit=`): at most 255 bytes of
/// letters, digits, `:`, `_`, `.`, `@` and `-` (systemd.unit(5), without the `\` escapes, which the agent never
/// needs). Anything that looks like a path (`/`, `..`, `\`, `%`, a control character) is named as such.
public enum SystemdUnitName {
    /// The longest name systemd accepts (`UNIT_NAME_MAX` less its terminating NUL).
    public static let maximumBytes = 255

    /// Why `name` is not a unit name (a phrase that follows the quoted name), or nil. `globs`: `*`, `?`, `[` and `]`
    /// may stand in the name, as in a pattern that matches a template's instances (`postgresql@*.service`).
    public static func problem(_ name: String, globs: Bool = false) -> String? {
        guard !name.isEmpty else { return "is empty" }
        guard name.utf8.count <= maximumBytes else { return "is longer than \(maximumBytes) bytes" }
        if name.contains("/") || name.contains("..") || name.contains("\\") || name.contains("%") || name.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            return "looks like a path, not a unit name"
        }
        let allowed: (UInt8) -> Bool = { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "@"), UInt8(ascii: "-"): true
            case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "]"): globs
            default: false
            }
        }
        guard name.utf8.allSatisfy(allowed) else { return "may contain only letters, digits, ':', '_', '.', '@' and '-'" + (globs ? " (and the globs * ? [ ])" : "") }
        return nil
    }
}
