//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Testing

/// `Timestamp(parameter:)`: the one parser of times given by clients and command-line flags.
struct TimeParameterTests {
    @Test(arguments: [
        ("0", Int64(0)),
        ("1738324800", 1_738_324_800_000_000_000),
        ("1738324800.25", 1_738_324_800_250_000_000),
        ("1738324800.123456789999", 1_738_324_800_123_456_789),
        ("7258118400", 7_258_118_400_000_000_000),
        ("7258118400.000", 7_258_118_400_000_000_000),
        ("00000000000000000000001", 1_000_000_000),
        ("2025-01-31T12:00:00Z", 1_738_324_800_000_000_000),
        ("2025-01-31T13:00:00.5+01:00", 1_738_324_800_500_000_000),
        ("1970-01-01T00:00:00Z", 0),
        ("2200-01-01T00:00:00Z", 7_258_118_400_000_000_000),
    ])
    func accepted(text: String, nanoseconds: Int64) {
        #expect(Timestamp(parameter: text)?.nanosecondsSinceEpoch == nanoseconds)
    }

    @Test(arguments: [
        "", " ", "-0", "-1", "+1", "1e3", "1E10", "1e19", "1e308", "1e999", "nan", "NaN", "inf", "-inf", "0x10", "1.", ".5",
        "7258118400.000000001", "9999999999", "-9999999999", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "18446744073709551616", "99999999999999999999", "12345678901234567890",
        "2200-01-01T00:00:00.000000001Z", "1969-12-31T23:59:59Z", "2262-04-12T00:00:00Z", "1677-09-21T00:00:00Z",
        "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2025-02-30T00:00:00Z", "2025-01-01T00:00:00+99:99", "yesterday",
        "1738324800 ", "1738324800\u{0}",
    ])
    func refused(text: String) {
        #expect(Timestamp(parameter: text) == nil, "\(text)")
    }

    @Test func millisecondsSaturateInsteadOfTrapping() {
        #expect(Timestamp(millisecondsSinceEpoch: 1_500).nanosecondsSinceEpoch == 1_500_000_000)
        #expect(Timestamp(millisecondsSinceEpoch: 9_999_999_999_000).nanosecondsSinceEpoch == Int64.max)
        #expect(Timestamp(millisecondsSinceEpoch: -9_999_999_999_000).nanosecondsSinceEpoch == Int64.min)
        #expect(Timestamp(millisecondsSinceEpoch: Int64.max).nanosecondsSinceEpoch == Int64.max)
        #expect(Timestamp(millisecondsSinceEpoch: Int64.min).nanosecondsSinceEpoch == Int64.min)
        #expect(Timestamp(nanosecondsSinceEpoch: -1).millisecondsSinceEpoch == -1)
        #expect(Timestamp(nanosecondsSinceEpoch: 1_999_999).millisecondsSinceEpoch == 1)
    }

    @Test func historyQueriesClampWhatTheyAreGiven() {
        let query = HistoryQuery(from: Int64.min, to: Int64.max, step: Int64.max)
        let plan = HistoryPlanner.plan(query, now: 0, settings: HistorySettings())
        #expect(plan.maximumPoints != nil)
        #expect(query.from < 0 && query.to > 0)
    }
}

extension TimeParameterTests {
    @Test func timespecsSaturate() {
        #expect(Timestamp(seconds: 1, nanoseconds: 5).nanosecondsSinceEpoch == 1_000_000_005)
        #expect(Timestamp(seconds: 32_503_680_000, nanoseconds: 0).nanosecondsSinceEpoch == Int64.max)  // the year 3000
        #expect(Timestamp(seconds: -32_503_680_000, nanoseconds: 0).nanosecondsSinceEpoch == Int64.min)
        #expect(Timestamp(seconds: 9_223_372_036, nanoseconds: 999_999_999).nanosecondsSinceEpoch == Int64.max)
    }
}

extension TimeParameterTests {
    @Test func incidentDurationsOfExtremeStoredTimesDoNotTrap() {
        let incident = Incident(
            id: 1, rule: "cpu", subject: "", severity: .critical, startedAt: Timestamp(nanosecondsSinceEpoch: Int64.min),
            endedAt: Timestamp(nanosecondsSinceEpoch: Int64.max), peakValue: 1, peakAt: Timestamp(nanosecondsSinceEpoch: 0), lastValue: 1,
            threshold: 1, message: "")
        #expect(incident.durationSeconds(now: .now()) > 1.8e10)
        let normal = Incident(
            id: 2, rule: "cpu", subject: "", severity: .critical, startedAt: Timestamp(nanosecondsSinceEpoch: 1_000_000_000),
            endedAt: Timestamp(nanosecondsSinceEpoch: 3_500_000_000), peakValue: 1, peakAt: Timestamp(nanosecondsSinceEpoch: 0), lastValue: 1,
            threshold: 1, message: "")
        #expect(normal.durationSeconds(now: .now()) == 2.5)
    }
}
