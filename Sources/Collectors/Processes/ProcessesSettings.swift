//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// `[collectors.processes]`.
public struct ProcessesSettings: CollectorOptions {
    /// `top`: how many processes `GET /api/v1/processes` lists by CPU and by memory.
    public var top: Int = 10

    public init() {}

    public static let keys: [ConfigKey<Self>] = [.int("top", \.top, in: 1...100)]
}
