//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import AgentRuntime
public import NIOCore
import NIOHTTP1
import NIOPosix

/// Responsiveness probes of services over SwiftNIO: a TCP connect, an HTTP request (NIOHTTP1's client codec), Redis
/// `PING` and the PostgreSQL `SSLRequest` handshake. Every probe has one deadline covering connect and answer; the
/// connection is closed when the deadline passes, whatever state it is in.
///
/// A host name is dialled on every address it resolves to (NIO's Happy Eyeballs connector, RFC 8305: AAAA and A
/// queries, IPv6 first, the next address after a refusal or after 250 ms), so `localhost` answering with `::1` and
/// `127.0.0.1` reaches a service that listens on only one of them. A failure names each address tried.
public struct ServiceProber: Sendable {
    private let group: any EventLoopGroup
    private let resolver: (@Sendable (any EventLoop) -> any Resolver & Sendable)?

    /// - Parameter group: the event loops probes run on (the agent's own, or NIO's singleton).
    public init(group: (any EventLoopGroup)? = nil) {
        self.init(group: group, resolver: nil)
    }

    /// - Parameters:
    ///   - group: the event loops probes run on (the agent's own, or NIO's singleton).
    ///   - resolver: makes the name resolver of a probe on its event loop; nil is NIO's `getaddrinfo` resolver (the
    ///     host's /etc/hosts and DNS). Tests give fixed answers.
    init(group: (any EventLoopGroup)?, resolver: (@Sendable (any EventLoop) -> any Resolver & Sendable)?) {
        self.group = group ?? MultiThreadedEventLoopGroup.singleton
        self.resolver = resolver
    }

    /// A client bootstrap on one event loop, with the probe's connect timeout (covering every address tried).
    private func bootstrap(milliseconds: Int64) -> ClientBootstrap {
        let loop = group.next()
        return ClientBootstrap(group: loop).connectTimeout(.milliseconds(milliseconds)).resolver(resolver?(loop))
    }

    public func probe(_ spec: ServiceProbeSpec, timeout: Duration) async -> ServiceProbeResult {
        let started = ContinuousClock.now
        func elapsed() -> Double { (ContinuousClock.now - started).secondsDouble }
        let target = HostName.endpoint(spec.host, spec.port)
        let milliseconds = Int64(max(1, timeout.secondsDouble * 1000))
        do {
            let detail: String
            switch spec.kind {
            case .tcp:
                let channel = try await bootstrap(milliseconds: milliseconds).connect(host: spec.host, port: spec.port).get()
                try? await channel.close()
                detail = "connected"
            case .redis:
                detail = try await exchange(spec, milliseconds: milliseconds, request: Array("PING\r\n".utf8)) { bytes in
                    guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
                    let line = String(decoding: bytes[..<end], as: UTF8.self).trimmingASCIIWhitespace()
                    if line == "+PONG" || line.hasPrefix("-NOAUTH") || line.hasPrefix("-LOADING") { return .success(line) }
                    return .failure(ProbeFailure(message: "unexpected answer \(String(line.prefix(60)).debugDescription)"))
                }
            case .postgres:
                // SSLRequest: length 8, code 80877103 (1234 << 16 | 5679); the server answers one byte, S or N.
                let request: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]
                detail = try await exchange(spec, milliseconds: milliseconds, request: request) { bytes in
                    guard let first = bytes.first else { return nil }
                    if first == UInt8(ascii: "S") || first == UInt8(ascii: "N") { return .success("SSLRequest answered \(Character(UnicodeScalar(first)))") }
                    if first == UInt8(ascii: "E") { return .success("answered with an error message") }
                    return .failure(ProbeFailure(message: "not a PostgreSQL answer (first byte \(first))"))
                }
            case .http:
                detail = try await http(spec, milliseconds: milliseconds)
            }
            return ServiceProbeResult(kind: spec.kind.rawValue, target: target, ok: true, durationSeconds: elapsed(), detail: detail)
        } catch let failure as ProbeFailure {
            return ServiceProbeResult(kind: spec.kind.rawValue, target: target, ok: false, durationSeconds: elapsed(), detail: failure.message)
        } catch {
            return ServiceProbeResult(kind: spec.kind.rawValue, target: target, ok: false, durationSeconds: elapsed(), detail: Self.describe(error, timeout: timeout))
        }
    }

    static func describe(_ error: any Error, timeout: Duration) -> String {
        if let error = error as? ChannelError, case .connectTimeout = error { return "connect timed out after \(timeout.secondsDouble) s" }
        if let error = error as? NIOConnectionError {
            if error.connectionErrors.count > 1 {
                // Every address of the name was tried: say what each one answered.
                return error.connectionErrors.map { "\(address($0.target)): \(describe($0.error, timeout: timeout))" }.joined(separator: "; ")
            }
            if let first = error.connectionErrors.first { return describe(first.error, timeout: timeout) }
            if error.dnsAAAAError != nil || error.dnsAError != nil { return "cannot resolve \(error.host)" }
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case EHOSTUNREACH, ENETUNREACH: return "unreachable"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    /// `127.0.0.1` or `::1`, without the port (the target already names it).
    static func address(_ target: SocketAddress) -> String {
        target.ipAddress ?? "\(target)"
    }

    /// Writes `request` and feeds the bytes received so far to `verdict` until it decides (or the deadline closes the channel).
    private func exchange(
        _ spec: ServiceProbeSpec, milliseconds: Int64, request: [UInt8],
        verdict: @escaping @Sendable ([UInt8]) -> Result<String, ProbeFailure>?
    ) async throws -> String {
        let channel = try await bootstrap(milliseconds: milliseconds)
            .connect(host: spec.host, port: spec.port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        let timeoutText = "no answer within \(Double(milliseconds) / 1000) s"
        let started = ContinuousClock.now
        /// The deadline closes the channel: an end of stream after it is a timeout, not the server closing.
        func timedOut() -> Bool { ContinuousClock.now - started >= .milliseconds(milliseconds) - .milliseconds(5) }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: request))
            var received: [UInt8] = []
            do {
                for try await chunk in inbound {
                    received.append(contentsOf: chunk.readableBytesView)
                    if let decided = verdict(received) { return try decided.get() }
                    if received.count > 4096 { throw ProbeFailure(message: "answer too long") }
                }
            } catch let failure as ProbeFailure {
                throw failure
            } catch {
                throw ProbeFailure(message: received.isEmpty ? timeoutText : "connection failed: \(error)")
            }
            if timedOut() { throw ProbeFailure(message: received.isEmpty ? timeoutText : "incomplete answer within \(Double(milliseconds) / 1000) s") }
            throw ProbeFailure(message: received.isEmpty ? "closed without answering" : "closed mid-answer")
        }
    }

    private func http(_ spec: ServiceProbeSpec, milliseconds: Int64) async throws -> String {
        let channel = try await bootstrap(milliseconds: milliseconds)
            .connect(host: spec.host, port: spec.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        let host = HostName.endpoint(spec.host, spec.port)
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: spec.path)
            head.headers.add(name: "Host", value: host)
            head.headers.add(name: "User-Agent", value: "viworks-agent-probe")
            head.headers.add(name: "Connection", value: "close")
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            do {
                for try await part in inbound {
                    if case .head(let response) = part {
                        let code = Int(response.status.code)
                        guard code < 500 else { throw ProbeFailure(message: "HTTP \(code)") }
                        return "HTTP \(code)"
                    }
                }
            } catch let failure as ProbeFailure {
                throw failure
            } catch {
                throw ProbeFailure(message: "no HTTP answer within \(Double(milliseconds) / 1000) s (\(error))")
            }
            throw ProbeFailure(message: "closed without an HTTP answer")
        }
    }
}

struct ProbeFailure: Error, Sendable {
    var message: String
}
