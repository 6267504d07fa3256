//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import FoundationEssentials
public import Logging
public import NIOSSL
import Synchronization
import SwiftASN1
import X509

/// The server's current TLS context, built from `[tls]`'s PEM files and replaced on reload.
///
/// Every new connection takes the context current at its accept (``AgentChildChannel``), so a reload neither drops the
/// listener nor touches connections already open. A certificate that is expired, not valid yet, or whose key does not
/// match is refused with a log line naming the file, and the previous context stays.
public final class TLSContextProvider: Sendable {
    /// What is installed now.
    public struct Installed: Sendable {
        public var context: NIOSSLContext
        /// The leaf's `notValidAfter`.
        public var notValidAfter: Date
        /// The leaf's serial number (hex), for logs and tests.
        public var serial: String
        /// Modification time, size and inode of the files it was built from.
        var fingerprint: [FileFingerprint]
    }


    private let installed: Mutex<Installed>
    private let settings: Mutex<TLSSettings>
    private let now: @Sendable () -> Date

    /// Loads the files of `settings`.
    /// - Throws: ``AccessControlError`` naming the file and the problem: the agent refuses to start with a bad certificate.
    public init(settings: TLSSettings, now: @escaping @Sendable () -> Date = { Date() }) throws(AccessControlError) {
        self.now = now
        self.settings = Mutex(settings)
        installed = Mutex(try Self.build(settings, now: now()))
    }

    /// The context for a new connection.
    public var context: NIOSSLContext { installed.withLock { $0.context } }

    public var current: Installed { installed.withLock { $0 } }

    /// Rebuilds the context from the files (of `settings` when given, else the current ones).
    /// - Returns: whether a new context is installed; on failure the old one stays and the problem is logged.
    @discardableResult
    public func reload(settings newSettings: TLSSettings? = nil, logger: Logger) -> Bool {
        let settings = newSettings ?? self.settings.withLock { $0 }
        do {
            let next = try Self.build(settings, now: now())
            installed.withLock { $0 = next }
            self.settings.withLock { $0 = settings }
            logger.info("TLS certificate loaded", metadata: ["tls.cert_file": "\(settings.certFile ?? "")", "tls.serial": "\(next.serial)", "tls.not_valid_after": "\(next.notValidAfter)"])
            return true
        } catch {
            logger.error("TLS certificate refused, keeping the previous one", metadata: ["error": "\(error.description)"])
            return false
        }
    }

    /// Reloads when a file's modification time, size or inode changed since the installed context was built.
    @discardableResult
    public func reloadIfChanged(logger: Logger) -> Bool {
        let settings = self.settings.withLock { $0 }
        let fingerprint = Self.fingerprint(settings)
        guard fingerprint != installed.withLock({ $0.fingerprint }) else { return false }
        let loaded = reload(logger: logger)
        if !loaded {
            // Do not retry the same broken files every few seconds: remember them as seen.
            installed.withLock { $0.fingerprint = fingerprint }
        }
        return loaded
    }

    // MARK: - Building

    static func build(_ settings: TLSSettings, now: Date) throws(AccessControlError) -> Installed {
        guard let certFile = settings.certFile, let keyFile = settings.keyFile else {
            throw AccessControlError("tls.cert_file and tls.key_file must both be set")
        }
        let fingerprint = Self.fingerprint(settings)
        let certPEM: String
        let keyPEM: String
        func read(_ file: String, limit: Int = 1 << 20) throws(AccessControlError) -> String {
            do {
                return try HostFile.read(file, limit: limit)
            } catch {
                throw AccessControlError("cannot read \(file): \(error.reason)")
            }
        }
        certPEM = try read(certFile)
        keyPEM = try read(keyFile)
        // Check validity and the key pair with swift-certificates before handing the files to BoringSSL. Their errors
        // name library internals (source files, ASN.1 tags), so the user gets the file and what it should hold.
        let leaf: Certificate
        let key: Certificate.PrivateKey
        do {
            leaf = try Certificate(pemEncoded: certPEM)
        } catch {
            throw AccessControlError("\(certFile): not a PEM certificate")
        }
        do {
            key = try Certificate.PrivateKey(pemEncoded: keyPEM)
        } catch {
            throw AccessControlError("\(keyFile): not a PEM private key (P-256, P-384, P-521, Ed25519 or RSA)")
        }
        var clientCAs: [NIOSSLCertificate]?
        if let caFile = settings.clientCAFile {
            guard let certificates = PEMCertificates.parse(try read(caFile, limit: PEMCertificates.maximumFileBytes)) else {
                throw AccessControlError("\(caFile): not a PEM certificate")
            }
            clientCAs = certificates
        }
        if leaf.notValidAfter < now { throw AccessControlError("\(certFile): the certificate expired at \(leaf.notValidAfter)") }
        if leaf.notValidBefore > now { throw AccessControlError("\(certFile): the certificate is not valid before \(leaf.notValidBefore)") }
        guard key.publicKey == leaf.publicKey else {
            throw AccessControlError("\(keyFile): the private key does not match the certificate in \(certFile)")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(certPEM.utf8))
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)))
            configuration.minimumTLSVersion = .tlsv12
            if let clientCAs {
                configuration.trustRoots = .certificates(clientCAs)
                configuration.certificateVerification = .noHostnameVerification
            }
            let context = try NIOSSLContext(configuration: configuration)
            return Installed(context: context, notValidAfter: leaf.notValidAfter, serial: "\(leaf.serialNumber)", fingerprint: fingerprint)
        } catch {
            throw AccessControlError("\(certFile), \(keyFile): refused by the TLS library; check that they hold a certificate chain and its private key in PEM")
        }
    }

    static func fingerprint(_ settings: TLSSettings) -> [FileFingerprint] {
        [settings.certFile, settings.keyFile, settings.clientCAFile].compactMap { $0 }.map(HostFile.fingerprint)
    }
}
