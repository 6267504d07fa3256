//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The engine client against sockets that are not an engine: none, a stale one, one that never answers.
@Suite struct EngineClientTests {
    static func temporarySocketPath() -> String {
        "/tmp/viworks-engine-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    }

    @Test func missingSocketIsENOENT() async throws {
        let engine = DockerEngine(socketPath: Self.temporarySocketPath(), timeout: .seconds(2))
        defer { Task { try? await engine.shutdown() } }
        let error = await #expect(throws: ContainerEngineError.self) { try await engine.ping() }
        let reason = try #require(error?.unavailableReason)
        #expect(reason.hasPrefix("ENOENT"), "\(reason)")
        let listing = await #expect(throws: ContainerEngineError.self) { _ = try await engine.listContainers() }
        #expect(listing?.unavailableReason?.hasPrefix("ENOENT") == true)
    }

    @Test func staleSocketIsECONNREFUSED() async throws {
        let path = Self.temporarySocketPath()
        let listener = try UnixListener(path: path, listen: false)
        listener.close()  // the file stays; nobody listens
        defer { unlink(path) }
        let engine = DockerEngine(socketPath: path, timeout: .seconds(2))
        defer { Task { try? await engine.shutdown() } }
        let error = await #expect(throws: ContainerEngineError.self) { try await engine.ping() }
        let reason = try #require(error?.unavailableReason)
        #expect(reason.hasPrefix("ECONNREFUSED"), "\(reason)")
    }

    @Test func engineThatAcceptsAndNeverAnswersTimesOut() async throws {
        let path = Self.temporarySocketPath()
        // Listening with a backlog: the kernel completes connections that nobody ever reads from or answers.
        let listener = try UnixListener(path: path, listen: true)
        defer {
            listener.close()
            unlink(path)
        }
        let engine = DockerEngine(socketPath: path, timeout: .milliseconds(500))
        defer { Task { try? await engine.shutdown() } }
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: ContainerEngineError.self) { _ = try await engine.version() }
        let elapsed = clock.now - started
        let reason = try #require(error?.unavailableReason)
        #expect(reason.hasPrefix("timeout"), "\(reason)")
        #expect(elapsed >= .milliseconds(450))
        #expect(elapsed < .seconds(10), "a hung engine held the call for \(elapsed)")
        // The event stream's opening has the same deadline.
        let streamStarted = clock.now
        let streamError = await #expect(throws: ContainerEngineError.self) {
            try await engine.streamEvents(labels: ["a=b"]) { _ in }
        }
        #expect(streamError?.unavailableReason?.hasPrefix("timeout") == true)
        #expect(clock.now - streamStarted < .seconds(10), "a hung engine held the opening of the event stream")
    }

    @Test func versionNegotiation() throws {
        #expect(try DockerEngine.negotiatedVersion(engine: EngineVersion(version: "24.0.7", apiVersion: "1.43")) == APIVersion(major: 1, minor: 41))
        #expect(try DockerEngine.negotiatedVersion(engine: EngineVersion(version: "20.10.24", apiVersion: "1.41")) == APIVersion(major: 1, minor: 41))
        let old = #expect(throws: ContainerEngineError.self) {
            try DockerEngine.negotiatedVersion(engine: EngineVersion(version: "19.03.15", apiVersion: "1.40"))
        }
        #expect(old?.description.contains("speaks Engine API 1.40; the agent needs 1.41 or newer") == true)
        #expect(throws: ContainerEngineError.self) { try DockerEngine.negotiatedVersion(engine: EngineVersion(version: "x", apiVersion: "one")) }
        #expect(APIVersion(major: 1, minor: 9) < APIVersion(major: 1, minor: 41))
        #expect(APIVersion("1.41") == APIVersion(major: 1, minor: 41))
        #expect(APIVersion("1.41.2") == nil)
    }
}

/// A Unix stream socket bound at a path, listening or not; nobody ever accepts.
final class UnixListener {
    let descriptor: Int32

    init(path: String, listen shouldListen: Bool) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        if shouldListen { _ = Glibc.listen(descriptor, 16) }
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
