//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentPlugins
import AgentRuntime
import Testing

private let decoder = WireDecoder(pluginName: "test")

private func decode(_ text: String) throws(LineRejection) -> DecodedLine {
    try decoder.decode(Array(text.utf8))
}

private func rejection(_ text: String) -> LineRejection.Reason? {
    do {
        _ = try decode(text)
        return nil
    } catch {
        return error.reason
    }
}

private func rejection(_ bytes: [UInt8]) -> LineRejection.Reason? {
    do {
        _ = try decoder.decode(bytes)
        return nil
    } catch {
        return error.reason
    }
}

private func metrics(_ text: String) throws -> MetricsMessage {
    guard case .metrics(let message) = try decode(text).message else {
        Issue.record("not a metrics message")
        return MetricsMessage(id: nil, timestampMilliseconds: nil, samples: [], rejectedSamples: [])
    }
    return message
}

@Suite("WireDecoder")
struct WireDecoderTests {
    @Test func hello() throws {
        let decoded = try decode(#"{"type":"hello","protocol":1,"name":"x","version":"1.2","extra":{"a":[1,2]}}"#)
        guard case .hello(let hello) = decoded.message else { Issue.record("not hello"); return }
        #expect(hello == HelloMessage(protocolVersion: 1, name: "x", version: "1.2"))
        #expect(decoded.ignoredFields == 1)
    }

    @Test func helloWithTypeLastAndAnotherVersion() throws {
        guard case .hello(let hello) = try decode(#" { "protocol" : 2 , "type" : "hello" } "#).message else { Issue.record("not hello"); return }
        #expect(hello.protocolVersion == 2)
        #expect(rejection(#"{"type":"hello"}"#) == .invalidMessage)
        #expect(rejection(#"{"type":"hello","protocol":"1"}"#) == .invalidMessage)
        #expect(rejection(#"{"type":"hello","protocol":1.5}"#) == .invalidMessage)
    }

    @Test func metricsWithEverySampleField() throws {
        let message = try metrics(
            #"{"type":"metrics","id":7,"timestamp_ms":1700000000000,"samples":[{"name":"a_b:c","value":-1.5e3,"kind":"gauge","unit":"bytes","help":"H.","labels":{"x":"1","y":"é\n\u00e9\ud83d\ude00"},"timestamp_ms":5},{"name":"n_total","value":42,"kind":"counter"}]}"#
        )
        #expect(message.id == 7)
        #expect(message.timestampMilliseconds == 1_700_000_000_000)
        #expect(message.rejectedSamples.isEmpty)
        #expect(message.samples.count == 2)
        #expect(message.samples[0].name == "a_b:c")
        #expect(message.samples[0].value == -1500)
        #expect(message.samples[0].help == "H. Unit: bytes.")
        #expect(message.samples[0].labels == [MetricLabel("x", "1"), MetricLabel("y", "é\né😀"), MetricLabel("plugin", "test")])
        #expect(message.samples[1].kind == .counter)
        #expect(message.samples[1].value == 42)
    }

    @Test func numbersParseExactly() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("1", 1), ("0.1", 0.1), ("123.456", 123.456), ("1e3", 1000), ("1E-3", 0.001), ("2.5e+2", 250),
            ("12345678901234567890", 12_345_678_901_234_567_890), ("0.1234567890123456789012", 0.1234567890123456789012),
            ("1.7976931348623157e308", 1.7976931348623157e308), ("5e-324", 5e-324), ("9007199254740993", 9_007_199_254_740_993),
        ]
        for (text, expected) in cases {
            let message = try metrics(#"{"type":"metrics","samples":[{"name":"n","value":\#(text)}]}"#)
            #expect(message.samples.first?.value == expected, "\(text)")
        }
        for bad in ["01", "1.", ".5", "+1", "1e", "-", "0x10"] {
            #expect(rejection(#"{"type":"metrics","samples":[{"name":"n","value":\#(bad)}]}"#) == .invalidJSON, "\(bad)")
        }
    }

    @Test func nonFiniteValuesAreRejectedPerSample() throws {
        let message = try metrics(
            #"{"type":"metrics","samples":[{"name":"a","value":NaN},{"name":"b","value":Infinity},{"name":"c","value":-Infinity},{"name":"d","value":1e400},{"name":"ok","value":1}]}"#
        )
        #expect(message.samples.map(\.name) == ["ok"])
        #expect(message.rejectedSamples.map(\.reason) == [.nonFiniteValue, .nonFiniteValue, .nonFiniteValue, .nonFiniteValue])
        #expect(message.rejectedSamples.map(\.index) == [0, 1, 2, 3])
        #expect(message.rejectedSamples[0].detail == "value is NaN")
    }

    @Test func invalidSamplesAreDroppedWithReasonsAndTheRestKept() throws {
        let message = try metrics(
            #"{"type":"metrics","samples":[1,{"name":"9x","value":1},{"name":"viworks_cpu","value":1},{"name":"s","value":"1"},{"name":"k","value":1,"kind":"summary"},{"name":"c","value":-1,"kind":"counter"},{"name":"l","value":1,"labels":{"__x":"1"}},{"name":"l2","value":1,"labels":{"a":1}},{"name":"l3","value":1,"labels":{"plugin":"x"}},{"value":1},{"name":"v"},{"name":"good","value":2,"future":true}]}"#
        )
        #expect(message.samples.map(\.name) == ["good"])
        #expect(
            message.rejectedSamples.map(\.reason) == [
                .invalidSample, .invalidName, .reservedName, .invalidValue, .invalidKind, .negativeCounter, .invalidLabel, .invalidLabel,
                .invalidLabel, .invalidName, .invalidValue,
            ])
    }

    @Test func wholeLineRejections() {
        #expect(rejection("Traceback (most recent call last):") == .invalidJSON)
        #expect(rejection("  File \"x.py\", line 1") == .invalidJSON)
        #expect(rejection("[1,2]") == .notAnObject)
        #expect(rejection("\"text\"") == .notAnObject)
        #expect(rejection("{\"a\":1}") == .missingType)
        #expect(rejection("{\"type\":3}") == .missingType)
        #expect(rejection("{\"type\":\"metrics\"}") == .invalidMessage)
        #expect(rejection("{\"type\":\"metrics\",\"samples\":{}}") == .invalidMessage)
        #expect(rejection("{\"type\":\"metrics\",\"samples\":[]} x") == .invalidJSON)
        #expect(rejection("{\"type\":\"metrics\",\"samples\":[]") == .invalidJSON)
        #expect(rejection("{\"type\":\"log\"}") == .invalidMessage)
        #expect(rejection("{\"type\":\"service\",\"name\":\"a\",\"state\":\"weird\"}") == .invalidMessage)
        #expect(rejection("") == .invalidJSON)
        #expect(rejection("{\"type\":\"x\",\"s\":\"bad \\q escape\"}") == .invalidJSON)
        let deep = "{\"type\":\"x\",\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        #expect(rejection(deep) == .invalidJSON)
    }

    @Test func invalidUTF8IsRejected() {
        let prefix = Array(#"{"type":"log","message":""#.utf8)
        let suffix = Array(#""}"#.utf8)
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF5, 0x80, 0x80, 0x80], [0x80]] {
            #expect(rejection(prefix + bad + suffix) == .invalidUTF8, "\(bad)")
        }
        #expect(rejection(prefix + Array("€ 😀 é".utf8) + suffix) == nil)
    }

    @Test func unknownTypesAndFieldsAreIgnoredAndCounted() throws {
        let decoded = try decode(#"{"type":"future_thing","x":{"deep":[1,{"a":null}]}}"#)
        guard case .unknown(let type) = decoded.message else { Issue.record("not unknown"); return }
        #expect(type == "future_thing")
        let log = try decode(#"{"type":"log","level":"warning","message":"m","color":"red","n":1}"#)
        guard case .log(let message) = log.message else { Issue.record("not log"); return }
        #expect(message == LogMessage(level: "warning", message: "m"))
        #expect(log.ignoredFields == 2)
    }

    @Test func serviceAndDisable() throws {
        guard case .service(let service) = try decode(#"{"type":"service","name":"nginx","state":"active","message":"ok"}"#).message else {
            Issue.record("not service")
            return
        }
        #expect(service == ServiceMessage(name: "nginx", state: "active", message: "ok"))
        guard case .disable(let reason) = try decode(#"{"type":"disable","reason":"not installed"}"#).message else {
            Issue.record("not disable")
            return
        }
        #expect(reason == "not installed")
    }

    @Test func separatorsInsideStringsDoNotMatter() throws {
        guard case .log(let log) = try decode("{\"type\":\"log\",\"message\":\"a\u{2028}b\\nc\"}").message else { Issue.record("not log"); return }
        #expect(log.message == "a\u{2028}b\nc")
    }
}
