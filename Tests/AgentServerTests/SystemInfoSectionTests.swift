//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Foundation
import Testing

@testable import AgentServer

/// A section the server knows nothing about, as a new collector would publish it.
private struct ExampleSection: SystemInfoSection {
    static let key = "example"
    var level: Int?

    enum Keys: String, CodingKey { case level }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.level, level)
    }
}

@Suite("system_info: the collectors' own sections")
struct SystemInfoSectionTests {
    private static func batch(_ section: ExampleSection) -> MetricBatch {
        MetricBatch(source: "example", timestamp: Timestamp(nanosecondsSinceEpoch: 1_756_890_415_757_303_636), samples: [], report: .section(section))
    }

    @Test func aRegisteredSectionIsNullUntilReportedThenEncodedAsItsTypeSays() throws {
        var snapshot = AgentSnapshot(sectionKeys: ["example"])
        var info = try json(encode(SystemInfoDTO(snapshot: snapshot)))
        #expect(info.keys.sorted() == ["cpu", "disks", "example", "load", "memory", "network", "system", "temperatures"])
        #expect(info["example"] is NSNull)

        snapshot.apply(Self.batch(ExampleSection(level: 3)))
        info = try json(encode(SystemInfoDTO(snapshot: snapshot)))
        #expect((info["example"] as? [String: Any])?["level"] as? Int == 3)

        // The latest report replaces the previous one; its own nulls are kept.
        snapshot.apply(Self.batch(ExampleSection(level: nil)))
        info = try json(encode(SystemInfoDTO(snapshot: snapshot)))
        #expect((info["example"] as? [String: Any])?["level"] is NSNull)
    }

    @Test func aSectionNoRegisteredCollectorDeclaresIsNotPrinted() throws {
        var snapshot = AgentSnapshot(sectionKeys: [])
        snapshot.apply(Self.batch(ExampleSection(level: 3)))
        let info = try json(encode(SystemInfoDTO(snapshot: snapshot)))
        #expect(info["example"] == nil)
        #expect(info.keys.sorted() == ["cpu", "disks", "load", "memory", "network", "system", "temperatures"])
    }
}
