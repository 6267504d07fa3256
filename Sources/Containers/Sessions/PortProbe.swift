//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

#if canImport(Glibc)
import Glibc
#endif

/// Whether a TCP port can be listened on, asked the way the engine's port proxy will: bind a socket with
/// `SO_REUSEADDR` to the address and port, then close it.
public enum PortProbe {
    /// True when `port` on the IPv4 `address` can be bound now (no other listener holds it, on that address or on
    /// 0.0.0.0). False when it is taken or the address is not usable.
    public static func isFree(address: String, port: Int) -> Bool {
        guard let bytes = ContainerSettings.parseIPv4(address), (1...65535).contains(port) else { return false }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        withUnsafeMutableBytes(of: &socketAddress.sin_addr) { $0.copyBytes(from: bytes) }  // network byte order
        let bound = withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}
