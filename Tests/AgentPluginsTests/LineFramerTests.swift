//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentPlugins
import Testing

/// What the framer handed out, as plain values.
private enum Out: Equatable {
    case line(String, Int)
    case overlong(Int, Int)
}

private func frame(_ chunks: [[UInt8]], max: Int, finish: Bool = true) -> (out: [Out], framer: LineFramer) {
    var framer = LineFramer(maximumLineLength: max)
    var out: [Out] = []
    let collect: (LineFramer.Frame) -> Void = { frame in
        switch frame {
        case .line(let bytes, let number): out.append(.line(String(decoding: bytes, as: UTF8.self), number))
        case .overlong(let length, let number): out.append(.overlong(length, number))
        }
    }
    for chunk in chunks { framer.feed(chunk, collect) }
    if finish { framer.finish(collect) }
    return (out, framer)
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("LineFramer")
struct LineFramerTests {
    @Test func splitsCompleteLinesInOneChunk() {
        #expect(frame([bytes("a\nbb\n\nccc\n")], max: 10).out == [.line("a", 1), .line("bb", 2), .line("", 3), .line("ccc", 4)])
    }

    @Test func joinsALineSpanningChunks() {
        #expect(frame([bytes("ab"), bytes("cd"), bytes("e\nf"), bytes("g\n")], max: 10).out == [.line("abcde", 1), .line("fg", 2)])
    }

    @Test func stripsOneCarriageReturn() {
        #expect(frame([bytes("a\r\nb\r"), bytes("\n\r\r\n")], max: 10).out == [.line("a", 1), .line("b", 2), .line("\r", 3)])
    }

    @Test func lineOfExactlyTheMaximumIsKept() {
        #expect(frame([bytes("12345\n")], max: 5).out == [.line("12345", 1)])
        #expect(frame([bytes("123"), bytes("45\n")], max: 5).out == [.line("12345", 1)])
        #expect(frame([bytes("123456\n")], max: 5).out == [.overlong(6, 1)])
        #expect(frame([bytes("123"), bytes("456\n")], max: 5).out == [.overlong(6, 1)])
    }

    @Test func overlongLineIsDiscardedUpToTheNextNewlineAndCountedOnce() {
        let result = frame([bytes("ok\n1234567"), bytes("89"), bytes("0123\nnext\n")], max: 5)
        #expect(result.out == [.line("ok", 1), .overlong(13, 2), .line("next", 3)])
    }

    @Test func overlongInOneChunkThenValid() {
        #expect(frame([bytes("xxxxxxxxxx\nyes\n")], max: 5).out == [.overlong(10, 1), .line("yes", 2)])
    }

    @Test func oneMebibyteWithoutNewlineNeverBuffersMoreThanTheLimit() {
        var framer = LineFramer(maximumLineLength: 65_536)
        var out: [Out] = []
        let chunk = [UInt8](repeating: 0x41, count: 4096)
        var maximumBuffered = 0
        for _ in 0..<256 {
            framer.feed(chunk) { _ in Issue.record("no line expected yet") }
            maximumBuffered = max(maximumBuffered, framer.bufferedByteCount)
        }
        #expect(maximumBuffered <= 65_536)
        #expect(framer.bufferedByteCount == 0)
        framer.feed(bytes("tail\n{\"type\":\"x\"}\n")) { frame in
            switch frame {
            case .line(let b, let n): out.append(.line(String(decoding: b, as: UTF8.self), n))
            case .overlong(let l, let n): out.append(.overlong(l, n))
            }
        }
        #expect(out == [.overlong(1_048_576 + 4, 1), .line("{\"type\":\"x\"}", 2)])
    }

    @Test func finishHandsOutAnUnterminatedLastLine() {
        #expect(frame([bytes("a\nlast")], max: 10).out == [.line("a", 1), .line("last", 2)])
        #expect(frame([bytes("a\nlast")], max: 10, finish: false).out == [.line("a", 1)])
        #expect(frame([bytes("a\n0123456789ABC")], max: 10).out == [.line("a", 1), .overlong(13, 2)])
        #expect(frame([bytes("")], max: 10).out == [])
    }

    @Test func everySplitPointGivesTheSameLines() {
        let text = bytes("alpha\nbeta\r\n\ngamma-is-too-long-for-the-limit\ndelta\n")
        let expected = frame([text], max: 12).out
        #expect(expected == [.line("alpha", 1), .line("beta", 2), .line("", 3), .overlong(31, 4), .line("delta", 5)])
        for cut in 0...text.count {
            #expect(frame([Array(text[..<cut]), Array(text[cut...])], max: 12).out == expected, "cut at \(cut)")
        }
        // One byte at a time.
        #expect(frame(text.map { [$0] }, max: 12).out == expected)
    }

    @Test func countsLinesAndBytes() {
        let result = frame([bytes("a\nb\nccccccccccccccc\n")], max: 4)
        #expect(result.framer.lineCount == 3)
        #expect(result.framer.byteCount == 20)
    }
}
