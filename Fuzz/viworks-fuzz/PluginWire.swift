//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentPlugins

/// The plugin line framer and wire decoder, as the host reads a plugin's stdout: the input is cut into chunks (sizes
/// from its first byte), framed into lines, and each line decoded.
///
/// Invariants: the framer counts every byte fed; no line it hands over is longer than its maximum or contains `\n`;
/// it never holds more than the maximum; a decoded `metrics` message keeps at most `maximumSamples` samples.
struct PluginWireTarget: FuzzTarget {
    static let maximumLineLength = 512

    func run(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let body = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        let chunkSize = Int(first % 64) + 1
        var configured = WireDecoder(pluginName: "fuzz")
        configured.maximumSamples = 16
        let decoder = configured
        var framer = LineFramer(maximumLineLength: Self.maximumLineLength)
        var offset = 0
        let handle: (LineFramer.Frame) -> Void = { frame in
            switch frame {
            case .line(let line, _):
                if line.count > Self.maximumLineLength || line.contains(UInt8(ascii: "\n")) {
                    fatalError("framer handed over a line of \(line.count) bytes (maximum \(Self.maximumLineLength)) or one with a newline")
                }
                if let decoded = try? decoder.decode(line), case .metrics(let metrics) = decoded.message,
                    metrics.samples.count > decoder.maximumSamples {
                    fatalError("decoder kept \(metrics.samples.count) samples, maximum \(decoder.maximumSamples)")
                }
            case .overlong(let length, _):
                if length <= Self.maximumLineLength { fatalError("overlong line of \(length) bytes") }
            }
        }
        while offset < body.count {
            let end = min(body.count, offset + chunkSize)
            framer.feed(UnsafeRawBufferPointer(rebasing: body[offset..<end]), handle)
            if framer.bufferedByteCount > Self.maximumLineLength {
                fatalError("framer holds \(framer.bufferedByteCount) bytes, maximum \(Self.maximumLineLength)")
            }
            offset = end
        }
        framer.finish(handle)
        if framer.byteCount != UInt64(body.count) { fatalError("framer counted \(framer.byteCount) bytes of \(body.count)") }
    }
}
