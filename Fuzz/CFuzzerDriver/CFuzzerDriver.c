//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#include "CFuzzerDriver.h"

/// LeakSanitizer's built-in suppressions for viworks-fuzz (docs/fuzzing.md, "Findings"). TOMLKit 0.6.0 never frees
/// what its C++ side allocates: the parsed toml::table (TOMLTable has no deinit), the error record of every parse and
/// its strdup'd description, the key arrays of `keys` and the strings of `string`; every configuration load and
/// manifest parse leaks them. Only frames of TOMLKit and its CTOML module are matched: any other leak still fails.
const char *__lsan_default_suppressions(void) {
    return "leak:TOMLKit\nleak:CTOML\n";
}
