//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hosts of the configuration (probes, `[outputs.postgresql] host`, `[server] listen`) as the resolver takes them.
struct HostNameTests {
    let helper = ConfigLoaderTests()

    private func probeHost(_ text: String) -> String? { try? ServiceProbeSpec.parse(text).get().host }

    private func probeProblem(_ text: String) -> String? {
        if case .failure(let error) = ServiceProbeSpec.parse(text) { return error.reason }
        return nil
    }

    @Test func probeHostsAreAddressesOrASCIINames() {
        // Names that are not ASCII are looked up in their IDNA form (getaddrinfo does no such mapping).
        #expect(probeHost("http://bücher.example:8080/health") == "xn--bcher-kva.example")
        #expect(probeHost("tcp://\u{FF4C}\u{FF4F}\u{FF43}\u{FF41}\u{FF4C}\u{FF48}\u{FF4F}\u{FF53}\u{FF54}:6379") == "localhost")
        // Addresses and plain names stay as written.
        #expect(probeHost("tcp://[::1]:5432") == "::1")
        #expect(probeHost("tcp://[fe80::1%eth0]:5432") == "fe80::1%eth0")
        #expect(probeHost("tcp://[127.0.0.1]:80") == "127.0.0.1")
        #expect(probeHost("redis://cache_1.internal:6379") == "cache_1.internal")
        #expect(probeHost("postgres://DB.Example.com:5432") == "DB.Example.com")

        let onlyName = "may contain only letters, digits, '-', '_' and '.' (at most 253 of them)"
        #expect(probeProblem("http://local host:80/") == "the host \"local host\" \(onlyName)")
        #expect(probeProblem("http://user@127.0.0.1:80/") == "the host \"user@127.0.0.1\" \(onlyName)")
        #expect(probeProblem("tcp://\(String(repeating: "a", count: 254)):80") == "the host \"\(String(repeating: "a", count: 254))\" \(onlyName)")
        // A line break would have gone into the HTTP probe's Host header.
        #expect(probeProblem("http://127.0.0.1\r\nX-Injected: yes\r\nY:1:28080/") == "expected host:port, an IPv6 address as [ipv6]:port")
        #expect(
            probeProblem("http://127.0.0.1\r\nX-Injected:28080/") == "the host \"127.0.0.1\r\nX-Injected\" may contain only letters, digits, '-', '_' "
                + "and '.' (at most 253 of them)")
        #expect(probeProblem("tcp://[fe80::1%]:80") != nil)
        #expect(probeProblem("tcp://[fe80::1%e h]:80") != nil)
    }

    @Test func postgreSQLHostAndListenAddressAreCheckedWhereTheyAreWritten() throws {
        let issues = helper.issues(
            """
            [server]
            listen = "local host:9740"
            [outputs.postgresql]
            host = "[::1]"
            """)
        let found = issues.map { "\($0.line.map(String.init) ?? "-") \($0.key): \($0.message)" }
        #expect(
            found == [
                "2 server.listen: expected host:port, got \"local host:9740\": the host may contain only letters, digits, '-', '_' and '.' (at most 253 of them)",
                "4 outputs.postgresql.host: expected a host name or address, got \"[::1]\", which is an IPv6 address in brackets: write it without them",
            ])
        let port = helper.issues("[outputs.postgresql]\nhost = \"127.0.0.1:5432\"\n").map(\.message)
        #expect(port == ["expected a host name or address, got \"127.0.0.1:5432\", which is neither a host name nor an IPv6 address (a port goes in its own place)"])

        let path = helper.file(
            """
            [server]
            listen = "[::1]:9740"
            [outputs.postgresql]
            host = "bücher.example"
            """)
        defer { unlink(path) }
        let configuration = try helper.loader.load(path: path, environment: [:])
        #expect(configuration.server.host == "::1" && configuration.server.port == 9740)
        #expect(configuration.outputs.postgresql.host == "xn--bcher-kva.example")
        let unbracketed = try helper.loader.load(path: nil, environment: ["VIWORKS_OUTPUTS_POSTGRESQL_HOST": "::1"])
        #expect(unbracketed.outputs.postgresql.host == "::1")
    }
}
