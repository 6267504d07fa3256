//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Finds the table headers that the TOML parser under TOMLKit (toml++ 3) cannot take: a `[` or `[[` at the start of a
/// statement followed (after spaces and tabs) by anything but a bare-key character, a quote or `]` — `[ = 1`, `[#`,
/// `[` at the end of a line, `[é]`. toml++ does not check that character before it reads the key and stops the whole
/// process on an assertion (found by fuzzing the configuration loader; the agent died on such an agent.toml or
/// manifest, at start or on reload). Every such text is invalid TOML, so refusing it first changes no valid document.
///
/// The scan follows strings (basic, literal, multi-line), comments and the brackets of values (arrays and inline
/// tables may span lines), so that a `[` inside them is never taken for a header.
enum TOMLHeaderCheck {
    /// The first bad header: its 1-based line and the character found where the table's name should start
    /// (`end of line`, `end of file`, or the character in quotes); nil when there is none.
    static func firstBadHeader(_ text: String) -> (line: Int, found: String)? {
        let bytes = Array(text.utf8)
        var index = 0
        var line = 1
        var depth = 0  // open brackets and braces of a value
        var statementStart = true
        var inHeader = false

        func at(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        func skipString(quote: UInt8) {
            let multiLine = at(1) == quote && at(2) == quote
            index += multiLine ? 3 : 1
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                    if at(1) == UInt8(ascii: "\n") { line += 1 }
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\n") {
                    if !multiLine { return }  // an unterminated string: toml++ reports it
                    line += 1
                }
                if byte == quote {
                    if !multiLine {
                        index += 1
                        return
                    }
                    // A run of three to five quotes ends it (up to two quotes may end the text itself).
                    var run = 0
                    while at(run) == quote { run += 1 }
                    index += run
                    if run >= 3 { return }
                    continue
                }
                index += 1
            }
        }

        while index < bytes.count {
            if statementStart {
                while let byte = at(0), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
                statementStart = false
                if at(0) == UInt8(ascii: "[") {
                    index += at(1) == UInt8(ascii: "[") ? 2 : 1
                    while let byte = at(0), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
                    guard let byte = at(0) else { return (line, "end of file") }
                    let bareKey =
                        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                        || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                    guard bareKey || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") || byte == UInt8(ascii: "]") else {
                        if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return (line, "end of line") }
                        let end = index + 1 + bytes[(index + 1)...].prefix { $0 & 0xC0 == 0x80 }.count
                        return (line, "'" + String(decoding: bytes[index..<end], as: UTF8.self) + "'")
                    }
                    inHeader = true
                }
                continue
            }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                index += 1
                inHeader = false
                statementStart = depth == 0
            case UInt8(ascii: "#"):
                while let next = at(0), next != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                skipString(quote: byte)
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if !inHeader { depth += 1 }
                index += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                if !inHeader { depth = max(0, depth - 1) }
                index += 1
            default:
                index += 1
            }
        }
        return nil
    }
}
