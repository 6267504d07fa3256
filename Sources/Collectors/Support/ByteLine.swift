//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// One line of procfs text as raw UTF-8 bytes, with its fields found by byte offsets.
///
/// The hot parsers (`/proc/stat`, `/proc/meminfo`, `/proc/net/dev`) run every collection; working on the
/// bytes of the file's contiguous UTF-8 storage avoids creating a `Substring` per field, whose `Character`
/// index validation dominated their cost. Strings are made only for names that end up in the output.
struct ByteLine {
    let bytes: UnsafeBufferPointer<UInt8>
    /// 1-based line number in the file.
    let number: Int
    /// Start offsets and ends of the whitespace-separated fields (spaces and tabs), in order.
    private(set) var fields: [Range<Int>] = []

    init(bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, number: Int, fields: inout [Range<Int>]) {
        self.bytes = bytes
        self.number = number
        fields.removeAll(keepingCapacity: true)
        var index = range.lowerBound
        while index < range.upperBound {
            while index < range.upperBound, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
            guard index < range.upperBound else { break }
            let start = index
            while index < range.upperBound, bytes[index] != 0x20, bytes[index] != 0x09 { index += 1 }
            fields.append(start..<index)
        }
        swap(&self.fields, &fields)
    }

    /// Returns the field buffer for reuse by the next line.
    mutating func recycle(into buffer: inout [Range<Int>]) { swap(&fields, &buffer) }

    var count: Int { fields.count }

    /// The text of a byte range (for names and error messages).
    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    func field(_ index: Int) -> String { string(fields[index]) }

    /// Whether the bytes of `range` equal the ASCII `literal`.
    func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let pointer = literal.utf8Start
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != pointer[offset] { return false }
        return true
    }

    /// Whether the bytes of `range` start with the ASCII `literal`.
    func hasPrefix(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count >= literal.utf8CodeUnitCount else { return false }
        return equals(range.lowerBound..<(range.lowerBound + literal.utf8CodeUnitCount), literal)
    }

    /// An unsigned decimal integer of ASCII digits only; nil on anything else, an empty range or overflow.
    func uint64(_ range: Range<Int>) -> UInt64? {
        guard !range.isEmpty else { return nil }
        var value: UInt64 = 0
        for index in range {
            let byte = bytes[index]
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - 0x30))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// The offset of the last `byte` in `range`, or nil.
    func lastIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        var index = range.upperBound
        while index > range.lowerBound {
            index -= 1
            if bytes[index] == byte { return index }
        }
        return nil
    }
}

extension String {
    /// Calls `body` for every line (split at `\n`) of the text's UTF-8 bytes, with its fields; one field
    /// buffer is reused for all lines. Blank lines are passed too (with no fields).
    mutating func forEachByteLine(_ body: (inout ByteLine) throws -> Void) rethrows {
        try withUTF8 { bytes in
            var buffer: [Range<Int>] = []
            buffer.reserveCapacity(24)
            var start = 0
            var number = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != 0x0A { end += 1 }
                number += 1
                var line = ByteLine(bytes: bytes, range: start..<end, number: number, fields: &buffer)
                try body(&line)
                line.recycle(into: &buffer)
                start = end + 1
            }
        }
    }
}
