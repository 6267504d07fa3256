//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import PropertyBased
import Testing

/// The block format (docs/storage-format.md): every timestamp and every Double bit pattern round-trips exactly.
struct BlockCodecTests {
    static func roundTrip(_ samples: [HistorySample]) throws -> [HistorySample] {
        var encoder = BlockEncoder()
        for sample in samples { encoder.append(sample) }
        return try BlockCodec.decode(encoder.bytes())
    }

    static func expectIdentical(_ decoded: [HistorySample], _ original: [HistorySample], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(decoded.count == original.count, sourceLocation: sourceLocation)
        for (a, b) in zip(decoded, original) where !a.isBitIdentical(to: b) {
            Issue.record("\(a) != \(b) (bits \(a.value.bitPattern) vs \(b.value.bitPattern))", sourceLocation: sourceLocation)
            return
        }
    }

    static let edgeValues: [Double] = [
        0, -0.0, 1, -1, 0.1, 0.2, 0.30000000000000004, 99.99, 100, 1e-300, -1e-300, 1e300, -1e300,
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, .leastNormalMagnitude.nextDown, .greatestFiniteMagnitude,
        -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, -.nan, .signalingNaN, Double(bitPattern: 0x7FF8_0000_DEAD_BEEF),
        9_007_199_254_740_992, Double(bitPattern: 0x4340_0000_0000_0001), 18_446_744_073_709_551_616, .pi, -.ulpOfOne,
        Double(bitPattern: 3),
    ]

    // MARK: - Exhaustive edges

    @Test func everyPairOfEdgeValuesRoundTripsBitExactly() throws {
        // a, b, a, b, b: every XOR window change and reuse between each pair.
        for a in Self.edgeValues {
            for b in Self.edgeValues {
                let samples = [a, b, a, b, b].enumerated().map { HistorySample(milliseconds: 1_700_000_000_000 + Int64($0.offset) * 30_000, value: $0.element) }
                Self.expectIdentical(try Self.roundTrip(samples), samples)
            }
        }
    }

    @Test func delta_of_delta_bucket_boundaries() throws {
        // Each delta-of-delta lands on a bucket edge or just past it, both signs, up to the 64-bit escape.
        let dods: [Int64] = [
            0, 1, -1, 7, -8, 8, -9, 63, -64, 64, -65, 255, -256, 256, -257, 2047, -2048, 2048, -2049, Int64(Int32.max), Int64(Int32.min),
            Int64(Int32.max) + 1, Int64(Int32.min) - 1, 1 << 40, -(1 << 40),
        ]
        var time: Int64 = 1_700_000_000_000
        var delta: Int64 = 30_000
        var samples = [HistorySample(milliseconds: time, value: 1), HistorySample(milliseconds: time + delta, value: 2)]
        time += delta
        for dod in dods {
            delta += dod
            time += delta
            samples.append(HistorySample(milliseconds: time, value: Double(samples.count)))
        }
        Self.expectIdentical(try Self.roundTrip(samples), samples)
    }

    @Test func extremeTimestampsWrapAndComeBack() throws {
        let samples = [Int64.min, Int64.max, 0, -1, Int64.max, Int64.min, 1].map { HistorySample(milliseconds: $0, value: 1) }
        Self.expectIdentical(try Self.roundTrip(samples), samples)
    }

    @Test func singleSampleBlock() throws {
        for value in Self.edgeValues {
            let sample = [HistorySample(milliseconds: -5, value: value)]
            let bytes = { var e = BlockEncoder(); e.append(sample[0]); return e.bytes() }()
            #expect(bytes.first == BlockCodec.version)
            Self.expectIdentical(try BlockCodec.decode(bytes), sample)
        }
    }

    @Test func identicalValuesAtAFixedIntervalCostTwoBitsEach() throws {
        let samples = (0..<1000).map { HistorySample(milliseconds: 1_700_000_000_000 + Int64($0) * 30_000, value: 42.5) }
        var encoder = BlockEncoder()
        for sample in samples { encoder.append(sample) }
        let bytes = encoder.bytes()
        Self.expectIdentical(try BlockCodec.decode(bytes), samples)
        // Header: version 1 + count 2 + time 6 + value 8; then the first delta (32-bit bucket) and 2 bits per sample.
        #expect(bytes.count <= 17 + 6 + (999 * 2 + 7) / 8)
    }

    @Test func unknownVersionTruncationAndGarbageThrowInsteadOfTrapping() throws {
        var encoder = BlockEncoder()
        for index in 0..<50 { encoder.append(HistorySample(milliseconds: Int64(index) * 1000 + Int64(index % 7), value: Double(index) * 1.37)) }
        let bytes = encoder.bytes()
        #expect(throws: BlockDecodingError.self) { try BlockCodec.decode([]) }
        var wrongVersion = bytes
        wrongVersion[0] = 2
        #expect(throws: BlockDecodingError(reason: "unknown format version 2")) { try BlockCodec.decode(wrongVersion) }
        for length in 1..<bytes.count {
            #expect(throws: BlockDecodingError.self) { try BlockCodec.decode(Array(bytes.prefix(length))) }
        }
        // A huge count with few bytes is refused before anything is allocated.
        var hugeCount: [UInt8] = [1]
        BlockCodec.appendUVarint(UInt64(1) << 60, to: &hugeCount)
        hugeCount += [0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF]
        #expect(throws: BlockDecodingError.self) { try BlockCodec.decode(hugeCount) }
        // Random bytes after a valid version byte: decode or throw, never trap.
        var rng = SplitMix(seed: 7)
        for _ in 0..<2000 {
            let garbage = [BlockCodec.version] + (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? BlockCodec.decode(garbage)
        }
    }

    @Test func decimalModeIsChosenWhenEveryValueIsAScaledInteger() throws {
        func block(_ values: [Double]) -> [UInt8] {
            var encoder = BlockEncoder()
            for (index, value) in values.enumerated() { encoder.append(HistorySample(milliseconds: Int64(index) * 30_000, value: value)) }
            return encoder.bytes()
        }
        let percentages = (0..<240).map { Double(($0 * 37) % 10_000) / 100 }
        let bytes = block(percentages)
        #expect(bytes[1] == 0x12)  // decimal, 10^2
        Self.expectIdentical(try BlockCodec.decode(bytes), percentages.enumerated().map { HistorySample(milliseconds: Int64($0.offset) * 30_000, value: $0.element) })
        #expect(block([1, 2, 1e15, 7])[1] == 0x10)  // integers
        #expect(block([0.001, 2.5, 3])[1] == 0x13)
        #expect(block([1, -0.0, 2])[1] == 0)  // -0 is not n / 10^k: XOR keeps its sign
        #expect(block([1, .nan])[1] == 0)
        #expect(block([0.1 + 0.2, 1])[1] == 0)  // 0.30000000000000004 is not a short decimal
        #expect(block([9_007_199_254_740_994, 1])[1] == 0)  // 2^53 + 2: beyond the exact integers of the decimal mode
        var unknownMode = bytes
        unknownMode[1] = 0x20
        #expect(throws: BlockDecodingError(reason: "unknown value mode 32")) { try BlockCodec.decode(unknownMode) }
    }

    @Test func decimalDeltasAtBucketEdgesRoundTrip() throws {
        let deltas: [Int64] = [0, 63, -64, 64, -65, 255, -256, 256, -257, 4095, -4096, 4096, -4097, 524_287, -524_288, 524_288, Int64(Int32.max), Int64(Int32.min), 1 << 40, -(1 << 41)]
        var n: Int64 = 0
        var samples: [HistorySample] = []
        for (index, delta) in deltas.enumerated() {
            n += delta
            samples.append(HistorySample(milliseconds: Int64(index), value: Double(n) / 100))
        }
        var encoder = BlockEncoder()
        for sample in samples { encoder.append(sample) }
        let bytes = encoder.bytes()
        #expect(bytes[1] & 0xF0 == 0x10)
        Self.expectIdentical(try BlockCodec.decode(bytes), samples)
    }

    // MARK: - Property-based

    @Test func arbitraryTimesAndBitPatternsRoundTrip() async {
        await propertyCheck(count: 300, input: Gen.int64().array(of: 1...200), Gen.uint64().array(of: 1...200)) { times, bits in
            let samples = zip(times, bits).map { HistorySample(milliseconds: $0, value: Double(bitPattern: $1)) }
            guard !samples.isEmpty else { return }
            Self.expectIdentical((try? Self.roundTrip(samples)) ?? [], samples)
        }
    }

    @Test func irregularIntervalsWithJitterRoundTrip() async {
        await propertyCheck(
            count: 300, input: Gen.int64(in: 0...4_000_000_000_000), Gen.int64(in: 1...3_600_000), Gen.int64(in: -2000...2000).array(of: 1...300),
            Gen.double(in: -1e9...1e9).array(of: 1...300)
        ) { start, interval, jitters, values in
            var time = start
            var samples: [HistorySample] = []
            for (jitter, value) in zip(jitters, values) {
                time += max(0, interval + jitter)
                samples.append(HistorySample(milliseconds: time, value: value))
            }
            Self.expectIdentical((try? Self.roundTrip(samples)) ?? [], samples)
        }
    }

    @Test func countersAndPercentagesRoundTrip() async {
        await propertyCheck(count: 300, input: Gen.uint32().array(of: 1...400), Gen.int(in: 0...10_000).array(of: 1...400)) { increments, hundredths in
            var counter = 1e12
            var samples: [HistorySample] = []
            for (index, (increment, percent)) in zip(increments, hundredths).enumerated() {
                counter += Double(increment)
                let time = 1_700_000_000_000 + Int64(index) * 1000
                samples.append(HistorySample(milliseconds: time, value: counter))
                samples.append(HistorySample(milliseconds: time, value: Double(percent) / 100))
            }
            Self.expectIdentical((try? Self.roundTrip(samples)) ?? [], samples)
        }
    }

    @Test func bytesMayBeTakenWhileAppendingContinues() throws {
        var encoder = BlockEncoder()
        var samples: [HistorySample] = []
        var rng = SplitMix(seed: 11)
        for index in 0..<500 {
            let sample = HistorySample(milliseconds: 1_000_000 + Int64(index) * 997 + Int64(rng.next() % 5), value: Double(rng.next() % 10_000) / 100)
            encoder.append(sample)
            samples.append(sample)
            if index % 37 == 0 { Self.expectIdentical(try BlockCodec.decode(encoder.bytes()), samples) }
        }
        Self.expectIdentical(try BlockCodec.decode(encoder.bytes()), samples)
    }
}

/// A seeded generator for loops that need no shrinking.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
