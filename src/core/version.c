/* The library's version, fixed when the library was built: a program compiled against other
 * headers can tell the two apart (NNC_VERSION_STRING is the headers'). */
#include "nnc.h"
#include "../backend/cpu/gemm_simd.h"

const char *nnc_version(void) { return NNC_VERSION_STRING; }
const char *nnc_cpu_kernels(void) { return nnc_kernels_chosen(); }
