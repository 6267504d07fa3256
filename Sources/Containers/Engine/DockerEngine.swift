//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import Synchronization

/// A client of the Docker Engine API (Podman's compatible API works too) over its Unix socket, through
/// async-http-client's `http+unix` support; never the `docker` command.
///
/// Every call has a deadline (``timeout``, plus the grace period for a stop): an engine that accepts a connection and
/// never answers makes the call throw ``ContainerEngineError/unavailable(_:)`` with a `timeout` reason instead of
/// stalling its caller. A missing socket gives `ENOENT`, a stale one `ECONNREFUSED`.
///
/// The API version is negotiated by ``negotiate()``: the lower of the engine's `ApiVersion` and
/// ``newestAPIVersion``; an engine older than ``minimumAPIVersion`` is refused. Until then calls use
/// ``newestAPIVersion``.
///
/// ```swift
/// let engine = DockerEngine(socketPath: "/var/run/docker.sock")
/// let version = try await engine.negotiate()
/// let mine = try await engine.listContainers(labels: ["io.viworks.agent=host-1"])
/// try await engine.shutdown()
/// ```
public final class DockerEngine: Sendable {
    /// The oldest Engine API version the agent accepts (Docker 20.10).
    public static let minimumAPIVersion = APIVersion(major: 1, minor: 41)
    /// The newest Engine API version the agent speaks.
    public static let newestAPIVersion = APIVersion(major: 1, minor: 41)

    /// The engine's Unix socket, e.g. `/var/run/docker.sock`.
    public let socketPath: String
    /// Deadline of one call (connection, answer and body).
    public let timeout: Duration
    private let client: HTTPClient
    private let negotiated = Mutex<APIVersion?>(nil)
    /// At most this many bytes of one answer are read.
    static let maximumBodyBytes = 32 << 20

    /// - Parameters:
    ///   - socketPath: the engine's Unix socket.
    ///   - timeout: deadline of each call; a stop gets its grace period on top.
    public init(socketPath: String, timeout: Duration = .seconds(10)) {
        self.socketPath = socketPath
        self.timeout = timeout
        var configuration = HTTPClient.Configuration()
        let connectMilliseconds = Int64(min(timeout, .seconds(5)).secondsDouble * 1000)
        configuration.timeout = .init(connect: .milliseconds(max(connectMilliseconds, 100)), read: nil)
        // Fail at once when the socket is missing or refused: the caller reports the engine unavailable and retries.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.idleTimeout = .seconds(30)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the connections; the engine cannot be used afterwards. Call it before the last reference goes away
    /// (async-http-client checks that its client was shut down).
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// The API version calls use: the negotiated one, else ``newestAPIVersion``.
    public var apiVersion: APIVersion { negotiated.withLock { $0 } ?? Self.newestAPIVersion }

    // MARK: - System

    /// `GET /_ping`: returns when the engine answers `OK`.
    /// - Throws: ``ContainerEngineError``.
    public func ping() async throws {
        let body = try await call(.GET, "/_ping", versioned: false)
        guard String(decoding: body, as: UTF8.self).hasPrefix("OK") else {
            throw ContainerEngineError.invalidResponse("/_ping answered \(String(decoding: body.prefix(100), as: UTF8.self))")
        }
    }

    /// `GET /version`.
    public func version() async throws -> EngineVersion {
        try decode(EngineVersion.self, try await call(.GET, "/version", versioned: false))
    }

    /// Reads `/version` and settles the API version of later calls: min(engine's `ApiVersion`, ``newestAPIVersion``).
    /// - Returns: the engine's version document.
    /// - Throws: ``ContainerEngineError/unsupportedVersion(_:)`` when the engine is older than ``minimumAPIVersion``;
    ///   ``ContainerEngineError/unavailable(_:)`` when it cannot be reached.
    @discardableResult
    public func negotiate() async throws -> EngineVersion {
        let version = try await self.version()
        let chosen = try Self.negotiatedVersion(engine: version)
        negotiated.withLock { $0 = chosen }
        return version
    }

    /// The API version to use with an engine: min(its `ApiVersion`, ``newestAPIVersion``).
    /// - Throws: ``ContainerEngineError/unsupportedVersion(_:)`` below ``minimumAPIVersion`` or when unreadable.
    public static func negotiatedVersion(engine: EngineVersion) throws -> APIVersion {
        guard let offered = APIVersion(engine.apiVersion) else {
            throw ContainerEngineError.unsupportedVersion("the container engine reports an unreadable API version \"\(engine.apiVersion)\"")
        }
        guard offered >= minimumAPIVersion else {
            throw ContainerEngineError.unsupportedVersion(
                "the container engine \(engine.version) speaks Engine API \(offered); the agent needs \(minimumAPIVersion) or newer (Docker 20.10 or later)")
        }
        return min(offered, newestAPIVersion)
    }

    // MARK: - Containers

    /// `GET /containers/json?all=…&filters={"label":[…]}`.
    /// - Parameters:
    ///   - labels: `key` or `key=value` filters; a container must match all of them. Empty lists every container.
    ///   - all: include stopped containers.
    public func listContainers(labels: [String] = [], all: Bool = true) async throws -> [ContainerSummary] {
        var query: [(String, String)] = [("all", all ? "true" : "false")]
        if !labels.isEmpty { query.append(("filters", Self.filters(["label": labels]))) }
        return try decode([ContainerSummary].self, try await call(.GET, "/containers/json", query: query))
    }

    /// `GET /containers/{id}/json`.
    /// - Throws: ``ContainerEngineError/engine(status:message:)`` with 404 when there is no such container.
    public func inspectContainer(_ id: String) async throws -> ContainerInspect {
        try decode(ContainerInspect.self, try await call(.GET, "/containers/\(Self.pathComponent(id))/json"))
    }

    /// `POST /containers/create?name=…`.
    /// - Returns: the new container's id.
    public func createContainer(name: String?, _ request: ContainerCreateRequest) async throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body: Data
        do {
            body = try encoder.encode(request)
        } catch {
            throw ContainerEngineError.invalidResponse("cannot encode the create request: \(error)")
        }
        let query = name.map { [("name", $0)] } ?? []
        let answer = try await call(.POST, "/containers/create", query: query, body: Array(body), contentType: "application/json")
        return try decode(ContainerCreateResponse.self, answer).id
    }

    /// `POST /containers/{id}/start`; a container already running is not an error.
    public func startContainer(_ id: String) async throws {
        _ = try await call(.POST, "/containers/\(Self.pathComponent(id))/start", accept: [304])
    }

    /// `POST /containers/{id}/stop?t=…`: SIGTERM, then SIGKILL after `gracePeriod`; a container already stopped is not an error.
    /// The call's deadline is ``timeout`` plus the grace period.
    public func stopContainer(_ id: String, gracePeriod: Duration) async throws {
        let seconds = max(0, Int(gracePeriod.secondsDouble.rounded(.up)))
        _ = try await call(
            .POST, "/containers/\(Self.pathComponent(id))/stop", query: [("t", "\(seconds)")], accept: [304],
            timeout: timeout + .seconds(seconds))
    }

    /// `DELETE /containers/{id}?force=…&v=true`: removes the container and its anonymous volumes.
    /// - Parameter force: kill it first when running.
    /// - Throws: 404 (``ContainerEngineError/engine(status:message:)``) when there is no such container.
    public func removeContainer(_ id: String, force: Bool = false) async throws {
        _ = try await call(.DELETE, "/containers/\(Self.pathComponent(id))", query: [("force", force ? "true" : "false"), ("v", "true")])
    }

    /// `GET /containers/{id}/stats?stream=false`.
    /// - Parameter oneShot: answer at once with an empty `precpu_stats` (`one-shot=true`); otherwise the engine
    ///   waits for a second sample (about 1 s) and fills it.
    public func stats(_ id: String, oneShot: Bool = true) async throws -> ContainerStats {
        var query = [("stream", "false")]
        if oneShot { query.append(("one-shot", "true")) }
        return try decode(ContainerStats.self, try await call(.GET, "/containers/\(Self.pathComponent(id))/stats", query: query))
    }

    // MARK: - Images

    /// `GET /images/{name}/json`; nil when the engine has no such image.
    public func inspectImage(_ name: String) async throws -> ImageInspect? {
        do {
            return try decode(ImageInspect.self, try await call(.GET, "/images/\(Self.pathComponent(name))/json"))
        } catch let error as ContainerEngineError where error.hasStatus(404) {
            return nil
        }
    }

    /// `POST /images/create?fromImage=…&tag=…`: pulls an image from its registry.
    /// - Parameter timeout: deadline of the whole pull.
    /// - Throws: ``ContainerEngineError/engine(status:message:)`` with the engine's message when the pull fails (the
    ///   engine reports some failures inside a 200 answer; those are found and thrown too).
    public func pullImage(_ reference: String, timeout pullTimeout: Duration = .seconds(300)) async throws {
        let (name, tag) = Self.splitReference(reference)
        let body = try await call(.POST, "/images/create", query: [("fromImage", name), ("tag", tag)], timeout: pullTimeout)
        try Self.throwStreamedError(body)
    }

    /// `POST /images/create?fromSrc=-`: creates an image from a root filesystem tarball (as `docker import`).
    /// - Parameters:
    ///   - tarball: an uncompressed tar of the root filesystem.
    ///   - changes: Dockerfile instructions applied to the image, e.g. `CMD ["/bin/httpd","-f"]`.
    public func importImage(tarball: [UInt8], repository: String, tag: String = "latest", changes: [String] = []) async throws {
        var query = [("fromSrc", "-"), ("repo", repository), ("tag", tag)]
        for change in changes { query.append(("changes", change)) }
        let body = try await call(.POST, "/images/create", query: query, body: tarball, contentType: "application/x-tar", timeout: timeout + .seconds(60))
        try Self.throwStreamedError(body)
    }

    // MARK: - Events

    /// `GET /events?filters={"type":["container"],"label":[…]}`: calls `handler` with each container event until the
    /// connection ends (the engine stopped or restarted) or the task is cancelled.
    ///
    /// The connection and the first answer have the usual deadline; the stream itself has none (an idle engine sends
    /// nothing for hours). The caller re-establishes it, with `since` set to the last event's time so that nothing in
    /// between is lost.
    /// - Parameters:
    ///   - labels: `key=value` filters.
    ///   - since: Unix seconds; replay events from then on.
    /// - Throws: ``ContainerEngineError/unavailable(_:)`` when the stream cannot be opened or ends with an error.
    public func streamEvents(labels: [String], since: Int64? = nil, _ handler: @Sendable (EngineEvent) async -> Void) async throws {
        var query: [(String, String)] = [("filters", Self.filters(["type": ["container"], "label": labels]))]
        if let since { query.append(("since", "\(since)")) }
        let request = try makeRequest(.GET, path(for: "/events", versioned: true, query: query), body: nil, contentType: nil)
        let client = self.client
        let response: HTTPClientResponse
        do {
            response = try await withDeadline(timeout, clock: ContinuousClock()) {
                try await client.execute(request, deadline: .distantFuture)
            }
        } catch {
            throw ContainerEngineError.classify(error, socketPath: socketPath, timeout: timeout)
        }
        guard response.status.code == 200 else {
            let body = (try? await response.body.collect(upTo: 64 << 10)).map { Array($0.readableBytesView) } ?? []
            throw Self.engineError(status: Int(response.status.code), body: body)
        }
        let decoder = JSONDecoder()
        var pending: [UInt8] = []
        do {
            for try await buffer in response.body {
                pending.append(contentsOf: buffer.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[..<newline]
                    defer { pending.removeSubrange(...newline) }
                    guard !line.isEmpty, let event = try? decoder.decode(EngineEvent.self, from: Data(line)) else { continue }
                    await handler(event)
                }
                if pending.count > 1 << 20 { pending.removeAll() }  // a line that long is not an event: drop it
            }
        } catch {
            throw ContainerEngineError.classify(error, socketPath: socketPath, timeout: timeout)
        }
        throw ContainerEngineError.unavailable("connection: \(socketPath) ended the event stream")
    }

    // MARK: - Transport

    /// One call: returns the body of a 2xx (or `accept`ed) answer; throws ``ContainerEngineError`` otherwise.
    private func call(
        _ method: HTTPMethod, _ path: String, versioned: Bool = true, query: [(String, String)] = [], body: [UInt8]? = nil,
        contentType: String? = nil, accept: Set<Int> = [], timeout callTimeout: Duration? = nil
    ) async throws -> [UInt8] {
        let limit = callTimeout ?? timeout
        let request = try makeRequest(method, self.path(for: path, versioned: versioned, query: query), body: body, contentType: contentType)
        let client = self.client
        let result: (status: Int, body: [UInt8])
        do {
            result = try await withDeadline(limit, clock: ContinuousClock()) { () async throws -> (status: Int, body: [UInt8]) in
                let response = try await client.execute(request, timeout: .nanoseconds(Int64(limit.secondsDouble * 1e9) + 1_000_000_000))
                let bytes = try await response.body.collect(upTo: Self.maximumBodyBytes)
                return (Int(response.status.code), Array(bytes.readableBytesView))
            }
        } catch is NIOTooManyBytesError {
            throw ContainerEngineError.invalidResponse("\(path): the answer is longer than \(Self.maximumBodyBytes) bytes")
        } catch {
            throw ContainerEngineError.classify(error, socketPath: socketPath, timeout: limit)
        }
        if (200..<300).contains(result.status) || accept.contains(result.status) { return result.body }
        throw Self.engineError(status: result.status, body: result.body)
    }

    private func makeRequest(_ method: HTTPMethod, _ path: String, body: [UInt8]?, contentType: String?) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: "http+unix://\(Self.percentEncode(socketPath))\(path)")
        request.method = method
        request.headers.add(name: "Host", value: "docker")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        } else if method == .POST {
            request.body = .bytes(ByteBuffer())
        }
        return request
    }

    private func path(for path: String, versioned: Bool, query: [(String, String)]) -> String {
        let prefix = versioned ? "/v\(apiVersion)" : ""
        guard !query.isEmpty else { return prefix + path }
        return prefix + path + "?" + query.map { Self.percentEncode($0.0) + "=" + Self.percentEncode($0.1) }.joined(separator: "&")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw ContainerEngineError.invalidResponse("\(T.self): \(error) in \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
    }

    static func engineError(status: Int, body: [UInt8]) -> ContainerEngineError {
        let message = (try? JSONDecoder().decode(EngineMessage.self, from: Data(body)))?.message
            ?? String(decoding: body.prefix(500), as: UTF8.self).trimmingASCIIWhitespace()
        return .engine(status: status, message: message)
    }

    /// The progress stream of `/images/create` ends with `{"error": …}` when the operation failed.
    private static func throwStreamedError(_ body: [UInt8]) throws {
        struct Line: Decodable { var error: String? }
        for line in body.split(separator: UInt8(ascii: "\n")) {
            if let error = (try? JSONDecoder().decode(Line.self, from: Data(line)))?.error {
                throw ContainerEngineError.engine(status: 500, message: error)
            }
        }
    }

    /// `{"label":["a=b"]}` as the engine's `filters` parameter wants it.
    static func filters(_ filters: [String: [String]]) -> String {
        "{" + filters.sorted { $0.key < $1.key }.map { JSONString.quote($0.key) + ":[" + $0.value.map(JSONString.quote).joined(separator: ",") + "]" }
            .joined(separator: ",") + "}"
    }

    /// `name[:tag]` → (name, tag); `latest` when there is no tag. A `:` inside a registry host (`host:5000/x`) is not a tag.
    static func splitReference(_ reference: String) -> (String, String) {
        if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
            return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
        }
        return (reference, "latest")
    }

    static func pathComponent(_ text: String) -> String { percentEncode(text, keepSlash: true) }

    /// Percent-encodes everything but RFC 3986's unreserved characters (and `/` when `keepSlash`).
    static func percentEncode(_ text: String, keepSlash: Bool = false) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                result.append("/")
            default:
                result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return result
    }
}

/// An Engine API version such as `1.41`.
public struct APIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses `major.minor`; nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]), major >= 0, minor >= 0 else { return nil }
        self.init(major: major, minor: minor)
    }

    public static func < (lhs: APIVersion, rhs: APIVersion) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }

    public var description: String { "\(major).\(minor)" }
}
