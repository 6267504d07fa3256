//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
public import ServiceLifecycle

/// Watches the TLS files every `interval` and reloads the context when one changed (cert-manager, certbot and
/// acme.sh replace files in place or by rename; both change the modification time or the inode).
public struct TLSReloadService: Service {
    let provider: TLSContextProvider
    let interval: Duration
    let logger: Logger

    public init(provider: TLSContextProvider, interval: Duration, logger: Logger) {
        self.provider = provider
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            provider.reloadIfChanged(logger: logger)
        }
    }
}
