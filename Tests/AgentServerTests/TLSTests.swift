//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import Testing

@testable import AgentServer

/// A bare HTTPS/1.1 client on swift-nio-ssl: real handshakes against the agent's server.
struct TLSTestClient {
    let context: NIOSSLContext

    init(pki: TestPKI, clientCertificate: (cert: String, key: String)? = nil) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(pki.caPEM.utf8), format: .pem)])
        configuration.certificateVerification = .fullVerification
        if let clientCertificate {
            configuration.certificateChain = [.certificate(try NIOSSLCertificate(bytes: Array(clientCertificate.cert.utf8), format: .pem))]
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(clientCertificate.key.utf8), format: .pem))
        }
        context = try NIOSSLContext(configuration: configuration)
    }

    /// A connection for one or more requests, used from one task inside ``withConnection(port:_:)``.
    final class Connection {
        let channel: any Channel
        private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator

        init(channel: any Channel, inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
            self.channel = channel
            self.outbound = outbound
            iterator = inbound.makeAsyncIterator()
        }

        /// GET `path` with keep-alive; returns the status code.
        func get(_ path: String) async throws -> Int {
            try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n"))
            var received = ""
            while true {
                if let headEnd = received.range(of: "\r\n\r\n") {
                    let head = received[..<headEnd.lowerBound]
                    let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    if received.utf8.count - received[..<headEnd.upperBound].utf8.count >= length {
                        guard let code = Int(head.split(separator: " ")[1]) else { throw TLSTestError.badResponse(received) }
                        return code
                    }
                }
                guard let chunk = try await iterator.next() else { throw TLSTestError.closed(received) }
                received += String(buffer: chunk)
            }
        }

        /// The serial number of the certificate the server presented.
        func peerSerial() async throws -> [UInt8]? {
            let channel = self.channel
            return try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate?.serialNumber
            }.get()
        }
    }

    /// Runs `body` with a new connection (a full handshake), closed afterwards.
    func withConnection<Result: Sendable>(port: Int, _ body: (Connection) async throws -> Result) async throws -> Result {
        let context = self.context
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(Connection(channel: channel.channel, inbound: inbound, outbound: outbound))
        }
    }

    /// One request on its own connection (a full handshake): (status, server certificate serial).
    func getOnce(port: Int, _ path: String = "/api/v1/health") async throws -> (Int, [UInt8]?) {
        try await withConnection(port: port) { connection in
            let status = try await connection.get(path)
            return (status, try await connection.peerSerial())
        }
    }
}

enum TLSTestError: Error {
    case badResponse(String)
    case closed(String)
}

/// Runs the agent's HTTPS server on a free port for `body`.
func withTLSServer(provider: TLSContextProvider, _ body: @Sendable (Int) async throws -> Void) async throws {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    var settings = ServerSettings()
    settings.port = 0
    let app = APIServer.buildApplication(
        dependencies: AccessMatrixTests.readyAgent().dependencies, settings: settings, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
        logger: Logger(label: "tls-test"), tls: provider, requestTimeout: .seconds(5),
        onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
    let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "tls-test")))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        do {
            try await body(port)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

@Suite(.serialized)
struct TLSTests {
    var logger: Logger { Logger(label: "tls-test") }

    func install(_ leaf: (cert: String, key: String, serial: [UInt8]), in directory: TemporaryDirectory) throws -> TLSSettings {
        // Written beside and renamed into place, as certbot and cert-manager do.
        try directory.write("cert.pem.new", leaf.cert)
        try directory.write("key.pem.new", leaf.key)
        _ = rename(directory.path + "/key.pem.new", directory.path + "/key.pem")
        _ = rename(directory.path + "/cert.pem.new", directory.path + "/cert.pem")
        var settings = TLSSettings()
        settings.certFile = directory.path + "/cert.pem"
        settings.keyFile = directory.path + "/key.pem"
        return settings
    }

    @Test func handshakeAndRotationUnderAStreamOfRequestsLosesNone() async throws {
        let pki = try TestPKI()
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let first = try pki.leaf(serial: [0x01, 0x11])
        let second = try pki.leaf(serial: [0x02, 0x22])
        let provider = try TLSContextProvider(settings: try install(first, in: directory))
        let client = try TLSTestClient(pki: pki)
        let logger = self.logger
        try await withTLSServer(provider: provider) { port in
            // A keep-alive connection opened before the rotation.
            try await client.withConnection(port: port) { kept in
            #expect(try await kept.get("/api/v1/health") == 200)
            #expect(try await kept.peerSerial() == first.serial)

            // 200 requests, each with its own handshake, from 4 tasks; the certificate changes while they run.
            let all = try await withThrowingTaskGroup(of: [(Int, [UInt8]?)].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var seen: [(Int, [UInt8]?)] = []
                        for _ in 0..<50 { seen.append(try await client.getOnce(port: port)) }
                        return seen
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(150))
                    _ = try self.install(second, in: directory)
                    let reloaded = provider.reloadIfChanged(logger: logger)
                    return [(reloaded ? -1 : -2, nil)]  // a marker: the rotation's outcome
                }
                var all: [(Int, [UInt8]?)] = []
                for try await part in group { all += part }
                return all
            }
            #expect(all.contains { $0.0 == -1 }, "the rotation was applied")
            let results = all.filter { $0.0 >= 0 }
            #expect(results.count == 200)
            #expect(results.allSatisfy { $0.0 == 200 }, "every request answered 200")
            let serials = Set(results.compactMap(\.1))
            #expect(serials.isSubset(of: [first.serial, second.serial]))
            #expect(serials.contains(second.serial), "the new certificate was served")
            #expect(try await client.getOnce(port: port).1 == second.serial)
            // The connection opened before the rotation still works, with its certificate.
            #expect(try await kept.get("/api/v1/status-simple") == 200)
            #expect(try await kept.peerSerial() == first.serial)
            }
        }
    }

    @Test func expiredNotYetValidOrMismatchedCertificatesAreRefusedAndTheOldOneKept() async throws {
        let pki = try TestPKI()
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let good = try pki.leaf(serial: [0x0a])
        let provider = try TLSContextProvider(settings: try install(good, in: directory))
        let client = try TLSTestClient(pki: pki)
        let logger = self.logger
        try await withTLSServer(provider: provider) { port in
            let expired = try pki.leaf(serial: [0x0b], validFrom: Date() - 86_400 * 2, validUntil: Date() - 60)
            let settings = try install(expired, in: directory)
            #expect(!provider.reload(logger: logger))
            do {
                let (status, serial) = try await client.getOnce(port: port)
                #expect(status == 200 && serial == good.serial)
            }
            #expect(throws: AccessControlError.self) { try TLSContextProvider(settings: settings) }
            do {
                _ = try TLSContextProvider(settings: settings)
            } catch {
                #expect("\(error)".contains("the certificate expired at"), "\(error)")
            }

            _ = try install(try pki.leaf(serial: [0x0c], validFrom: Date() + 3600, validUntil: Date() + 7200), in: directory)
            #expect(!provider.reload(logger: logger))

            var mismatched = try pki.leaf(serial: [0x0d])
            mismatched.key = try pki.leaf(serial: [0x0e]).key
            _ = try install(mismatched, in: directory)
            #expect(!provider.reloadIfChanged(logger: logger))
            do {
                _ = try TLSContextProvider(settings: settings)
            } catch {
                #expect("\(error)".contains("the private key does not match the certificate"))
            }
            do {
                let (status, serial) = try await client.getOnce(port: port)
                #expect(status == 200 && serial == good.serial)
            }
            // A broken pair is not retried until the files change again; a good one then goes in.
            #expect(!provider.reloadIfChanged(logger: logger))
            let next = try pki.leaf(serial: [0x0f])
            _ = try install(next, in: directory)
            #expect(provider.reloadIfChanged(logger: logger))
            do {
                let (status, serial) = try await client.getOnce(port: port)
                #expect(status == 200 && serial == next.serial)
            }
        }
    }

    @Test func mutualTLSNeedsAClientCertificateFromTheConfiguredCA() async throws {
        let pki = try TestPKI()
        let strangers = try TestPKI(name: "another CA")
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var settings = try install(try pki.leaf(serial: [0x21]), in: directory)
        settings.clientCAFile = try directory.write("clients.pem", pki.caPEM)
        let provider = try TLSContextProvider(settings: settings)
        let withCertificate = try TLSTestClient(pki: pki, clientCertificate: pair(try pki.leaf(serial: [0x31], clientAuth: true)))
        let withoutCertificate = try TLSTestClient(pki: pki)
        let foreign = try TLSTestClient(pki: pki, clientCertificate: pair(try strangers.leaf(serial: [0x41], clientAuth: true)))
        try await withTLSServer(provider: provider) { port in
            let status = try await withCertificate.getOnce(port: port).0
            #expect(status == 200)
            await #expect(throws: (any Error).self) { try await withoutCertificate.getOnce(port: port) }
            await #expect(throws: (any Error).self) { try await foreign.getOnce(port: port) }
        }
    }
}

/// CA files hold certificates: a private key or other text in their place is refused where it is configured, not at
/// every handshake.
struct CAFileTests {
    @Test func aClientCAFileThatHoldsNoCertificateIsRefused() throws {
        let pki = try TestPKI()
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let leaf = try pki.leaf(serial: [0x51])
        var settings = TLSSettings()
        settings.certFile = try directory.write("cert.pem", leaf.cert)
        settings.keyFile = try directory.write("key.pem", leaf.key)
        for (name, text) in [("key-as-ca.pem", leaf.key), ("text-as-ca.pem", "not a certificate\n"), ("broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")] {
            settings.clientCAFile = try directory.write(name, text)
            let error = #expect(throws: AccessControlError.self) { try TLSContextProvider(settings: settings) }
            #expect(error?.description == "\(directory.path)/\(name): not a PEM certificate")
        }
        // As BoringSSL reads a CA file: every certificate, a key beside them skipped.
        for (name, text) in [("two.pem", pki.caPEM + "\n" + (try TestPKI(name: "second CA")).caPEM), ("cert-and-key.pem", pki.caPEM + "\n" + leaf.key)] {
            settings.clientCAFile = try directory.write(name, text)
            #expect(throws: Never.self) { try TLSContextProvider(settings: settings) }
        }
    }

    @Test func aPostgreSQLCAFileThatHoldsNoCertificateIsAConfigurationError() throws {
        let pki = try TestPKI()
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let key = try directory.write("key.pem", try pki.leaf(serial: [0x61]).key)
        let ca = try directory.write("ca.pem", pki.caPEM)
        let loader = ConfigLoader(knownCollectors: ["cpu"])
        func issues(caFile: String) throws -> [String] {
            let config = try directory.write(
                "agent.toml",
                "[outputs.postgresql]\nenabled = true\nagent_id = \"a1\"\ntls = \"verify-full\"\nca_file = \"\(caFile)\"\n")
            do {
                _ = try loader.load(path: config, environment: [:])
                return []
            } catch {
                return error.issues.map { "\($0.line.map(String.init) ?? "-") \($0.key): \($0.message)" }
            }
        }
        #expect(try issues(caFile: key) == ["5 outputs.postgresql.ca_file: \(key) holds no PEM certificates"])
        #expect(try issues(caFile: ca) == [])
        // The system's bundle six times over (more than a MiB) is read whole.
        let bundle = try directory.write("bundle.pem", String(repeating: pki.caPEM + "\n", count: 4000))
        #expect(try issues(caFile: bundle) == [])
    }
}

/// `(cert, key)` of a leaf.
func pair(_ leaf: (cert: String, key: String, serial: [UInt8])) -> (cert: String, key: String) { (leaf.cert, leaf.key) }
