//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Testing

struct PrometheusExpositionTests {
    func lines(_ result: PrometheusExposition.Result) -> [String] {
        String(decoding: result.text, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func gaugesAndCountersWithLabelsAndHelp() {
        let result = PrometheusExposition.render([
            MetricSample("viworks_load1", .gauge, 0.25, help: "1-minute load average."),
            MetricSample("viworks_network_receive_bytes_total", .counter, 68_210_035_552, labels: [MetricLabel("interface", "eth0")], help: "Bytes received."),
            MetricSample("viworks_network_receive_bytes_total", .counter, 0, labels: [MetricLabel("interface", "team0:1")], help: "Bytes received."),
        ])
        let text = lines(result)
        #expect(result.rejected.isEmpty)
        #expect(text.contains("# HELP viworks_load1 1-minute load average."))
        #expect(text.contains("# TYPE viworks_load1 gauge"))
        #expect(text.contains("viworks_load1 0.25"))
        #expect(text.contains("# TYPE viworks_network_receive_bytes_total counter"))
        #expect(text.contains("viworks_network_receive_bytes_total{interface=\"eth0\"} 68210035552.0"))
        #expect(text.contains("viworks_network_receive_bytes_total{interface=\"team0:1\"} 0"))
    }

    @Test func conflictingSamplesAreRejectedNotFatal() {
        let result = PrometheusExposition.render([
            MetricSample("x_total", .counter, 1, labels: [MetricLabel("a", "1")]),
            MetricSample("x_total", .gauge, 2, labels: [MetricLabel("a", "2")]),
            MetricSample("x_total", .counter, 3, labels: [MetricLabel("b", "1")]),
            MetricSample("x_total", .counter, 4),
            MetricSample("x_total", .counter, 5, labels: [MetricLabel("a", "1")]),
            MetricSample("9bad", .gauge, 1),
            MetricSample("ok", .gauge, 1, labels: [MetricLabel("__reserved", "v")]),
            MetricSample("ok", .gauge, 1, labels: [MetricLabel("le-bad", "v")]),
        ])
        #expect(result.rejected.count == 7)
        #expect(lines(result).filter { $0.hasPrefix("x_total") } == ["x_total{a=\"1\"} 1.0"])
    }

    /// The registry emits families in hash-table order, which differs between registries: every render of the same
    /// samples, whatever their order, must give the same bytes, families by name and series sorted within each.
    @Test func familiesAndSeriesComeOutInOneOrder() {
        var samples: [MetricSample] = []
        for index in 0..<40 {
            samples.append(MetricSample("family_\(index % 20)_total", .counter, Double(index), labels: [MetricLabel("n", "\(index)")], help: "Family \(index % 20)."))
        }
        samples.append(MetricSample("a_gauge", .gauge, 1))
        let first = PrometheusExposition.render(samples).text
        for round in 0..<10 {
            var shuffled = samples
            shuffled.shuffle()
            #expect(PrometheusExposition.render(shuffled).text == first, "round \(round)")
        }
        let text = lines(PrometheusExposition.render(samples))
        #expect(text.prefix(3) == ["# TYPE a_gauge gauge", "a_gauge 1.0", "# HELP family_0_total Family 0."])
        #expect(text[3] == "# TYPE family_0_total counter")
        #expect(text[4] == "family_0_total{n=\"0\"} 0" || text[4].hasPrefix("family_0_total{n=\"0\"}"))
        #expect(text[5].hasPrefix("family_0_total{n=\"20\"}"))
        #expect(text[6] == "# HELP family_10_total Family 10.")
        let names = text.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(names == names.sorted())
        #expect(names.count == 21)
    }
}

struct TimestampTests {
    @Test func rendersRFC3339WithNanoseconds() {
        #expect(Timestamp(nanosecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000000000+00:00")
        // 2025-09-03T09:06:55.757303636Z, the spec's example.
        #expect(Timestamp(nanosecondsSinceEpoch: 1_756_890_415_757_303_636).rfc3339 == "2025-09-03T09:06:55.757303636+00:00")
        // A leap day.
        #expect(Timestamp(nanosecondsSinceEpoch: 1_709_164_800_000_000_001).rfc3339 == "2024-02-29T00:00:00.000000001+00:00")
        #expect(Timestamp(nanosecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999999999+00:00")
    }

    @Test func parsesRFC3339() {
        #expect(Timestamp(rfc3339: "2025-09-03T09:06:55.757303636+00:00")?.nanosecondsSinceEpoch == 1_756_890_415_757_303_636)
        #expect(Timestamp(rfc3339: "2025-09-03T11:06:55Z")?.nanosecondsSinceEpoch == 1_756_897_615_000_000_000)
        #expect(Timestamp(rfc3339: "2025-09-03T11:06:55+02:00")?.nanosecondsSinceEpoch == 1_756_890_415_000_000_000)
        #expect(Timestamp(rfc3339: "2025-09-03T11:06:55.5Z")?.nanosecondsSinceEpoch == 1_756_897_615_500_000_000)
        #expect(Timestamp(rfc3339: "2025-13-03T11:06:55Z") == nil)
        #expect(Timestamp(rfc3339: "yesterday") == nil)
        #expect(Timestamp(rfc3339: "2025-09-03T11:06:55") == nil)
    }

    @Test func roundTrips() {
        for ns: Int64 in [0, 1, 999_999_999, 1_756_890_415_757_303_636, 4_102_444_800_000_000_000] {
            #expect(Timestamp(rfc3339: Timestamp(nanosecondsSinceEpoch: ns).rfc3339)?.nanosecondsSinceEpoch == ns)
        }
    }
}

struct DeadlineTests {
    @Test func returnsTheResultInTime() async throws {
        let value = try await withDeadline(.seconds(5), clock: ContinuousClock()) { 42 }
        #expect(value == 42)
    }

    @Test func abandonsAnOperationThatIgnoresCancellation() async {
        let start = ContinuousClock.now
        let stuck = Hang()
        await #expect(throws: CollectorError.timedOut(.milliseconds(50))) {
            try await withDeadline(.milliseconds(50), clock: ContinuousClock()) { await stuck.wait() }
        }
        #expect(start.duration(to: .now) < .seconds(10), "the stuck operation held the caller")
        stuck.release()
    }

    @Test func passesErrorsThrough() async {
        await #expect(throws: ParseError(file: "f", reason: "r")) {
            try await withDeadline(.seconds(5), clock: ContinuousClock()) { () async throws -> Int in throw ParseError(file: "f", reason: "r") }
        }
    }
}

@Suite("timestamps from clients")
struct TimestampBoundsTests {
    @Test func outOfRangeTextIsNilNeverATrap() {
        #expect(Timestamp(rfc3339: "2262-04-12T00:00:00Z") == nil, "past Int64 nanoseconds")
        #expect(Timestamp(rfc3339: "9999-01-01T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "0000-01-01T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "2026-02-31T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "2026-02-29T00:00:00Z") == nil, "2026 is not a leap year")
        #expect(Timestamp(rfc3339: "2028-02-29T00:00:00Z") != nil)
        #expect(Timestamp(rfc3339: "2026-01-01T00:00:00+99:99") == nil)
        #expect(Timestamp(rfc3339: "2262-04-11T23:47:16Z")?.nanosecondsSinceEpoch == 9_223_372_036_000_000_000)
        #expect(Timestamp(rfc3339: "2026-11-29T10:00:00+01:00") == Timestamp(secondsSinceEpoch: 1_795_942_800))
    }

    @Test func secondsSaturate() {
        #expect(Timestamp(secondsSinceEpoch: 1e10).nanosecondsSinceEpoch == Int64.max, "1e19 ns does not fit")
        #expect(Timestamp(secondsSinceEpoch: 1e300).nanosecondsSinceEpoch == Int64.max)
        #expect(Timestamp(secondsSinceEpoch: -1e300).nanosecondsSinceEpoch == Int64.min)
        #expect(Timestamp(secondsSinceEpoch: .nan).nanosecondsSinceEpoch == 0)
    }
}
