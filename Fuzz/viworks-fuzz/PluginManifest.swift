//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentPlugins
import AgentRuntime

/// Plugin manifests (plugins.d/*.toml) as text. Invariant: a refused manifest names at least one problem, each in the
/// manifest's file.
struct PluginManifestTarget: FuzzTarget {
    let loader = PluginManifestLoader()

    func run(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        switch loader.parse(text: text, file: "fuzz.toml") {
        case .success:
            break
        case .failure(let error):
            if error.issues.isEmpty { fatalError("a manifest was refused without a problem") }
            for issue in error.issues where issue.source != "fuzz.toml" {
                fatalError("a problem of fuzz.toml names \(issue.source)")
            }
        }
    }
}
