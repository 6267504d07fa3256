//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Table headers without a name stopped the whole agent on an assertion of toml++ (under TOMLKit); the configuration
/// loader and the manifest loader now refuse them with a located issue first.
struct TOMLHeaderCheckTests {
    /// The input the configuration fuzz target found (Fuzz/corpus/config/crash-table-header-without-name): a commented
    /// line of examples/agent.toml mutated into `[ = "…"`.
    static let fuzzerInput =
        "[ = \"/etc/viworks-agent/tls/key.pem\"\n# client_ca_file = \"/etc/viworks-agent/tls/clients.pem\"   # mutual TLS: clients need a certificate from this CA\n"

    @Test func theFuzzerInputIsRefusedWithItsLineInsteadOfStoppingTheProcess() throws {
        var template = Array("/tmp/viworks-config-XXXXXX.toml".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemps($0, 5) } ?? -1 }
        try #require(fd >= 0)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        _ = Self.fuzzerInput.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader(knownCollectors: ["cpu"]).load(path: path, environment: [:])
        }
        #expect(error?.issues == [ConfigIssue(source: path, line: 1, key: "", message: "TOML syntax: expected a table name after '[', found '='")])
    }

    @Test(arguments: [
        ("[ = 1\n", 1, "'='"),
        ("a = 1\n[\nb = 2\n", 2, "end of line"),
        ("a = 1\n  [[ # comment\n", 2, "'#'"),
        ("[é]\n", 1, "'é'"),
        ("[ [a]]\n", 1, "'['"),
        ("[a]\nb = 1\n[", 3, "end of file"),
        ("a = [\n  1,\n]\n[,]\n", 4, "','"),
        ("s = \"\"\"\nx\n\"\"\"\n[ {\n", 4, "'{'"),
    ])
    func headersWithoutANameAreFound(text: String, line: Int, found: String) {
        let bad = TOMLHeaderCheck.firstBadHeader(text)
        #expect(bad?.line == line && bad?.found == found)
    }

    /// Valid documents, with `[` where a scan that ignored strings, comments or values spanning lines would see a header.
    @Test(arguments: [
        "[a]\n[ b ]\n[\"quoted key\"]\n['literal']\n[[ arr ]]\n[-_9.x]\n",
        "s = \"\"\"\n[ = not a header\n\"\"\"\n",
        "s = '''\n[ = not a header either\n'''\n",
        "s = \"\"\"ends with two quotes\"\"\"\"\"\n[t]\n",
        "a = [\n  [ 1, 2 ],\n  [ 3 ],\n]\n",
        "# [ = in a comment\nb = \"[ = in a string\" # [\n",
        "t = { a = [ 1 ] }\n[u]\n",
        "s = \"escaped \\\" quote [ = \"\n[v]\n",
    ])
    func validDocumentsPass(text: String) throws {
        #expect(TOMLHeaderCheck.firstBadHeader(text) == nil)
    }

    @Test func theExampleConfigurationPasses() throws {
        let here = #filePath
        let suffix = "Tests/AgentRuntimeTests/TOMLHeaderCheckTests.swift"
        try #require(here.hasSuffix(suffix))
        let example = try HostFile.read(String(here.dropLast(suffix.count)) + "examples/agent.toml", limit: 1 << 20)
        #expect(example.contains("[server]"))
        #expect(TOMLHeaderCheck.firstBadHeader(example) == nil)
    }
}
