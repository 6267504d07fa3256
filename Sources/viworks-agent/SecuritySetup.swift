//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import AgentServer
import Logging

/// The access control and the TLS context of a configuration, as `run` uses them and `check-config` checks them.
struct SecuritySetup: Sendable {
    let access: AccessControlState
    let tls: TLSContextProvider?

    /// - Parameter logger: where the start-up warnings go (`server.allow_insecure`); nil for `check-config`.
    init(configuration: AgentConfiguration, logger: Logger?) async throws(AccessControlError) {
        let security = configuration.security
        access = AccessControlState(try await AccessControl(settings: security, listenHost: configuration.server.host))
        tls = security.tls.isEnabled ? try TLSContextProvider(settings: security.tls) : nil
        guard let logger else { return }
        let loopback = SecuritySettings.isLoopback(host: configuration.server.host)
        if !loopback, tls == nil, security.allowInsecure {
            logger.warning(
                "serving plain HTTP off loopback because server.allow_insecure = true: credentials cross the network in clear unless a TLS proxy is in front",
                metadata: ["listen": "\(configuration.server.listen)"])
        }
        let anonymous = security.anonymousRole(listenHost: configuration.server.host)
        logger.info(
            "access control",
            metadata: [
                "tls": "\(tls != nil)", "mutual_tls": "\(security.tls.clientCAFile != nil)", "api_keys": "\(security.auth.apiKeys.count)",
                "jwt": "\(security.auth.jwt.isEnabled)", "anonymous_role": "\(anonymous.map { "\($0)" } ?? "none")",
                "allowlist": "\(security.access.allow.isEmpty ? "any" : security.access.allow.joined(separator: ","))",
                "rate_limit_per_minute": "\(security.rateLimit.requestsPerMinute)",
            ])
    }

    /// Applies a reloaded configuration: new keys, allowlist and limits at once; the certificate when it is valid.
    func reload(_ configuration: AgentConfiguration, logger: Logger) async throws {
        access.replace(try await AccessControl(settings: configuration.security, listenHost: configuration.server.host))
        if configuration.security.tls.isEnabled != (tls != nil) {
            logger.notice("turning TLS on or off takes effect after a restart", metadata: ["tls.cert_file": "\(configuration.security.tls.certFile ?? "")"])
        }
        if let tls, configuration.security.tls.isEnabled {
            guard tls.reload(settings: configuration.security.tls, logger: logger) else {
                throw AccessControlError("the TLS certificate was refused; the previous one is still served")
            }
        }
    }
}
