// x86-64 AVX2: operands widened to int16 and multiplied in pairs with vpmaddwd, which is exact for
// any int8 weights (vpmaddubsw would saturate: ../shared/KERNEL-FACTS.md). Weights are stored as
// int16 pairs at load, the same layout as pv's values; each tile of activation rows is widened
// once into scratch.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "variants.h"
#include "x86_requantize256.h"

#define TARGET __attribute__((target("avx2")))

/// Rows per register tile: 6 rows x 16 outputs is 12 of the 16 ymm registers.
enum { ROWS = 6 };

static int supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

/// One row tile (x86_tiles.h).
static size_t scratch_bytes(size_t depth) { return ROWS * lavit_round_up(depth, 2) * sizeof(int16_t); }

/// `R` widened rows (`xc`, row stride `stride` int16) times output blocks [o_begin, o_end).
INLINE TARGET void tile(
    int R, const int16_t *xc, size_t stride, size_t steps, const lavit_gemm_plan *p, size_t o_begin,
    size_t o_end, int8_t *y, size_t y_stride) {
    const size_t block_bytes = steps * 64;
    for (size_t o = o_begin; o < o_end; o += LAVIT_BLOCK) {
        const char *w = (const char *)p->weights + (o / LAVIT_BLOCK) * block_bytes;
        __m256i a[ROWS][2];
        for (int i = 0; i < R; i++) a[i][0] = a[i][1] = _mm256_setzero_si256();
        for (size_t g = 0; g < steps; g++) {
            __m256i v0 = _mm256_loadu_si256((const __m256i *)(w + g * 64));
            __m256i v1 = _mm256_loadu_si256((const __m256i *)(w + g * 64 + 32));
            for (int i = 0; i < R; i++) {
                __m256i xb = _mm256_set1_epi32(load32(xc + i * stride + g * 2));
                a[i][0] = _mm256_add_epi32(a[i][0], _mm256_madd_epi16(xb, v0));
                a[i][1] = _mm256_add_epi32(a[i][1], _mm256_madd_epi16(xb, v1));
            }
        }
        const epilogue e = load_epilogue(p, o);
        for (int i = 0; i < R; i++) requantize_store(a[i][0], a[i][1], &e, y + i * y_stride + o, o_end - o);
    }
}

TARGET static void tiles(
    size_t r, const int16_t *xc, size_t stride, size_t steps, const lavit_gemm_plan *p, size_t o_begin,
    size_t o_end, int8_t *y, size_t y_stride) {
    switch (r) {
    case 1: tile(1, xc, stride, steps, p, o_begin, o_end, y, y_stride); break;
    case 2: tile(2, xc, stride, steps, p, o_begin, o_end, y, y_stride); break;
    case 3: tile(3, xc, stride, steps, p, o_begin, o_end, y, y_stride); break;
    case 4: tile(4, xc, stride, steps, p, o_begin, o_end, y, y_stride); break;
    case 5: tile(5, xc, stride, steps, p, o_begin, o_end, y, y_stride); break;
    default: tile(6, xc, stride, steps, p, o_begin, o_end, y, y_stride); break;
    }
}

TARGET static void gemm(
    const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *p, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    const size_t steps = (p->depth + 1) / 2, stride = steps * 2;
    int16_t *xc = scratch;
    for (size_t n = 0; n < rows; n += ROWS) {
        const size_t r = rows - n < ROWS ? rows - n : ROWS;
        lavit_tile_pairs(x + n * x_stride, r, x_stride, p->depth, xc);
        tiles(r, xc, stride, steps, p, o_begin, o_end, y + n * y_stride, y_stride);
    }
}

TARGET static void gemm16(
    const int16_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *p, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    const size_t steps = (p->depth + 1) / 2, stride = steps * 2;
    int16_t *xc = scratch;
    for (size_t n = 0; n < rows; n += ROWS) {
        const size_t r = rows - n < ROWS ? rows - n : ROWS;
        lavit_tile_pairs16(x + n * x_stride, r, x_stride, p->depth, xc);
        tiles(r, xc, stride, steps, p, o_begin, o_end, y + n * y_stride, y_stride);
    }
}

const lavit_variant_ops lavit_avx2_ops = {
    supported, lavit_pairs_bytes, lavit_pairs_lay_out, lavit_pairs_bytes, lavit_pairs_lay_out_transposed, scratch_bytes, gemm, gemm16,
};
#endif
