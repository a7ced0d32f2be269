// x86-64 VNNI at 256 bits, for CPUs with AVX-VNNI but no AVX-512 (Intel Alder Lake and later
// client and Atom cores): AVX-512 VNNI's scheme (weights stored as `w + 128`, `128 sum x` taken
// off per row, vpdpwssd for pv) in ymm registers, with AVX2's epilogue. The kernels are compiled
// twice from x86_vnni256_body.h: with the VEX AVX-VNNI instructions, and with their EVEX AVX-512
// VL twins, which compute the same; CPUs with AVX-512 VNNI (including the machines these tests run
// on) run the second, so the body is tested wherever either exists.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "variants.h"
#include "x86_requantize256.h"

/// Rows per register tile: 6 rows x 16 outputs is 12 of the 16 ymm registers.
enum { VNNI_ROWS = 6 };

#define VNNI_TARGET __attribute__((target("avx2,avxvnni")))
#define VNNI_NAME(x) vex_##x
#define VNNI_DPBUSD _mm256_dpbusd_avx_epi32
#define VNNI_DPWSSD _mm256_dpwssd_avx_epi32
#include "x86_vnni256_body.h"
#undef VNNI_TARGET
#undef VNNI_NAME
#undef VNNI_DPBUSD
#undef VNNI_DPWSSD

#define VNNI_TARGET __attribute__((target("avx2,avx512f,avx512vl,avx512vnni")))
#define VNNI_NAME(x) evex_##x
#define VNNI_DPBUSD _mm256_dpbusd_epi32
#define VNNI_DPWSSD _mm256_dpwssd_epi32
#include "x86_vnni256_body.h"

static int vex(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avxvnni");
}

static int supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") &&
           (vex() || (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")));
}

static size_t scratch_bytes(size_t depth) { return VNNI_ROWS * lavit_round_up(depth, 4) * sizeof(int16_t); }

static void gemm(
    const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *p, size_t o_begin, size_t o_end, int8_t *y,
    size_t y_stride, void *scratch) {
    if (vex()) vex_gemm(x, rows, x_stride, p, o_begin, o_end, y, y_stride, scratch);
    else evex_gemm(x, rows, x_stride, p, o_begin, o_end, y, y_stride, scratch);
}

static void gemm16(
    const int16_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *p, size_t o_begin, size_t o_end, int8_t *y,
    size_t y_stride, void *scratch) {
    if (vex()) vex_gemm16(x, rows, x_stride, p, o_begin, o_end, y, y_stride, scratch);
    else evex_gemm16(x, rows, x_stride, p, o_begin, o_end, y, y_stride, scratch);
}

const lavit_variant_ops lavit_avxvnni_ops = {
    supported, lavit_quads_bytes, lavit_quads_lay_out, lavit_pairs_bytes, lavit_pairs_lay_out_transposed, scratch_bytes, gemm, gemm16,
};
#endif
