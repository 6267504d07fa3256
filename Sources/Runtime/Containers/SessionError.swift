//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Why a session operation was refused or failed. ``httpStatus`` is the status the API answers with.
public enum SessionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A field of the request is invalid (400, naming the field).
    case invalid(FieldError)
    /// No session with this id (404).
    case notFound(String)
    /// The user already has `max_sessions_per_user` sessions (429).
    case userLimit(String)
    /// The host already runs `max_sessions` sessions (409: the host is full, whoever asks).
    case sessionLimit(String)
    /// The template's image is not on this host and `pull` is off (409, naming the image).
    case imageMissing(String)
    /// The session is not in a state that allows the operation, or another operation on it is in progress (409).
    case conflict(String)
    /// Every port of `port_range` is taken (503).
    case noFreePort(String)
    /// The container engine cannot be reached (503, with the reason: ENOENT, ECONNREFUSED, timeout).
    case unavailable(String)
    /// The engine refused or failed the operation (502, with its message).
    case engine(String)
    /// The session store cannot be read or written (503).
    case storage(String)

    public var description: String {
        switch self {
        case .invalid(let error): error.description
        case .notFound(let message), .userLimit(let message), .sessionLimit(let message), .imageMissing(let message), .conflict(let message),
            .noFreePort(let message), .engine(let message), .storage(let message):
            message
        case .unavailable(let reason): "the container engine is unavailable: \(reason)"
        }
    }

    /// The HTTP status of the API's answer.
    public var httpStatus: Int {
        switch self {
        case .invalid: 400
        case .notFound: 404
        case .userLimit: 429
        case .sessionLimit, .imageMissing, .conflict: 409
        case .noFreePort, .unavailable, .storage: 503
        case .engine: 502
        }
    }

    /// The machine-readable code of the API's error document.
    public var code: String {
        switch self {
        case .invalid: "invalid_request"
        case .notFound: "not_found"
        case .userLimit: "user_session_limit"
        case .sessionLimit: "session_limit"
        case .imageMissing: "image_missing"
        case .conflict: "conflict"
        case .noFreePort: "no_free_port"
        case .unavailable: "engine_unavailable"
        case .engine: "engine_error"
        case .storage: "storage_unavailable"
        }
    }

    /// The field a 400 names; nil for other errors.
    public var field: String? {
        if case .invalid(let error) = self { return error.field }
        return nil
    }
}
