//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into `\n`-terminated lines with a hard maximum line length.
///
/// Feed it chunks as they arrive; it calls back with every complete line (without its `\n`, and without a
/// `\r` just before it) and with every overlong line, which it discards up to the next `\n` and reports
/// once with its full length. It never holds more than `maximumLineLength` bytes: a line that fits in one
/// chunk is handed out as a view into that chunk, without a copy; only a line that spans chunks is
/// gathered, and only until it is known to be too long.
///
/// ```swift
/// var framer = LineFramer(maximumLineLength: 65_536)
/// framer.feed(chunk) { frame in
///     switch frame {
///     case .line(let bytes, let number): handle(bytes, number)
///     case .overlong(let length, let number): count(length, number)
///     }
/// }
/// framer.finish { frame in ... }   // at end of stream: a last line without `\n`
/// ```
///
/// - Complexity: O(n) in the bytes fed; a `memchr` per line.
public struct LineFramer: Sendable {
    /// What the framer found.
    public enum Frame {
        /// A complete line (no `\n`, no trailing `\r`), valid only during the callback. `number` is 1-based.
        case line(UnsafeRawBufferPointer, number: Int)
        /// A line longer than the maximum, discarded; `length` is its full length without the `\n`.
        case overlong(length: Int, number: Int)
    }

    /// The longest line accepted, in bytes, not counting the `\n`.
    public let maximumLineLength: Int
    /// The start of a line that spans chunks; never longer than ``maximumLineLength``.
    private var pending: [UInt8] = []
    /// True while skipping the rest of an overlong line.
    private var discarding = false
    /// Length so far of the line being discarded.
    private var discardedLength = 0
    /// Lines (complete or overlong) seen so far.
    public private(set) var lineCount = 0
    /// Bytes fed so far.
    public private(set) var byteCount: UInt64 = 0

    /// - Parameter maximumLineLength: at least 1.
    public init(maximumLineLength: Int) {
        self.maximumLineLength = max(1, maximumLineLength)
    }

    /// Bytes of an incomplete line held right now (for tests of the memory bound).
    public var bufferedByteCount: Int { pending.count }

    /// Consumes `chunk`, calling `body` for each line completed by it.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (Frame) throws -> Void) rethrows {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        byteCount &+= UInt64(chunk.count)
        var offset = 0
        let end = chunk.count
        while offset < end {
            let remaining = end - offset
            let start = base + offset
            guard let found = memchr(start, 0x0A, remaining) else {
                // No newline in the rest of the chunk: keep (or skip) it.
                absorb(UnsafeRawBufferPointer(start: start, count: remaining))
                return
            }
            let newline = UnsafeRawPointer(found)
            let length = newline - start
            lineCount += 1
            if discarding {
                let total = discardedLength + length
                discarding = false
                discardedLength = 0
                try body(.overlong(length: total, number: lineCount))
            } else if pending.isEmpty {
                if length > maximumLineLength {
                    try body(.overlong(length: length, number: lineCount))
                } else {
                    try body(.line(Self.trimmingCR(UnsafeRawBufferPointer(start: start, count: length)), number: lineCount))
                }
            } else {
                let total = pending.count + length
                if total > maximumLineLength {
                    pending.removeAll(keepingCapacity: true)
                    try body(.overlong(length: total, number: lineCount))
                } else {
                    pending.append(contentsOf: UnsafeRawBufferPointer(start: start, count: length))
                    let number = lineCount
                    try pending.withUnsafeBytes { try body(.line(Self.trimmingCR($0), number: number)) }
                    pending.removeAll(keepingCapacity: true)
                }
            }
            offset += length + 1
        }
    }

    /// Consumes `chunk` (convenience over ``feed(_:_:)-(UnsafeRawBufferPointer,_)``).
    public mutating func feed(_ chunk: [UInt8], _ body: (Frame) throws -> Void) rethrows {
        try chunk.withUnsafeBytes { try feed($0, body) }
    }

    /// End of stream: a last line without `\n` is handed out as a line (or reported as overlong).
    public mutating func finish(_ body: (Frame) throws -> Void) rethrows {
        if discarding {
            lineCount += 1
            let total = discardedLength
            discarding = false
            discardedLength = 0
            try body(.overlong(length: total, number: lineCount))
        } else if !pending.isEmpty {
            lineCount += 1
            let number = lineCount
            try pending.withUnsafeBytes { try body(.line(Self.trimmingCR($0), number: number)) }
            pending.removeAll(keepingCapacity: false)
        }
    }

    /// Keeps bytes of a line whose end has not arrived, or starts discarding once it is too long.
    private mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        if discarding {
            discardedLength += bytes.count
        } else if pending.count + bytes.count > maximumLineLength {
            discarding = true
            discardedLength = pending.count + bytes.count
            pending.removeAll(keepingCapacity: true)
        } else {
            let needed = pending.count + bytes.count
            // Grow by hand so the capacity never exceeds the maximum line length.
            if needed > pending.capacity { pending.reserveCapacity(min(maximumLineLength, max(256, needed * 2))) }
            pending.append(contentsOf: bytes)
        }
    }

    private static func trimmingCR(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        if line.count > 0, line[line.count - 1] == 0x0D {
            return UnsafeRawBufferPointer(rebasing: line[0..<(line.count - 1)])
        }
        return line
    }
}
