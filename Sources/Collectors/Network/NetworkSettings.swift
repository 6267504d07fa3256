//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// `[collectors.network]`.
public struct NetworkSettings: CollectorOptions {
    /// `exclude_interfaces`: interface names not reported at all (exact names; a trailing `*` matches a prefix).
    public var excludeInterfaces: [String] = []

    public init() {}

    public static let keys: [ConfigKey<Self>] = [.strings("exclude_interfaces", \.excludeInterfaces)]
}
