//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import HTTPTypes
import Testing

@testable import AgentServer

/// The shared query-string reader every route uses.
struct QueryParametersTests {
    func refusal(_ query: String, allowed: Set<String>, repeatable: Set<String> = [], _ read: (QueryParameters) throws -> Void = { _ in }) -> APIError? {
        do {
            try read(try QueryParameters(query: query, allowed: allowed, repeatable: repeatable))
            return nil
        } catch let error as APIError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func unknownAndRepeatedParametersAreRefusedByName() throws {
        let unknown = refusal("to=1&colour=red", allowed: ["from", "to"])
        #expect(unknown?.status == .badRequest && unknown?.code == "invalid_parameter")
        #expect(unknown?.message == "unknown query parameter 'colour' (allowed: from, to)")
        #expect(refusal("x=1", allowed: [])?.message == "unknown query parameter 'x': this route takes none")
        #expect(refusal("to=1&to=2", allowed: ["to"])?.message == "query parameter 'to' is given twice")
        #expect(refusal("%74o=1&to=2", allowed: ["to"])?.message == "query parameter 'to' is given twice")
        #expect(refusal("label=a=b&label=c=d", allowed: ["label"], repeatable: ["label"]) == nil)
        #expect(try QueryParameters(query: "label=a=b&label=c%3Dd", allowed: ["label"], repeatable: ["label"]).all("label") == ["a=b", "c=d"])
        #expect(try QueryParameters(query: "&&to=1&", allowed: ["to"]).text("to") == "1")
    }

    @Test func percentDecodingIsStrict() throws {
        #expect(try QueryParameters(query: "to=2025-01-31T13:00:00%2B01:00", allowed: ["to"]).text("to") == "2025-01-31T13:00:00+01:00")
        #expect(try QueryParameters(query: "to=2025-01-31T13:00:00+01:00", allowed: ["to"]).text("to") == "2025-01-31T13:00:00+01:00")
        #expect(refusal("to=%zz", allowed: ["to"])?.code == "invalid_parameter")
        #expect(refusal("to=%", allowed: ["to"])?.code == "invalid_parameter")
        #expect(refusal("to=%ff", allowed: ["to"])?.code == "invalid_parameter")
        #expect(QueryParameters.percentDecoded("a%3Ab".utf8) == "a:b")
        #expect(QueryParameters.percentDecoded("%C3%A9".utf8) == "é")
        #expect(QueryParameters.percentDecoded("a%2".utf8) == nil)
    }

    @Test func booleansAreExactlyTrueFalseOneOrZero() throws {
        for (text, value) in [("true", true), ("1", true), ("false", false), ("0", false)] {
            #expect(try QueryParameters(query: "follow=\(text)", allowed: ["follow"]).boolean("follow") == value)
        }
        for text in ["yes", "no", "TRUE", "on", "", "2"] {
            let error = refusal("follow=\(text)", allowed: ["follow"]) { _ = try $0.boolean("follow") }
            #expect(error?.code == "invalid_parameter" && error?.message.hasPrefix("follow: expected true or false") == true, "\(text)")
        }
    }

    @Test func timesAndRanges() throws {
        let now = Timestamp(nanosecondsSinceEpoch: 1_738_324_800_000_000_000)
        let range = try QueryParameters(query: "", allowed: ["from", "to"]).range(now: now, defaultSpan: 3600)
        #expect(range == (1_738_321_200_000, 1_738_324_800_000))
        let given = try QueryParameters(query: "from=1738324800.25&to=2025-01-31T13:00:01%2B01:00", allowed: ["from", "to"]).range(now: now, defaultSpan: 3600)
        #expect(given == (1_738_324_800_250, 1_738_324_801_000))
        let inverted = refusal("from=200&to=100", allowed: ["from", "to"]) { _ = try $0.range(now: now, defaultSpan: 1) }
        #expect(inverted?.code == "invalid_parameter" && inverted?.message == "from (200) is after to (100)")
        let since = refusal("since=200&until=100", allowed: ["since", "until"]) { _ = try $0.times("since", "until") }
        #expect(since?.message == "since (200) is after until (100)")
        // A `to` before the default span does not wrap around: `from` goes before 1970 without trapping.
        #expect(try QueryParameters(query: "to=0", allowed: ["from", "to"]).range(now: now, defaultSpan: 86_400) == (-86_400_000, 0))
        for text in ["9999999999", "-9999999999", "1e19", "nan", "9223372036854775807", "2262-04-12T00:00:00Z"] {
            let error = refusal("to=\(text)", allowed: ["to"]) { _ = try $0.time("to") }
            #expect(error?.code == "invalid_parameter" && error?.message.contains("2200-01-01T00:00:00Z") == true, "\(text)")
        }
    }

    @Test func integersStayInTheirRange() throws {
        #expect(try QueryParameters(query: "limit=10", allowed: ["limit"]).integer("limit", in: 1...100) == 10)
        for text in ["0", "101", "-1", "1e2", "99999999999999999999999", "", "9223372036854775808"] {
            #expect(refusal("limit=\(text)", allowed: ["limit"]) { _ = try $0.integer("limit", in: 1...100) }?.message.hasPrefix("limit: expected an integer") == true)
        }
    }

    @Test func afterIsAJournalCursorAsSdJournalWritesIt() {
        let cursor = "s=2c953f9a91b24f9e833333796bf1f52d;i=883;b=e00b8bc8dd054566ba91a9ad28569cf1;m=33bfac774;t=661d68a62c8c9;x=6aab1540b0719fc3"
        #expect(OperationsController.isJournalCursor(cursor))
        #expect(OperationsController.isJournalCursor("s=\(String(repeating: "0", count: 32));i=0;b=\(String(repeating: "f", count: 32));m=0;t=0;x=ffffffffffffffff"))
        for text in [
            "", "x", "s=1;i=2", cursor + ";", ";" + cursor, cursor.uppercased(), cursor.replacing("i=883", with: "i="),
            cursor.replacing("i=883", with: "i=88g"), cursor.replacing("x=6aab1540b0719fc3", with: "x=16aab1540b0719fc3"),
            cursor.replacing("s=2c953f9a91b24f9e833333796bf1f52d", with: "s=2c953f9a91b24f9e833333796bf1f52"),
            cursor.replacing(";b=", with: ";c="), cursor.replacing(";m=", with: "\n;m="),
        ] {
            #expect(!OperationsController.isJournalCursor(text), "\(text)")
        }
    }
}
