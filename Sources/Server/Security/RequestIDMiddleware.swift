//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import HTTPTypes
public import Hummingbird
import Logging

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!  // Safe to force unwrap: a valid literal token.
    static let xAPIKey = Self("X-API-Key")!  // Safe to force unwrap: a valid literal token.
    static let xForwardedFor = Self("X-Forwarded-For")!  // Safe to force unwrap: a valid literal token.
    static let rateLimitLimit = Self("RateLimit-Limit")!  // Safe to force unwrap: a valid literal token.
    static let rateLimitRemaining = Self("RateLimit-Remaining")!  // Safe to force unwrap: a valid literal token.
    static let rateLimitReset = Self("RateLimit-Reset")!  // Safe to force unwrap: a valid literal token.
    static let rateLimitPolicy = Self("RateLimit-Policy")!  // Safe to force unwrap: a valid literal token.
}

/// Gives every request an id: the client's `X-Request-Id` when it is sane (1–128 of `A-Z a-z 0-9 . _ : -`), else a
/// new random one. It is echoed on every response, errors included, and is `request.id` in the logger metadata.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = AgentRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.xRequestID].flatMap { Self.isSane($0) ? $0 : nil } ?? Self.generate()
        context.requestID = id
        // One id per log line: ours (echoed to the client, recorded in audit records) replaces Hummingbird's own.
        context.logger[metadataKey: "hb.request.id"] = nil
        context.logger[metadataKey: "request.id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.xRequestID] = id
        return response
    }

    static func isSane(_ id: String) -> Bool {
        let utf8 = id.utf8
        return (1...128).contains(utf8.count)
            && utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 46 || $0 == 95 || $0 == 58 || $0 == 45 }
    }

    /// 128 random bits in hex.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        func padded(_ value: UInt64) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: 16 - text.utf8.count) + text
        }
        return padded(high) + padded(low)
    }
}
