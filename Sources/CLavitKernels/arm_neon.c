// AArch64 variants: plain NEON (`lavit_neon_ops`) and NEON with the dot-product extension
// (`lavit_neon_dot_ops`). Compiled for plain armv8-a; the sdot code sits behind per-function target
// attributes and runs only where the CPU reports the extension.
//
// Exactness. Every product of two int8 codes (at most 128 * 128 = 2^14) is formed exactly in an
// int16 lane by `smull` and added into int32 by `sadalp` one product per lane, so weights of -128
// are exact too (pairing two products in int16, as `smlal` would, overflows on 2 * 2^14). `sdot`
// and the int16 `smlal` of pv widen to int32 exactly. The int32 accumulators may wrap mid-sum:
// the header's bound |sum w x + b| < 2^31 (and, for pv, keys < 512) makes the final int32 value
// exact. The epilogue is the scalar `sat8(z + RS(acc * m, s))` in int64: `smull` for acc * m
// (m in [0, 2^31)), `srshl` by -s for RS (it adds 2^(s-1) before the arithmetic shift, in wider
// precision than int64, so it equals RS wherever RS itself is defined), z added in int64, then
// saturating narrowing to int32, int16 and int8, which equals one clamp to [-128, 127].
//
// Tiles: 4 rows x one block of 16 outputs. Rows beyond the last repeat the last row (computed,
// never stored); outputs beyond `o_end` are computed from zero padding and never stored. Depth is
// walked in chunks of 16 int8 (8 int16) read in place; the final partial chunk of each row is
// copied into zeroed scratch, so no row is read past its `depth` elements.
#if defined(__aarch64__)

#include <arm_neon.h>
#include <string.h>

#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#include "variants.h"

#if defined(__clang__)
#define LAVIT_DOTPROD __attribute__((target("dotprod")))
#else
#define LAVIT_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif
#define LAVIT_INLINE static inline __attribute__((always_inline))

enum { ROWS = 4, CHUNK8 = 16, CHUNK16 = 8 };

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

// ---------------------------------------------------------------------------------------------
// Epilogue, shared by every kernel here: one block of 16 outputs.

typedef struct {
    int32x4_t bias[4];
    int32x4_t multiplier[4];
    int64x2_t negative_shift[8];  // -s per output, as the int64 lanes of the two halves of a quad
    int64x2_t zero_point;
} block_epilogue;

LAVIT_INLINE void epilogue_load(block_epilogue *e, const lavit_gemm_plan *plan, size_t o) {
    for (int q = 0; q < 4; q++) {
        e->bias[q] = vld1q_s32(plan->bias + o + 4 * q);
        e->multiplier[q] = plan->multiplier != NULL ? vld1q_s32(plan->multiplier + o + 4 * q)
                                                    : vdupq_n_s32((int32_t)plan->multiplier_uniform);
        int32x4_t s = plan->shift != NULL ? vld1q_s32(plan->shift + o + 4 * q) : vdupq_n_s32((int32_t)plan->shift_uniform);
        s = vnegq_s32(s);
        e->negative_shift[2 * q] = vmovl_s32(vget_low_s32(s));
        e->negative_shift[2 * q + 1] = vmovl_high_s32(s);
    }
    e->zero_point = vdupq_n_s64(plan->zero_point);
}

/// `sat8(z + RS((acc + b) * m, s))` for outputs 4q..4q+3 of the block, q = 0..3.
LAVIT_INLINE int8x16_t requantize16(const int32x4_t acc[4], const block_epilogue *e) {
    int32x4_t r[4];
    for (int q = 0; q < 4; q++) {
        int32x4_t a = vaddq_s32(acc[q], e->bias[q]);  // wraps only where the sum is exact anyway
        int64x2_t lo = vmull_s32(vget_low_s32(a), vget_low_s32(e->multiplier[q]));
        int64x2_t hi = vmull_high_s32(a, e->multiplier[q]);
        lo = vaddq_s64(vrshlq_s64(lo, e->negative_shift[2 * q]), e->zero_point);
        hi = vaddq_s64(vrshlq_s64(hi, e->negative_shift[2 * q + 1]), e->zero_point);
        r[q] = vcombine_s32(vqmovn_s64(lo), vqmovn_s64(hi));
    }
    int16x8_t h0 = vcombine_s16(vqmovn_s32(r[0]), vqmovn_s32(r[1]));
    int16x8_t h1 = vcombine_s16(vqmovn_s32(r[2]), vqmovn_s32(r[3]));
    return vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1));
}

/// Stores the first `count` of 16 outputs.
LAVIT_INLINE void store16(int8_t *y, int8x16_t v, size_t count) {
    if (count == 16) {
        vst1q_s8(y, v);
    } else {
        int8_t lanes[16];
        vst1q_s8(lanes, v);
        memcpy(y, lanes, count);
    }
}

// ---------------------------------------------------------------------------------------------
// int8 GEMM driver: blocks of 16 outputs outside (their weights stay in L1), tiles of 4 rows
// inside. `tile` fills acc[r][q] with the int32 sums of outputs 4q..4q+3 for row r.

typedef void tile8_fn(
    const int8_t *const x[ROWS], size_t chunks, const int8_t *const tail[ROWS], const int8_t *block, size_t k16,
    size_t count, int32x4_t acc[ROWS][4]);

LAVIT_INLINE void gemm8_driver(
    const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch, tile8_fn *tile) {
    const size_t depth = plan->depth, k16 = lavit_round_up(depth, CHUNK8);
    const size_t chunks = depth / CHUNK8, rest = depth % CHUNK8;
    int8_t *tails = scratch;
    for (size_t o = o_begin; o < o_end; o += LAVIT_BLOCK) {
        const size_t count = min_size(LAVIT_BLOCK, o_end - o);
        const int8_t *block = (const int8_t *)plan->weights + o * k16;
        block_epilogue e;
        epilogue_load(&e, plan, o);
        for (size_t n = 0; n < rows; n += ROWS) {
            const size_t live = min_size(ROWS, rows - n);
            const int8_t *xr[ROWS], *tr[ROWS];
            for (int r = 0; r < ROWS; r++) {
                xr[r] = x + (n + min_size((size_t)r, live - 1)) * x_stride;
                tr[r] = tails + r * CHUNK8;
                if (rest != 0) {
                    memset(tails + r * CHUNK8, 0, CHUNK8);
                    memcpy(tails + r * CHUNK8, xr[r] + chunks * CHUNK8, rest);
                }
            }
            int32x4_t acc[ROWS][4];
            tile(xr, chunks, rest != 0 ? tr : NULL, block, k16, count, acc);
            for (size_t r = 0; r < live; r++) store16(y + (n + r) * y_stride + o, requantize16(acc[r], &e), count);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plain NEON int8: smull / smull2 + sadalp.
//
// Layout: per block of 16 outputs, per quad q of 4 outputs, per chunk c of 16 depth:
// 4 outputs x 16 codes (64 bytes), zero-padded in depth and outputs. A quad's weights are
// contiguous (4 * k16 bytes), a block's too (16 * k16).

static size_t neon_weight_bytes(size_t outputs, size_t depth) {
    return lavit_round_up(outputs, LAVIT_BLOCK) * lavit_round_up(depth, CHUNK8);
}

static void neon_lay_out(const int8_t *w, size_t w_stride, size_t outputs, size_t depth, void *weights) {
    const size_t blocks = lavit_round_up(outputs, LAVIT_BLOCK) / LAVIT_BLOCK, k16 = lavit_round_up(depth, CHUNK8);
    int8_t *dst = weights;
    for (size_t b = 0; b < blocks; b++)
        for (size_t q = 0; q < 4; q++)
            for (size_t c = 0; c < k16; c += CHUNK8)
                for (size_t j = 0; j < 4; j++)
                    for (size_t t = 0; t < CHUNK8; t++) {
                        size_t o = b * LAVIT_BLOCK + q * 4 + j, k = c + t;
                        *dst++ = o < outputs && k < depth ? w[o * w_stride + k] : 0;
                    }
}

LAVIT_INLINE void neon_step(int32x4_t a[ROWS][4], const int8_t *const x[ROWS], size_t offset, const int8_t *w) {
    int8x16_t xv[ROWS], wv[4];
    for (int r = 0; r < ROWS; r++) xv[r] = vld1q_s8(x[r] + offset);
    for (int j = 0; j < 4; j++) wv[j] = vld1q_s8(w + 16 * j);
    for (int r = 0; r < ROWS; r++)
        for (int j = 0; j < 4; j++) {
            a[r][j] = vpadalq_s16(a[r][j], vmull_s8(vget_low_s8(xv[r]), vget_low_s8(wv[j])));
            a[r][j] = vpadalq_s16(a[r][j], vmull_high_s8(xv[r], wv[j]));
        }
}

LAVIT_INLINE void neon_tile(
    const int8_t *const x[ROWS], size_t chunks, const int8_t *const tail[ROWS], const int8_t *block, size_t k16,
    size_t count, int32x4_t acc[ROWS][4]) {
    for (size_t q = 0; q < 4; q++) {
        if (4 * q >= count) {  // quads past o_end: never stored
            for (int r = 0; r < ROWS; r++) acc[r][q] = vdupq_n_s32(0);
            continue;
        }
        const int8_t *w = block + q * 4 * k16;
        int32x4_t a[ROWS][4];
        for (int r = 0; r < ROWS; r++)
            for (int j = 0; j < 4; j++) a[r][j] = vdupq_n_s32(0);
        for (size_t c = 0; c < chunks; c++) neon_step(a, x, c * CHUNK8, w + c * 64);
        if (tail != NULL) neon_step(a, tail, 0, w + chunks * 64);
        for (int r = 0; r < ROWS; r++)
            acc[r][q] = vpaddq_s32(vpaddq_s32(a[r][0], a[r][1]), vpaddq_s32(a[r][2], a[r][3]));
    }
}

static void neon_gemm(
    const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    gemm8_driver(x, rows, x_stride, plan, o_begin, o_end, y, y_stride, scratch, neon_tile);
}

// ---------------------------------------------------------------------------------------------
// NEON dot product int8: sdot by element.
//
// Layout: per block of 16 outputs, per group g of 4 depth: 16 outputs x 4 codes (64 bytes), so a
// chunk of 16 depth is 256 contiguous bytes: for each of its 4 groups, 4 registers of 4 outputs x
// 4 codes, multiplied by the matching 4 codes of a row (`sdot` lane).

static size_t dot_weight_bytes(size_t outputs, size_t depth) {
    return lavit_round_up(outputs, LAVIT_BLOCK) * lavit_round_up(depth, CHUNK8);
}

static void dot_lay_out(const int8_t *w, size_t w_stride, size_t outputs, size_t depth, void *weights) {
    const size_t blocks = lavit_round_up(outputs, LAVIT_BLOCK) / LAVIT_BLOCK, k16 = lavit_round_up(depth, CHUNK8);
    int8_t *dst = weights;
    for (size_t b = 0; b < blocks; b++)
        for (size_t g = 0; g < k16; g += 4)
            for (size_t j = 0; j < LAVIT_BLOCK; j++)
                for (size_t t = 0; t < 4; t++) {
                    size_t o = b * LAVIT_BLOCK + j, k = g + t;
                    *dst++ = o < outputs && k < depth ? w[o * w_stride + k] : 0;
                }
}

#define LAVIT_DOT_GROUP(l)                                                                   \
    do {                                                                                     \
        int8x16_t w0 = vld1q_s8(w + 64 * (l)), w1 = vld1q_s8(w + 64 * (l) + 16);              \
        int8x16_t w2 = vld1q_s8(w + 64 * (l) + 32), w3 = vld1q_s8(w + 64 * (l) + 48);         \
        for (int r = 0; r < ROWS; r++) {                                                     \
            a[r][0] = vdotq_laneq_s32(a[r][0], w0, xv[r], l);                                \
            a[r][1] = vdotq_laneq_s32(a[r][1], w1, xv[r], l);                                \
            a[r][2] = vdotq_laneq_s32(a[r][2], w2, xv[r], l);                                \
            a[r][3] = vdotq_laneq_s32(a[r][3], w3, xv[r], l);                                \
        }                                                                                    \
    } while (0)

LAVIT_DOTPROD LAVIT_INLINE void dot_step(int32x4_t a[ROWS][4], const int8_t *const x[ROWS], size_t offset, const int8_t *w) {
    int8x16_t xv[ROWS];
    for (int r = 0; r < ROWS; r++) xv[r] = vld1q_s8(x[r] + offset);
    LAVIT_DOT_GROUP(0);
    LAVIT_DOT_GROUP(1);
    LAVIT_DOT_GROUP(2);
    LAVIT_DOT_GROUP(3);
}

LAVIT_DOTPROD LAVIT_INLINE void dot_tile(
    const int8_t *const x[ROWS], size_t chunks, const int8_t *const tail[ROWS], const int8_t *block, size_t k16,
    size_t count, int32x4_t acc[ROWS][4]) {
    (void)k16;
    (void)count;
    int32x4_t a[ROWS][4];
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < 4; q++) a[r][q] = vdupq_n_s32(0);
    for (size_t c = 0; c < chunks; c++) dot_step(a, x, c * CHUNK8, block + c * 256);
    if (tail != NULL) dot_step(a, tail, 0, block + chunks * 256);
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = a[r][q];
}

LAVIT_DOTPROD static void dot_gemm(
    const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    gemm8_driver(x, rows, x_stride, plan, o_begin, o_end, y, y_stride, scratch, dot_tile);
}

// ---------------------------------------------------------------------------------------------
// int16 x int8 GEMM (pv), both variants: smlal by element.
//
// Layout: int16, per block of 16 outputs, per depth k (keys, padded to 8): the 16 outputs' values,
// read from the transposed `v[k * v_stride + o]` and widened once here.

static size_t weight16_bytes(size_t outputs, size_t depth) {
    return lavit_round_up(outputs, LAVIT_BLOCK) * lavit_round_up(depth, CHUNK16) * sizeof(int16_t);
}

static void lay_out16_transposed(const int8_t *v, size_t v_stride, size_t outputs, size_t depth, void *weights) {
    const size_t blocks = lavit_round_up(outputs, LAVIT_BLOCK) / LAVIT_BLOCK, k8 = lavit_round_up(depth, CHUNK16);
    int16_t *dst = weights;
    for (size_t b = 0; b < blocks; b++)
        for (size_t k = 0; k < k8; k++)
            for (size_t j = 0; j < LAVIT_BLOCK; j++) {
                size_t o = b * LAVIT_BLOCK + j;
                *dst++ = o < outputs && k < depth ? v[k * v_stride + o] : 0;
            }
}

#define LAVIT_PV_LANE(l)                                                                     \
    do {                                                                                     \
        int16x8_t w0 = vld1q_s16(w + 16 * (l)), w1 = vld1q_s16(w + 16 * (l) + 8);             \
        for (int r = 0; r < ROWS; r++) {                                                     \
            a[r][0] = vmlal_laneq_s16(a[r][0], vget_low_s16(w0), xv[r], l);                  \
            a[r][1] = vmlal_high_laneq_s16(a[r][1], w0, xv[r], l);                           \
            a[r][2] = vmlal_laneq_s16(a[r][2], vget_low_s16(w1), xv[r], l);                  \
            a[r][3] = vmlal_high_laneq_s16(a[r][3], w1, xv[r], l);                           \
        }                                                                                    \
    } while (0)

LAVIT_INLINE void pv_step(int32x4_t a[ROWS][4], const int16_t *const x[ROWS], size_t offset, const int16_t *w) {
    int16x8_t xv[ROWS];
    for (int r = 0; r < ROWS; r++) xv[r] = vld1q_s16(x[r] + offset);
    LAVIT_PV_LANE(0);
    LAVIT_PV_LANE(1);
    LAVIT_PV_LANE(2);
    LAVIT_PV_LANE(3);
    LAVIT_PV_LANE(4);
    LAVIT_PV_LANE(5);
    LAVIT_PV_LANE(6);
    LAVIT_PV_LANE(7);
}

static void gemm16(
    const int16_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    const size_t depth = plan->depth, k8 = lavit_round_up(depth, CHUNK16);
    const size_t chunks = depth / CHUNK16, rest = depth % CHUNK16;
    int16_t *tails = scratch;
    for (size_t o = o_begin; o < o_end; o += LAVIT_BLOCK) {
        const size_t count = min_size(LAVIT_BLOCK, o_end - o);
        const int16_t *block = (const int16_t *)plan->weights + o * k8;
        block_epilogue e;
        epilogue_load(&e, plan, o);
        for (size_t n = 0; n < rows; n += ROWS) {
            const size_t live = min_size(ROWS, rows - n);
            const int16_t *xr[ROWS], *tr[ROWS];
            for (int r = 0; r < ROWS; r++) {
                xr[r] = x + (n + min_size((size_t)r, live - 1)) * x_stride;
                tr[r] = tails + r * CHUNK16;
                if (rest != 0) {
                    memset(tails + r * CHUNK16, 0, CHUNK16 * sizeof(int16_t));
                    memcpy(tails + r * CHUNK16, xr[r] + chunks * CHUNK16, rest * sizeof(int16_t));
                }
            }
            int32x4_t a[ROWS][4];
            for (int r = 0; r < ROWS; r++)
                for (int q = 0; q < 4; q++) a[r][q] = vdupq_n_s32(0);
            for (size_t c = 0; c < chunks; c++) pv_step(a, xr, c * CHUNK16, block + c * CHUNK16 * LAVIT_BLOCK);
            if (rest != 0) pv_step(a, tr, 0, block + chunks * CHUNK16 * LAVIT_BLOCK);
            for (size_t r = 0; r < live; r++) store16(y + (n + r) * y_stride + o, requantize16(a[r], &e), count);
        }
    }
}

// ---------------------------------------------------------------------------------------------

static size_t scratch_bytes(size_t depth) {
    (void)depth;
    size_t tails8 = ROWS * CHUNK8, tails16 = ROWS * CHUNK16 * sizeof(int16_t);
    return tails8 > tails16 ? tails8 : tails16;
}

static int neon_supported(void) { return 1; }

static int dot_supported(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, NULL, 0) == 0 && value != 0;
#else
    return 0;
#endif
}

const lavit_variant_ops lavit_neon_ops = {
    .supported = neon_supported,
    .weight_bytes = neon_weight_bytes,
    .lay_out = neon_lay_out,
    .weight16_bytes = weight16_bytes,
    .lay_out16_transposed = lay_out16_transposed,
    .scratch_bytes = scratch_bytes,
    .gemm = neon_gemm,
    .gemm16 = gemm16,
};

const lavit_variant_ops lavit_neon_dot_ops = {
    .supported = dot_supported,
    .weight_bytes = dot_weight_bytes,
    .lay_out = dot_lay_out,
    .weight16_bytes = weight16_bytes,
    .lay_out16_transposed = lay_out16_transposed,
    .scratch_bytes = scratch_bytes,
    .gemm = dot_gemm,
    .gemm16 = gemm16,
};

#endif
