// libFuzzer's driver, for a binary that has a `main` of its own (LLVM's LibFuzzer.rst,
// "Using libFuzzer as a library").
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
