//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import FoundationEssentials
import Hummingbird
import NIOCore

/// `GET /api/v1/stream`: Server-Sent Events of the status document after each collection and of the active alerts
/// when they change (``LiveStatusHub``), for dashboards and backends that would otherwise poll.
struct StreamController: Sendable {
    let hub: LiveStatusHub?

    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")

    /// The routes this controller declares; ``APIServer`` registers them.
    var routes: [Route] {
        [
            Route(.get, "/api/v1/stream", .viewer, "Server-Sent Events: the status document after each collection, active alerts when they change") {
                request, context in
                let query = try QueryParameters(request, allowed: ["max_events"])
                let maxEvents = try query.integer("max_events", in: 1...1000)
                // Any value is accepted, as EventSource clients expect: an id this process did not send resumes nothing.
                let lastEventID = request.headers[.lastEventID]
                guard let hub else { throw APIError(.serviceUnavailable, code: "stream_unavailable", message: "the live stream is not wired") }
                // A JWT's stream ends when the token expires; an API key's when a reload removed the key.
                let expiresIn = context.principal?.expiresAt.map { Duration.seconds(max(0, $0 - Date().timeIntervalSince1970)) }
                let credential = LiveStatusHub.Credential(expiresIn: expiresIn, revoked: context.credentialRevoked)
                // Brings the kept status events up to date (they are not encoded while no stream is open).
                await hub.update(catchingUp: true)
                let events: AsyncStream<LiveStatusHub.Item>
                do throws(LiveStatusHub.TooManyStreams) {
                    events = try hub.subscribe(lastEventID: lastEventID, maxEvents: maxEvents, credential: credential)
                } catch {
                    throw APIError(
                        .tooManyRequests, code: "too_many_streams",
                        message: "\(error.limit) streams are open already ([stream] max_clients); try again later", headers: [.retryAfter: "5"])
                }
                // `retry`: how long a browser's EventSource waits before it reconnects.
                return EventStream.response(opening: "retry: 3000\n: status stream\n\n", events: events, frames: { item in
                    switch item {
                    case .keepAlive: Self.keepAlive
                    case .events(let batch): batch.bytes
                    case .end(let frame): frame
                    }
                })
            }
        ]
    }
}
