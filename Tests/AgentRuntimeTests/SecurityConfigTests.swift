//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct SecurityConfigTests {
    var loader: ConfigLoader { base.loader }
    static let hash = "hmac-sha256:\(String(repeating: "ab", count: 16)):\(String(repeating: "cd", count: 32))"
    static let hash2 = "hmac-sha256:\(String(repeating: "12", count: 16)):\(String(repeating: "34", count: 32))"

    /// The temporary files and the `F`-named issues of the configuration tests.
    let base = ConfigLoaderTests()

    func file(_ text: String) -> String { base.file(text) }

    func issues(_ text: String, environment: [String: String] = [:]) -> [ConfigIssue] { base.issues(text, environment: environment) }

    @Test func defaultsAreLoopbackWithAnonymousViewerAndAHundredPerMinute() throws {
        let configuration = try loader.load(path: nil, environment: [:])
        let security = configuration.security
        #expect(security.anonymousRole(listenHost: configuration.server.host) == .viewer)
        #expect(security.rateLimit.requestsPerMinute == 100)
        #expect(security.limits.maxBodyBytes == 65_536)
        #expect(!security.tls.isEnabled && !security.allowInsecure)
        #expect(SecuritySettings.isLoopback(host: "127.0.0.1") && SecuritySettings.isLoopback(host: "127.1.2.3") && SecuritySettings.isLoopback(host: "::1"))
        #expect(!SecuritySettings.isLoopback(host: "0.0.0.0") && !SecuritySettings.isLoopback(host: "::") && !SecuritySettings.isLoopback(host: "10.0.0.1"))
    }

    @Test func offLoopbackWithoutTLSOrCredentialsIsRefusedNamingTheSetting() {
        let found = issues("[server]\nlisten = \"0.0.0.0:9740\"\n")
        #expect(found.count == 2)
        #expect(found.allSatisfy { $0.key == "server.listen" && $0.line == 2 && $0.source == "F" })
        #expect(found.contains { $0.message.contains("needs TLS: set tls.cert_file and tls.key_file, or server.allow_insecure = true") })
        #expect(found.contains { $0.message.contains("needs at least one credential") })
        // Behind a TLS proxy with a key: accepted.
        #expect(issues("[server]\nlisten = \"[::]:9740\"\nallow_insecure = true\n[[auth.api_keys]]\nname = \"backend\"\nrole = \"viewer\"\nhash = \"\(Self.hash)\"\n").isEmpty)
        // The environment counts the same.
        let viaEnvironment = issues("", environment: ["VIWORKS_SERVER_LISTEN": "10.1.2.3:9740", "VIWORKS_SERVER_ALLOW_INSECURE": "true"])
        #expect(viaEnvironment.map(\.message) == ["listening on 10.1.2.3:9740, which is not loopback, needs at least one credential: [[auth.api_keys]], auth.api_key_file or [auth.jwt]"])
    }

    @Test func apiKeyTablesParseAndTheirErrorsCarryTheEntrysLine() throws {
        let path = file(
            """
            [[auth.api_keys]]
            name = "backend"
            role = "viewer"
            hash = "\(Self.hash)"

            [[auth.api_keys]]
            name = "ops"
            role = "admin"
            hash = "\(Self.hash2)"
            """)
        defer { unlink(path) }
        let configuration = try loader.load(path: path, environment: [:])
        #expect(configuration.security.auth.apiKeys == [APIKeyEntry(name: "backend", role: .viewer, hash: Self.hash), APIKeyEntry(name: "ops", role: .admin, hash: Self.hash2)])
        #expect(configuration.security.anonymousRole(listenHost: "127.0.0.1") == nil, "keys configured: no anonymous access")

        let found = issues(
            """
            [[auth.api_keys]]
            name = "backend"
            role = "viewer"
            hash = "\(Self.hash)"

            [[auth.api_keys]]
            name = "ops"
            role = "root"
            hash = "vwk_the_key_itself"
            colour = "red"
            """)
        #expect(found.map { "\($0.line ?? 0) \($0.key)" } == ["8 auth.api_keys.2.role", "9 auth.api_keys.2.hash", "10 auth.api_keys.2.colour"])
        #expect(found[0].message == "expected one of viewer, operator, admin, got \"root\"")
        #expect(found[1].message.contains("never the key itself"))
    }

    @Test func keysFromTheEnvironmentAndAKeyFile() throws {
        let keyFile = file("# name role hash\nbackend viewer \(Self.hash)\n\nci operator \(Self.hash2)  # the CI runner\n")
        defer { unlink(keyFile) }
        let configuration = try loader.load(
            path: nil, environment: ["VIWORKS_AUTH_API_KEY_FILE": keyFile, "VIWORKS_AUTH_API_KEYS": "ops:admin:\(Self.hash)"])
        #expect(configuration.security.auth.apiKeys.map(\.name) == ["ops", "backend", "ci"])
        #expect(configuration.security.auth.apiKeys.map(\.role) == [.admin, .viewer, .operator])

        let broken = file("backend viewer \(Self.hash)\nci superuser \(Self.hash2)\njust-two fields\n")
        defer { unlink(broken) }
        do {
            _ = try loader.load(path: nil, environment: ["VIWORKS_AUTH_API_KEY_FILE": broken])
            Issue.record("a broken key file was accepted")
        } catch {
            #expect(error.issues.map { "\($0.source == broken ? "K" : $0.source):\($0.line ?? 0)" } == ["K:2", "K:3"])
            #expect(error.issues[0].message == "expected a role viewer, operator or admin, got \"superuser\"")
        }
    }

    @Test func aKeyNameUsedTwiceIsReportedWhereverItIsDefined() {
        let keyFile = file("backend viewer \(Self.hash)\nops admin \(Self.hash2)\n# a comment\nci operator \(Self.hash2)\nops viewer \(Self.hash)\n")
        defer { unlink(keyFile) }
        let found = issues(
            """
            [auth]
            api_key_file = "\(keyFile)"

            [[auth.api_keys]]
            name = "ci"
            role = "viewer"
            hash = "\(Self.hash)"

            [[auth.api_keys]]
            name = "ci"
            role = "admin"
            hash = "\(Self.hash2)"
            """)
        #expect(
            found.map { "\($0.source == keyFile ? "K" : $0.source):\($0.line ?? 0) \($0.key)" }.sorted()
                == ["F:10 auth.api_keys.2.name", "K:4 auth.api_key_file", "K:5 auth.api_key_file"], "\(found)")
        let first = found.first { $0.source == "F" }
        #expect(first?.message.hasPrefix("API key name \"ci\" is already used at /tmp/viworks-config-") == true && first?.message.contains(".toml:5; names must be unique") == true)
        #expect(found.count == 3)
        #expect(found.first { $0.line == 4 }?.message.contains(".toml:5; names must be unique") == true)
        #expect(found.first { $0.line == 5 }?.message.hasPrefix("API key name \"ops\" is already used at \(keyFile):2;") == true)
    }

    @Test func everyOtherKeyIsValidated() {
        let found = issues(
            """
            [tls]
            cert_file = "relative.pem"
            client_ca_file = "/nope/ca.pem"
            [auth]
            anonymous_role = "root"
            [auth.jwt]
            public_key_files = ["/nope/key.pem"]
            leeway = "1h"
            [access]
            allow = ["10.0.0.0/8", "10.0.0.0/33"]
            trusted_proxies = ["::1", "fe80::/10"]
            [rate_limit]
            requests_per_minute = -1
            operator_per_minute = 10
            max_clients = 1
            [limits]
            max_body_bytes = "big"
            request_timeout = "0s"
            """)
        #expect(
            found.map { "\($0.line ?? 0) \($0.key)" }
                == [
                    "2 tls.cert_file", "3 tls.client_ca_file", "3 tls.client_ca_file", "5 auth.anonymous_role", "7 auth.jwt.public_key_files",
                    "8 auth.jwt.leeway", "10 access.allow", "13 rate_limit.requests_per_minute", "15 rate_limit.max_clients",
                    "17 limits.max_body_bytes", "18 limits.request_timeout",
                ], "\(found)")
        #expect(found.first { $0.key == "access.allow" }?.message.contains("\"10.0.0.0/33\" is not a CIDR block") == true)
        #expect(found.contains { $0.key == "tls.client_ca_file" && $0.message == "mutual TLS needs tls.cert_file and tls.key_file" })
    }

    @Test func certificateWithoutKeyAndAShortJWTSecret() {
        let secret = file("short")
        defer { unlink(secret) }
        let found = issues("[tls]\ncert_file = \"/etc/hostname\"\n[auth.jwt]\nhs256_secret_file = \"\(secret)\"\n")
        #expect(found.map(\.key).sorted() == ["auth.jwt.hs256_secret_file", "tls.cert_file"])
        #expect(found.first { $0.key == "tls.cert_file" }?.message == "tls.key_file must be set too")
        #expect(found.first { $0.key == "auth.jwt.hs256_secret_file" }?.line == 4)
    }
}
