//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// A collector's own section of `system_info` in `/api/v1/status`, `/api/v1/system` and `collect`: the value it
/// publishes as ``CollectorReport/section(_:)``, kept by ``AgentSnapshot`` under ``key`` and encoded as it is.
///
/// A collector that declares its section (``CollectorDescriptor/sectionKey``) gets the key `system_info.<key>`
/// in every response, `null` until its first report, without a line of the snapshot or the server knowing its type.
/// Its encoding follows the API's contract: every key present, `null` when unknown (``JSONObject`` writes that).
public protocol SystemInfoSection: Encodable, Sendable {
    /// The key under `system_info`: part of the API, never renamed.
    static var key: String { get }
}
