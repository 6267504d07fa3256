//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import NIOCore
import NIOPosix

/// Answers every name with `::1` (AAAA) and `127.0.0.1` (A), as /etc/hosts does for `localhost` on most hosts.
struct LoopbackResolver: Resolver, Sendable {
    let loop: any EventLoop

    func initiateAQuery(host: String, port: Int) -> EventLoopFuture<[SocketAddress]> {
        loop.makeCompletedFuture { [try SocketAddress(ipAddress: "127.0.0.1", port: port)] }
    }

    func initiateAAAAQuery(host: String, port: Int) -> EventLoopFuture<[SocketAddress]> {
        loop.makeCompletedFuture { [try SocketAddress(ipAddress: "::1", port: port)] }
    }

    func cancelQueries() {}
}
