//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import AsyncHTTPClient
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Why a call to the container engine failed.
public enum ContainerEngineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The engine cannot be reached. The reason starts with `ENOENT` (no socket file), `ECONNREFUSED` (a socket file
    /// nobody listens on: the engine stopped), `timeout` (it accepted but did not answer in time) or `connection`
    /// (it closed the connection), followed by the details.
    case unavailable(String)
    /// The engine's newest API version is older than ``DockerEngine/minimumAPIVersion``.
    case unsupportedVersion(String)
    /// The engine answered with an error status (the HTTP status and the engine's message).
    case engine(status: Int, message: String)
    /// The engine's answer did not have the expected shape.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "the container engine is unavailable: \(reason)"
        case .unsupportedVersion(let reason): reason
        case .engine(let status, let message): "the container engine answered \(status): \(message)"
        case .invalidResponse(let reason): "the container engine's answer is not understood: \(reason)"
        }
    }

    /// True for an answer with this HTTP status.
    public func hasStatus(_ status: Int) -> Bool {
        if case .engine(let code, _) = self { return code == status }
        return false
    }

    /// The reason when the engine is unavailable; nil otherwise.
    public var unavailableReason: String? {
        if case .unavailable(let reason) = self { return reason }
        return nil
    }

    /// Turns a transport error of a call to the engine at `socketPath` into ``unavailable(_:)``.
    static func classify(_ error: any Error, socketPath: String, timeout: Duration) -> any Error {
        if error is ContainerEngineError || error is CancellationError { return error }
        if case .timedOut = error as? CollectorError {
            return ContainerEngineError.unavailable("timeout: no answer from \(socketPath) within \(timeout.secondsDouble) s")
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .connectTimeout, .deadlineExceeded:
                return ContainerEngineError.unavailable("timeout: no answer from \(socketPath) within \(timeout.secondsDouble) s")
            case .remoteConnectionClosed:
                return ContainerEngineError.unavailable("connection: \(socketPath) closed the connection")
            case .cancelled:
                return CancellationError()
            default:
                break
            }
        }
        if let error = error as? IOError, let reason = describe(errno: error.errnoCode, socketPath: socketPath) {
            return ContainerEngineError.unavailable(reason)
        }
        // Not classified by type: say what the socket file shows.
        if access(socketPath, F_OK) != 0, let reason = describe(errno: errno, socketPath: socketPath) {
            return ContainerEngineError.unavailable(reason)
        }
        return ContainerEngineError.unavailable("connection: \(error)")
    }

    private static func describe(errno code: Int32, socketPath: String) -> String? {
        switch code {
        case ENOENT: "ENOENT: no socket at \(socketPath) (is the engine installed and running?)"
        case ECONNREFUSED: "ECONNREFUSED: nothing listens on \(socketPath) (the engine stopped and left its socket behind)"
        case EACCES: "EACCES: no permission to connect to \(socketPath)"
        case ENOTSOCK: "ENOTSOCK: \(socketPath) is not a socket"
        case ETIMEDOUT: "timeout: connecting to \(socketPath) timed out"
        default: nil
        }
    }
}
