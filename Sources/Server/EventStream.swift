//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// Server-Sent Events responses. Every streaming route builds its response here, so that every stream ends as soon as
/// the agent shuts down gracefully.
///
/// The HTTP server's graceful shutdown closes the listener and then waits for the responses in flight; a stream that
/// only ends when its client leaves would hold the whole shutdown (and the history flush and incident close behind
/// it) until systemd's SIGKILL. Responses are written from a child task of the server's service, which carries the
/// service group's graceful-shutdown signal, so the events are read through `cancelOnGracefulShutdown()`: on shutdown
/// the loop ends, the source is cancelled (a journal follower stops its thread), a last comment tells the client why,
/// and the response ends cleanly.
enum EventStream {
    /// The headers of every event stream.
    static var headers: HTTPFields { [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"] }

    /// The comment written before the stream ends because the agent stops.
    static let shutdownComment = ": the agent is shutting down\n\n"

    /// A 200 response that writes `opening`, then `render(event)` for every event of `events` (nil writes nothing),
    /// until `events` ends, the client leaves (a write fails) or the agent shuts down gracefully.
    static func response<Events: AsyncSequence & Sendable>(
        opening: String, events: Events, render: @escaping @Sendable (Events.Element) throws -> String?
    ) -> Response where Events.Element: Sendable {
        response(opening: opening, events: events, frames: { event in try render(event).map { ByteBuffer(string: $0) } })
    }

    /// A 200 response that writes `opening`, then the bytes `frames(event)` gives for every event of `events` (nil
    /// writes nothing; bytes shared by many streams are written without a copy), until `events` ends, the client leaves
    /// or the agent shuts down gracefully.
    static func response<Events: AsyncSequence & Sendable>(
        opening: String, events: Events, frames render: @escaping @Sendable (Events.Element) throws -> ByteBuffer?
    ) -> Response where Events.Element: Sendable {
        Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: opening))
                for try await event in events.cancelOnGracefulShutdown() {
                    if let bytes = try render(event) { try await writer.write(bytes) }
                }
                if Task.isShuttingDownGracefully { try await writer.write(ByteBuffer(string: shutdownComment)) }
                try await writer.finish(nil)
            })
    }
}
