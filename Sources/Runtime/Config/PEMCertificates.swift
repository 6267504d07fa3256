//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import NIOSSL

/// A PEM file of CA certificates (`[tls] client_ca_file`, `[outputs.postgresql] ca_file`), read as the TLS library
/// (BoringSSL) reads a CA file, so that one it would take is never refused and one it would refuse at every handshake
/// is refused when the configuration is read.
public enum PEMCertificates {
    /// The largest CA file read (the system's whole bundle is about 220 KB).
    public static let maximumFileBytes = 16 << 20

    /// The certificates of `pem`: every `CERTIFICATE` block (other blocks, such as a key, are skipped); nil when there
    /// is none or a certificate block does not decode.
    public static func parse(_ pem: String) -> [NIOSSLCertificate]? {
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)), !certificates.isEmpty else { return nil }
        return certificates
    }
}
