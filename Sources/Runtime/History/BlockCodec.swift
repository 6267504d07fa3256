//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// The compressed block of one series: delta-of-delta timestamps and XOR-encoded floats after Facebook's
// Gorilla paper (Pelkonen et al., VLDB 2015). The byte layout is documented in docs/storage-format.md;
// change it only together with `BlockCodec.version` and a decoder for the old version.

/// One stored sample: a time in milliseconds since the Unix epoch and a value.
public struct HistorySample: Sendable, Hashable {
    public var milliseconds: Int64
    public var value: Double

    public init(milliseconds: Int64, value: Double) {
        self.milliseconds = milliseconds
        self.value = value
    }

    /// Bit-exact equality (`-0.0 != 0.0`, a NaN equals the same NaN payload), as the codec guarantees.
    public func isBitIdentical(to other: HistorySample) -> Bool {
        milliseconds == other.milliseconds && value.bitPattern == other.value.bitPattern
    }
}

/// Why a block could not be decoded.
public struct BlockDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { "history block: \(reason)" }
}

/// Encodes and decodes blocks (format version 1).
///
/// ```swift
/// var encoder = BlockEncoder()
/// encoder.append(HistorySample(milliseconds: 1_700_000_000_000, value: 12.5))
/// let bytes = encoder.bytes()
/// let samples = try BlockCodec.decode(bytes)
/// ```
///
/// Every timestamp (any `Int64`, in any order) and every `Double` bit pattern (±0, subnormals, ±infinity,
/// NaN payloads) round-trips exactly; the history writer still drops non-finite values before they get here.
public enum BlockCodec {
    /// The first byte of every block.
    public static let version: UInt8 = 1

    /// Every sample of `bytes`, in the order they were appended.
    /// - Throws: ``BlockDecodingError`` for an unknown version, a truncated block or a count that the bytes cannot hold.
    public static func decode(_ bytes: [UInt8]) throws(BlockDecodingError) -> [HistorySample] {
        var result: [HistorySample] = []
        try decode(bytes) { result.append($0) }
        return result
    }

    /// Calls `body` with every sample of `bytes`, in order, without building an array.
    public static func decode(_ bytes: [UInt8], _ body: (HistorySample) -> Void) throws(BlockDecodingError) {
        guard let first = bytes.first else { throw BlockDecodingError(reason: "empty") }
        guard first == version else { throw BlockDecodingError(reason: "unknown format version \(first)") }
        guard bytes.count >= 2 else { throw BlockDecodingError(reason: "truncated header") }
        let mode = bytes[1]
        let decimalScale: Double?
        switch mode {
        case 0: decimalScale = nil
        case 0x10...0x19: decimalScale = powersOfTen[Int(mode & 0x0F)]
        default: throw BlockDecodingError(reason: "unknown value mode \(mode)")
        }
        var offset = 2
        let count = try readUVarint(bytes, &offset)
        let firstTime = zigzagDecode(try readUVarint(bytes, &offset))
        var firstBits: UInt64 = 0
        var integer: Int64 = 0
        if let decimalScale {
            integer = zigzagDecode(try readUVarint(bytes, &offset))
            firstBits = (Double(integer) / decimalScale).bitPattern
        } else {
            guard offset + 8 <= bytes.count else { throw BlockDecodingError(reason: "truncated header") }
            for index in offset..<(offset + 8) { firstBits = firstBits << 8 | UInt64(bytes[index]) }
            offset += 8
        }
        guard count >= 1 else { throw BlockDecodingError(reason: "no samples") }
        // Each further sample takes at least 2 bits: a count the bytes cannot hold is corruption, not a huge allocation.
        guard count - 1 <= UInt64(bytes.count - offset) * 4 else { throw BlockDecodingError(reason: "count \(count) exceeds the data") }
        body(HistorySample(milliseconds: firstTime, value: Double(bitPattern: firstBits)))
        var reader = BitReader(bytes: bytes, bitOffset: offset * 8)
        var time = firstTime
        var delta: Int64 = 0
        var bits = firstBits
        var leading = 0
        var trailing = 0
        var remaining = count - 1
        while remaining > 0 {
            remaining -= 1
            // Timestamp.
            let dod: Int64
            if try !reader.bit() {
                dod = 0
            } else if try !reader.bit() {
                dod = signExtend(try reader.read(4), 4)
            } else if try !reader.bit() {
                dod = signExtend(try reader.read(7), 7)
            } else if try !reader.bit() {
                dod = signExtend(try reader.read(12), 12)
            } else if try !reader.bit() {
                dod = signExtend(try reader.read(32), 32)
            } else {
                dod = Int64(bitPattern: try reader.read(64))
            }
            delta = delta &+ dod
            time = time &+ delta
            // Value.
            if let decimalScale {
                integer = integer &+ (try Self.readBucketed(&reader))
                bits = (Double(integer) / decimalScale).bitPattern
            } else if try reader.bit() {
                if try reader.bit() {
                    leading = Int(try reader.read(6))
                    let length = Int(try reader.read(6)) + 1
                    guard leading + length <= 64 else { throw BlockDecodingError(reason: "bad XOR window") }
                    trailing = 64 - leading - length
                }
                let length = 64 - leading - trailing
                guard length > 0 else { throw BlockDecodingError(reason: "XOR window used before it was set") }
                bits ^= try reader.read(length) << UInt64(trailing)
            }
            body(HistorySample(milliseconds: time, value: Double(bitPattern: bits)))
        }
    }

    /// 10^0 … 10^9, exact in a Double.
    static let powersOfTen: [Double] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000]

    /// A signed integer with a prefix-coded width: `0` zero, `10`+7, `110`+9, `1110`+13, `11110`+20, `111110`+32, `111111`+64 bits.
    static func writeBucketed(_ value: Int64, to writer: inout BitWriter) {
        switch value {
        case 0: writer.write(0, bits: 1)
        case -64...63: writer.write(0b10, bits: 2); writer.write(UInt64(bitPattern: value), bits: 7)
        case -256...255: writer.write(0b110, bits: 3); writer.write(UInt64(bitPattern: value), bits: 9)
        case -4096...4095: writer.write(0b1110, bits: 4); writer.write(UInt64(bitPattern: value), bits: 13)
        case -524_288...524_287: writer.write(0b11110, bits: 5); writer.write(UInt64(bitPattern: value), bits: 20)
        case Int64(Int32.min)...Int64(Int32.max): writer.write(0b111110, bits: 6); writer.write(UInt64(bitPattern: value), bits: 32)
        default: writer.write(0b111111, bits: 6); writer.write(UInt64(bitPattern: value), bits: 64)
        }
    }

    static func readBucketed(_ reader: inout BitReader) throws(BlockDecodingError) -> Int64 {
        if try !reader.bit() { return 0 }
        if try !reader.bit() { return signExtend(try reader.read(7), 7) }
        if try !reader.bit() { return signExtend(try reader.read(9), 9) }
        if try !reader.bit() { return signExtend(try reader.read(13), 13) }
        if try !reader.bit() { return signExtend(try reader.read(20), 20) }
        if try !reader.bit() { return signExtend(try reader.read(32), 32) }
        return Int64(bitPattern: try reader.read(64))
    }

    // MARK: - Integers

    static func appendUVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func readUVarint(_ bytes: [UInt8], _ offset: inout Int) throws(BlockDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw BlockDecodingError(reason: "truncated varint") }
            let byte = bytes[offset]
            offset += 1
            guard shift < 64 else { throw BlockDecodingError(reason: "varint too long") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    static func zigzagEncode(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    static func zigzagDecode(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }

    static func signExtend(_ raw: UInt64, _ width: Int) -> Int64 {
        let shift = UInt64(64 - width)
        return Int64(bitPattern: raw << shift) >> shift
    }
}

/// Builds one block sample by sample; ``bytes()`` can be taken at any time (the history writer stores the
/// open block on every flush) and appending may continue afterwards.
///
/// Values are stored in one of two modes, chosen per block by ``bytes()`` (the smaller wins):
/// - **XOR** (Gorilla): any bit pattern.
/// - **decimal**: when every value is exactly `n / 10^k` for integers `n` (|n| < 2^53) and one `k` in 0…9 (percentages
///   with 2 decimals, byte counts, loads), the integers' deltas are stored instead; decoding computes `Double(n) / 10^k`,
///   the very operation the encoder checked, so the round trip stays bit-exact.
public struct BlockEncoder: Sendable {
    private var samples: [HistorySample] = []
    public private(set) var minimumTime: Int64 = .max
    public private(set) var maximumTime: Int64 = .min

    public init() {}

    public var count: Int { samples.count }
    public var first: HistorySample? { samples.first }
    /// The newest appended sample.
    public var last: HistorySample? { samples.last }

    /// Appends one sample; any timestamp and any bit pattern is accepted.
    public mutating func append(_ sample: HistorySample) {
        samples.append(sample)
        minimumTime = min(minimumTime, sample.milliseconds)
        maximumTime = max(maximumTime, sample.milliseconds)
    }

    /// The smallest `k` for which every value is exactly an integer over 10^k, with those integers; nil if none.
    static func decimalIntegers(_ samples: [HistorySample]) -> (Int, [Int64])? {
        scales: for k in 0..<BlockCodec.powersOfTen.count {
            let scale = BlockCodec.powersOfTen[k]
            var integers: [Int64] = []
            integers.reserveCapacity(samples.count)
            for sample in samples {
                let scaled = (sample.value * scale).rounded()
                guard scaled.isFinite, abs(scaled) < 9_007_199_254_740_992 else { continue scales }
                let n = Int64(scaled)
                guard (Double(n) / scale).bitPattern == sample.value.bitPattern else { continue scales }
                integers.append(n)
            }
            return (k, integers)
        }
        return nil
    }

    /// The block as stored: header and bit stream (empty when nothing was appended).
    public func bytes() -> [UInt8] {
        guard !samples.isEmpty else { return [] }
        let xor = encode(mode: 0, integers: nil)
        guard let (k, integers) = Self.decimalIntegers(samples) else { return xor }
        let decimal = encode(mode: 0x10 | UInt8(k), integers: integers)
        return decimal.count < xor.count ? decimal : xor
    }

    private func encode(mode: UInt8, integers: [Int64]?) -> [UInt8] {
        guard let first = samples.first else { return [] }
        var result: [UInt8] = [BlockCodec.version, mode]
        BlockCodec.appendUVarint(UInt64(samples.count), to: &result)
        BlockCodec.appendUVarint(BlockCodec.zigzagEncode(first.milliseconds), to: &result)
        if let integers {
            BlockCodec.appendUVarint(BlockCodec.zigzagEncode(integers[0]), to: &result)
        } else {
            let bits = first.value.bitPattern
            for shift in stride(from: 56, through: 0, by: -8) { result.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
        var body = BitWriter()
        var delta: Int64 = 0
        var leading = Int.max
        var trailing = 0
        for index in 1..<max(1, samples.count) {
            let sample = samples[index]
            let previous = samples[index - 1]
            let newDelta = sample.milliseconds &- previous.milliseconds
            let dod = newDelta &- delta
            delta = newDelta
            switch dod {
            case 0: body.write(0, bits: 1)
            case -8...7: body.write(0b10, bits: 2); body.write(UInt64(bitPattern: dod), bits: 4)
            case -64...63: body.write(0b110, bits: 3); body.write(UInt64(bitPattern: dod), bits: 7)
            case -2048...2047: body.write(0b1110, bits: 4); body.write(UInt64(bitPattern: dod), bits: 12)
            case Int64(Int32.min)...Int64(Int32.max): body.write(0b11110, bits: 5); body.write(UInt64(bitPattern: dod), bits: 32)
            default: body.write(0b11111, bits: 5); body.write(UInt64(bitPattern: dod), bits: 64)
            }
            if let integers {
                BlockCodec.writeBucketed(integers[index] &- integers[index - 1], to: &body)
                continue
            }
            let xor = sample.value.bitPattern ^ previous.value.bitPattern
            if xor == 0 {
                body.write(0, bits: 1)
                continue
            }
            let newLeading = min(xor.leadingZeroBitCount, 63)
            let newTrailing = xor.trailingZeroBitCount
            if leading != .max, newLeading >= leading, newTrailing >= trailing {
                body.write(0b10, bits: 2)
                body.write(xor >> UInt64(trailing), bits: 64 - leading - trailing)
            } else {
                leading = newLeading
                trailing = newTrailing
                let length = 64 - leading - trailing
                body.write(0b11, bits: 2)
                body.write(UInt64(leading), bits: 6)
                body.write(UInt64(length - 1), bits: 6)
                body.write(xor >> UInt64(trailing), bits: length)
            }
        }
        body.appendBytes(to: &result)
        return result
    }
}

// MARK: - Bits

/// Most significant bit first.
struct BitWriter: Sendable {
    private var bytes: [UInt8] = []
    private var current: UInt8 = 0
    private var filled = 0

    var byteCount: Int { bytes.count + (filled > 0 ? 1 : 0) }

    /// Writes the low `bits` bits of `value` (1...64).
    mutating func write(_ value: UInt64, bits: Int) {
        var remaining = bits
        while remaining > 0 {
            let take = min(8 - filled, remaining)
            let shift = UInt64(remaining - take)
            let chunk = UInt8(truncatingIfNeeded: (value >> shift) & ((1 << UInt64(take)) - 1))
            current |= chunk << UInt8(8 - filled - take)
            filled += take
            remaining -= take
            if filled == 8 {
                bytes.append(current)
                current = 0
                filled = 0
            }
        }
    }

    func appendBytes(to result: inout [UInt8]) {
        result.append(contentsOf: bytes)
        if filled > 0 { result.append(current) }
    }
}

struct BitReader {
    let bytes: [UInt8]
    var position: Int

    init(bytes: [UInt8], bitOffset: Int) {
        self.bytes = bytes
        self.position = bitOffset
    }

    mutating func bit() throws(BlockDecodingError) -> Bool {
        guard position < bytes.count * 8 else { throw BlockDecodingError(reason: "truncated bit stream") }
        let byte = bytes[position >> 3]
        let set = (byte >> UInt8(7 - (position & 7))) & 1 == 1
        position += 1
        return set
    }

    mutating func read(_ count: Int) throws(BlockDecodingError) -> UInt64 {
        guard position + count <= bytes.count * 8 else { throw BlockDecodingError(reason: "truncated bit stream") }
        var result: UInt64 = 0
        var remaining = count
        while remaining > 0 {
            let offset = position & 7
            let available = 8 - offset
            let take = min(available, remaining)
            let byte = UInt64(bytes[position >> 3])
            let chunk = (byte >> UInt64(available - take)) & ((1 << UInt64(take)) - 1)
            result = take == 64 ? chunk : (result << UInt64(take)) | chunk
            position += take
            remaining -= take
        }
        return result
    }
}
