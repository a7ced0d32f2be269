// x86-64 AVX-512 VNNI: vpdpbusd multiplies unsigned by signed bytes, so weights are stored as
// `w + 128` (u8, in [1, 255] for weights in [-127, 127] and [0, 255] for qk's keys) and the extra
// `128 * sum_k x[n, k]` is taken off per row. Every int32 sum wraps modulo 2^32 and the caller's
// bound keeps the true total within int32, so the result is exact. pv's int16 GEMM uses vpdpwssd.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "x86_tiles.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define INLINE static inline __attribute__((always_inline))

/// Rows per register tile: 8 rows x 2 blocks of 16 outputs is 16 of the 32 zmm accumulators.
enum { ROWS = 8 };

static int supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

/// One row tile (x86_tiles.h), int16 rows being the larger.
static size_t scratch_bytes(size_t depth) { return ROWS * lavit_round_up(depth, 4) * sizeof(int16_t); }

/// One block's requantization constants, loaded once for all the rows of a tile: even and odd
/// outputs sit in the low halves of int64 lanes, each with its shift and `2^(s-1)`. When every
/// shift is at least 33 (the usual case: multipliers are normalised to [2^30, 2^31)), RS needs
/// only the high halves of the products: for s >= 33,
/// `(P + 2^(s-1)) >> s == (hi32(P) + 2^(s-33)) >> (s - 32)` exactly, in int32 lanes.
typedef struct {
    __m512i bias, m_even, m_odd, s_even, s_odd, round_even, round_odd, s_high, round_high, zero_point32;
    __m128i zero_point;
    int high;
} epilogue;

INLINE TARGET epilogue load_epilogue(const lavit_gemm_plan *p, size_t o) {
    const __m512i low = _mm512_set1_epi64(0xffffffff), one = _mm512_set1_epi64(1);
    __m512i m = p->multiplier ? _mm512_loadu_si512(p->multiplier + o) : _mm512_set1_epi32((int32_t)p->multiplier_uniform);
    __m512i s = p->shift ? _mm512_loadu_si512(p->shift + o) : _mm512_set1_epi32((int32_t)p->shift_uniform);
    epilogue e;
    e.bias = _mm512_loadu_si512(p->bias + o);
    e.m_even = m;
    e.m_odd = _mm512_srli_epi64(m, 32);
    e.s_even = _mm512_and_si512(s, low);
    e.s_odd = _mm512_srli_epi64(s, 32);
    e.round_even = _mm512_sllv_epi64(one, _mm512_sub_epi64(e.s_even, one));
    e.round_odd = _mm512_sllv_epi64(one, _mm512_sub_epi64(e.s_odd, one));
    e.zero_point = _mm_set1_epi16((int16_t)p->zero_point);
    const __m512i thirty_two = _mm512_set1_epi32(32), one32 = _mm512_set1_epi32(1);
    e.s_high = _mm512_sub_epi32(s, thirty_two);
    e.round_high = _mm512_sllv_epi32(one32, _mm512_sub_epi32(e.s_high, one32));
    e.zero_point32 = _mm512_set1_epi32(p->zero_point);
    e.high = _mm512_cmpgt_epi32_mask(s, thirty_two) == 0xffff;
    return e;
}

/// `sat8(z + RS((acc + b) m, s))` for a block of 16 outputs. Each int64 narrows to int16 with
/// saturation, and the zero point is added with int16 saturation: anything that saturated there
/// is far outside int8 either way, so the result is the same as in int64.
INLINE TARGET __m128i requantize(__m512i acc, const epilogue *e) {
    acc = _mm512_add_epi32(acc, e->bias);
    if (e->high) {
        __m512i pe = _mm512_mul_epi32(acc, e->m_even);
        __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), e->m_odd);
        __m512i high = _mm512_mask_blend_epi32(0xaaaa, _mm512_srli_epi64(pe, 32), po);
        __m512i r = _mm512_srav_epi32(_mm512_add_epi32(high, e->round_high), e->s_high);
        return _mm512_cvtsepi32_epi8(_mm512_add_epi32(r, e->zero_point32));
    }
    __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(acc, e->m_even), e->round_even);
    __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), e->m_odd), e->round_odd);
    __m128i even = _mm512_cvtsepi64_epi16(_mm512_srav_epi64(pe, e->s_even));
    __m128i odd = _mm512_cvtsepi64_epi16(_mm512_srav_epi64(po, e->s_odd));
    __m128i first = _mm_adds_epi16(_mm_unpacklo_epi16(even, odd), e->zero_point);
    __m128i second = _mm_adds_epi16(_mm_unpackhi_epi16(even, odd), e->zero_point);
    return _mm_packs_epi16(first, second);
}

INLINE TARGET void store(int8_t *y, __m128i v, size_t count) {
    if (count >= LAVIT_BLOCK) _mm_storeu_si128((__m128i *)y, v);
    else _mm_mask_storeu_epi8(y, (__mmask16)((1u << count) - 1), v);
}

/// `R` rows of `x` (copied to `xc`, row stride `stride` bytes) times output blocks [o_begin,
/// o_end), two blocks at a time. `wide` selects vpdpwssd on int16 rows; otherwise vpdpbusd.
INLINE TARGET void tile(
    int R, int wide, const void *xc, size_t stride, size_t steps, const int32_t *correction,
    const lavit_gemm_plan *p, size_t o_begin, size_t o_end, int8_t *y, size_t y_stride) {
    const size_t block_bytes = steps * 64;
    const char *weights = p->weights;
    for (size_t o = o_begin; o < o_end; o += 2 * LAVIT_BLOCK) {
        const int two = o + LAVIT_BLOCK < o_end;
        const char *w0 = weights + (o / LAVIT_BLOCK) * block_bytes, *w1 = w0 + block_bytes;
        __m512i a[ROWS][2];
        for (int i = 0; i < R; i++) a[i][0] = a[i][1] = _mm512_set1_epi32(correction[i]);
        if (two) {
            for (size_t g = 0; g < steps; g++) {
                __m512i v0 = _mm512_loadu_si512(w0 + g * 64), v1 = _mm512_loadu_si512(w1 + g * 64);
                for (int i = 0; i < R; i++) {
                    __m512i xb = _mm512_set1_epi32(load32((const char *)xc + i * stride + g * 4));
                    if (wide) {
                        a[i][0] = _mm512_dpwssd_epi32(a[i][0], xb, v0);
                        a[i][1] = _mm512_dpwssd_epi32(a[i][1], xb, v1);
                    } else {
                        a[i][0] = _mm512_dpbusd_epi32(a[i][0], v0, xb);
                        a[i][1] = _mm512_dpbusd_epi32(a[i][1], v1, xb);
                    }
                }
            }
        } else {
            for (size_t g = 0; g < steps; g++) {
                __m512i v0 = _mm512_loadu_si512(w0 + g * 64);
                for (int i = 0; i < R; i++) {
                    __m512i xb = _mm512_set1_epi32(load32((const char *)xc + i * stride + g * 4));
                    a[i][0] = wide ? _mm512_dpwssd_epi32(a[i][0], xb, v0) : _mm512_dpbusd_epi32(a[i][0], v0, xb);
                }
            }
        }
        const epilogue e0 = load_epilogue(p, o);
        for (int i = 0; i < R; i++) store(y + i * y_stride + o, requantize(a[i][0], &e0), o_end - o);
        if (two) {
            const epilogue e1 = load_epilogue(p, o + LAVIT_BLOCK);
            for (int i = 0; i < R; i++) store(y + i * y_stride + o + LAVIT_BLOCK, requantize(a[i][1], &e1), o_end - o - LAVIT_BLOCK);
        }
    }
}

#define TILES(wide)                                                                                          \
    switch (r) {                                                                                             \
    case 1: tile(1, wide, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride); break; \
    case 2: tile(2, wide, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride); break; \
    case 3: tile(3, wide, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride); break; \
    case 4: tile(4, wide, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride); break; \
    case 5: tile(5, wide, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride); break; \
    case 6: tile(6, wide, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride); break; \
    case 7: tile(7, wide, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride); break; \
    default: tile(8, wide, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride); break; \
    }

TARGET static void gemm(
    const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *p, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    const size_t steps = (p->depth + 3) / 4, stride = steps * 4;
    int8_t *xc = scratch;
    for (size_t n = 0; n < rows; n += ROWS) {
        const size_t r = rows - n < ROWS ? rows - n : ROWS;
        int32_t correction[ROWS];
        lavit_tile_quads(x + n * x_stride, r, x_stride, p->depth, xc, correction);
        TILES(0)
    }
}

TARGET static void gemm16(
    const int16_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *p, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    const size_t steps = (p->depth + 1) / 2, stride = steps * 2 * sizeof(int16_t);
    int16_t *xc = scratch;
    const int32_t correction[ROWS] = {0};
    for (size_t n = 0; n < rows; n += ROWS) {
        const size_t r = rows - n < ROWS ? rows - n : ROWS;
        lavit_tile_pairs16(x + n * x_stride, r, x_stride, p->depth, xc);
        TILES(1)
    }
}

const lavit_variant_ops lavit_avx512vnni_ops = {
    supported, lavit_quads_bytes, lavit_quads_lay_out, lavit_pairs_bytes, lavit_pairs_lay_out_transposed, scratch_bytes, gemm, gemm16,
};
#endif
