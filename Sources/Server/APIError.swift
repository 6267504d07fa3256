//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
public import HTTPTypes
public import Hummingbird
import Logging
import NIOCore

/// An API error, rendered as `{"error":{"code":"not_found","message":"…"}}` with its HTTP status.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// A stable, machine-readable code: `not_found`, `method_not_allowed`, `bad_request`, `internal_error`, …
    public var code: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message: message) }
    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, code: "bad_request", message: message) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        let body = "{\"error\":{\"code\":\(JSONString.quote(code)),\"message\":\(JSONString.quote(message))}}"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Turns every error into the JSON error shape: Hummingbird's `HTTPError`s keep their status, anything
/// else becomes a logged 500 whose body does not leak internals.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// A client-supplied path as echoed in an error message: at most 200 characters.
    static func shortened(_ path: String) -> String {
        path.count <= 200 ? path : String(path.prefix(200)) + "… (\(path.utf8.count) bytes)"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as StorageUnavailable {
            // A database that fails (damaged, full disk, cannot be opened) is the agent's trouble, not a bug: 503, with why.
            throw APIError(.serviceUnavailable, code: "storage_unavailable", message: error.description)
        } catch let error as HTTPError {
            let code: String
            let message: String
            switch error.status {
            case .notFound:
                // A known path asked with another method never gets here: MethodNotAllowedMiddleware answers it.
                code = "not_found"
                message = "no route for \(request.method) \(Self.shortened(request.uri.path))"
            case .badRequest:
                code = "bad_request"
                message = error.body ?? "bad request"
            case .methodNotAllowed:
                code = "method_not_allowed"
                message = error.body ?? "method not allowed"
            case .contentTooLarge:
                code = "payload_too_large"
                message = error.body ?? "request body too large"
            default:
                code = error.status.reasonPhrase.lowercased().replacing(" ", with: "_")
                message = error.body ?? error.status.reasonPhrase
            }
            throw APIError(error.status, code: code, message: message, headers: error.headers)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "http.path": "\(request.uri.path)"])
            throw APIError(.internalServerError, code: "internal_error", message: "internal error")
        }
    }
}
