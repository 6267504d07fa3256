//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import HTTPTypes
public import Hummingbird
import Logging
import Synchronization

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

    /// 128 random bits in hex: 32 lowercase hex digits.
    static func generate() -> String {
        let (high, low) = randomBits.withLock { $0.next128() }
        return hex(high, low)
    }

    /// `high` then `low`, 16 lowercase hex digits each.
    static func hex(_ high: UInt64, _ low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 32) { buffer in
            for digit in 0..<32 {
                let value = digit < 16 ? high : low
                let nibble = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * (digit % 16))) & 0xF
                buffer[digit] = nibble < 10 ? 48 + nibble : 87 + nibble
            }
            return 32
        }
    }

    private static let randomBits = Mutex(RandomBits())
}

/// The kernel's random numbers read 4 KiB at a time from `/dev/urandom` (the source `SystemRandomNumberGenerator` draws
/// 8 bytes from per `getrandom` call), so that a request id costs no system call of its own; each word is used once.
/// Where `/dev/urandom` cannot be read, the words come from `SystemRandomNumberGenerator`.
struct RandomBits {
    private var words: [UInt64] = []
    private var used = 0

    mutating func next128() -> (UInt64, UInt64) {
        if used + 2 > words.count {
            // `/dev/urandom` has no end: a read of the limit fills it.
            let bytes = (try? HostFile.readBytes("/dev/urandom", limit: 512 * 8)) ?? []
            var generator = SystemRandomNumberGenerator()
            words = (0..<512).map { index in
                index * 8 + 8 <= bytes.count
                    ? bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) } : generator.next()
            }
            used = 0
        }
        defer { used += 2 }
        return (words[used], words[used + 1])
    }
}
