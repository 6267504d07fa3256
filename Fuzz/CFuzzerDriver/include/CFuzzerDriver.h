// libFuzzer's driver, called from viworks-fuzz's own entry point (compiler-rt/lib/fuzzer/FuzzerInterface.h).
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer with the command line `argc`/`argv` on `callback`; returns the process exit status.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
