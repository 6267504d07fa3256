//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import NIOCore
import Synchronization

/// Encoded poll responses, made once per state change and shared by every client until the next one.
///
/// The key is the snapshot version (bumped by every collection) together with a fingerprint of the
/// supervisor's state (restarts and failures change what `/api/v1/status` says without a collection).
final class ResponseCache: Sendable {
    struct Key: Hashable, Sendable {
        var version: UInt64
        var fingerprint: Int
    }

    struct Entry: Sendable {
        var key: Key
        var body: ByteBuffer
        /// A strong validator: `"<generation>-<version>-<fingerprint>"` in hex; equal for byte-identical bodies of one route.
        var etag: String
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Distinguishes agent processes (their start time), so a client polling across a restart never gets a false 304.
    private let generation: String

    init(generation: UInt64) {
        self.generation = String(generation, radix: 16)
    }

    /// The cached body of `route` for `key`, encoding it with `make` on a miss.
    func entry(_ route: String, key: Key, make: () async throws -> ByteBuffer) async rethrows -> Entry {
        if let hit = entries.withLock({ $0[route] }), hit.key == key { return hit }
        let body = try await make()
        let etag = "\"\(generation)-\(String(key.version, radix: 16))-\(String(UInt(bitPattern: key.fingerprint), radix: 16))\""
        let entry = Entry(key: key, body: body, etag: etag)
        entries.withLock { $0[route] = entry }
        return entry
    }
}
