//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import SwiftASN1
import X509

/// A PEM file of CA certificates (`[tls] client_ca_file`, `[outputs.postgresql] ca_file`), checked when the
/// configuration is read: the TLS library would otherwise take any file and fail at every handshake.
public enum PEMCertificates {
    /// How many certificates `pem` holds; nil when it holds none, a block that is not a certificate (a private key),
    /// or a certificate that does not parse.
    public static func count(_ pem: String) -> Int? {
        guard let documents = try? PEMDocument.parseMultiple(pemString: pem), !documents.isEmpty,
            (try? documents.map({ try Certificate(pemDocument: $0) })) != nil
        else { return nil }
        return documents.count
    }
}
