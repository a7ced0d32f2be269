// x86-64 AVX2: operands widened to int16 and multiplied in pairs with vpmaddwd, which is exact for
// any int8 weights (vpmaddubsw would saturate: ../shared/KERNEL-FACTS.md). Weights are stored as
// int16 pairs at load; each tile of activation rows is widened once into scratch.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "variants.h"

#define TARGET __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

/// Rows per register tile: 6 rows x 16 outputs is 12 of the 16 ymm registers.
enum { ROWS = 6 };

static int supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static size_t pairs(size_t depth) { return (depth + 1) / 2; }

/// Block b of 16 outputs, pair g of depths: 16 int16 pairs (64 bytes), output-major.
static size_t weight_bytes(size_t outputs, size_t depth) {
    return lavit_round_up(outputs, LAVIT_BLOCK) * pairs(depth) * 2 * sizeof(int16_t);
}

static void lay_out(const int8_t *w, size_t w_stride, size_t outputs, size_t depth, void *weights) {
    int16_t *p = weights;
    for (size_t b = 0; b < lavit_round_up(outputs, LAVIT_BLOCK); b += LAVIT_BLOCK)
        for (size_t g = 0; g < pairs(depth); g++)
            for (size_t i = 0; i < LAVIT_BLOCK; i++)
                for (size_t j = 0; j < 2; j++) {
                    size_t o = b + i, k = g * 2 + j;
                    *p++ = o < outputs && k < depth ? w[o * w_stride + k] : 0;
                }
}

static void lay_out16_transposed(const int8_t *v, size_t v_stride, size_t outputs, size_t depth, void *weights) {
    int16_t *p = weights;
    for (size_t b = 0; b < lavit_round_up(outputs, LAVIT_BLOCK); b += LAVIT_BLOCK)
        for (size_t g = 0; g < pairs(depth); g++)
            for (size_t i = 0; i < LAVIT_BLOCK; i++)
                for (size_t j = 0; j < 2; j++) {
                    size_t o = b + i, k = g * 2 + j;
                    *p++ = o < outputs && k < depth ? v[k * v_stride + o] : 0;
                }
}

static size_t scratch_bytes(size_t depth) { return ROWS * lavit_round_up(depth, 2) * sizeof(int16_t); }

INLINE int32_t load32(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/// One block's requantization constants, loaded once for all the rows of a tile. When every
/// shift is at least 33 (the usual case: multipliers are normalised to [2^30, 2^31)), RS needs
/// only the high halves of the products: for s >= 33,
/// `(P + 2^(s-1)) >> s == (hi32(P) + 2^(s-33)) >> (s - 32)` exactly, and AVX2 shifts int32 lanes
/// arithmetically. Otherwise the full int64 path runs.
typedef struct {
    __m256i bias[2], m[2], m_odd[2], s[2], s_high[2], round_high[2];
    __m128i zero_point;
    int high;
} epilogue;

INLINE TARGET epilogue load_epilogue(const lavit_gemm_plan *p, size_t o) {
    epilogue e;
    const __m256i thirty_two = _mm256_set1_epi32(32), one = _mm256_set1_epi32(1);
    int all_high = 1;
    for (int h = 0; h < 2; h++) {
        size_t at = o + 8 * h;
        e.bias[h] = _mm256_loadu_si256((const __m256i *)(p->bias + at));
        e.m[h] = p->multiplier ? _mm256_loadu_si256((const __m256i *)(p->multiplier + at)) : _mm256_set1_epi32((int32_t)p->multiplier_uniform);
        e.s[h] = p->shift ? _mm256_loadu_si256((const __m256i *)(p->shift + at)) : _mm256_set1_epi32((int32_t)p->shift_uniform);
        e.m_odd[h] = _mm256_srli_epi64(e.m[h], 32);
        e.s_high[h] = _mm256_sub_epi32(e.s[h], thirty_two);
        e.round_high[h] = _mm256_sllv_epi32(one, _mm256_sub_epi32(e.s_high[h], one));
        all_high &= _mm256_movemask_epi8(_mm256_cmpgt_epi32(e.s[h], thirty_two)) == -1;
    }
    e.zero_point = _mm_set1_epi16((int16_t)p->zero_point);
    e.high = all_high;
    return e;
}

/// `RS(acc m, s)` for 8 lanes when every shift is at least 33 (see `epilogue`).
INLINE TARGET __m256i scale_high(__m256i acc, const epilogue *e, int h) {
    __m256i pe = _mm256_mul_epi32(acc, e->m[h]);
    __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), e->m_odd[h]);
    __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xaa);
    return _mm256_srav_epi32(_mm256_add_epi32(high, e->round_high[h]), e->s_high[h]);
}

/// `RS(acc m, s)` for 8 lanes and any shift, clamped to [-1024, 1024] (beyond which every zero
/// point saturates alike) and narrowed to int32. AVX2 has no 64-bit arithmetic shift: for
/// negative x, `x >> s == ~(~x >>> s)`.
INLINE TARGET __m256i scale_any(__m256i acc, const epilogue *e, int h) {
    const __m256i low = _mm256_set1_epi64x(0xffffffff), one = _mm256_set1_epi64x(1), zero = _mm256_setzero_si256();
    const __m256i top = _mm256_set1_epi64x(1024), bottom = _mm256_set1_epi64x(-1024);
    __m256i shifts[2] = {_mm256_and_si256(e->s[h], low), _mm256_srli_epi64(e->s[h], 32)};
    __m256i products[2] = {_mm256_mul_epi32(acc, e->m[h]), _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), e->m_odd[h])};
    for (int i = 0; i < 2; i++) {
        __m256i v = _mm256_add_epi64(products[i], _mm256_sllv_epi64(one, _mm256_sub_epi64(shifts[i], one)));
        __m256i sign = _mm256_cmpgt_epi64(zero, v);
        v = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(v, sign), shifts[i]), sign);
        v = _mm256_blendv_epi8(v, top, _mm256_cmpgt_epi64(v, top));
        products[i] = _mm256_blendv_epi8(v, bottom, _mm256_cmpgt_epi64(bottom, v));
    }
    return _mm256_or_si256(_mm256_and_si256(products[0], low), _mm256_slli_epi64(products[1], 32));
}

/// `sat8(z + RS((acc + b) m, s))` for the 16 outputs at `o`, stored up to `count` of them. The
/// int32 results narrow to int16 with saturation and take the zero point with int16 saturation:
/// whatever saturated there is far outside int8 either way.
INLINE TARGET void requantize_store(__m256i a0, __m256i a1, const epilogue *e, int8_t *y, size_t count) {
    a0 = _mm256_add_epi32(a0, e->bias[0]);
    a1 = _mm256_add_epi32(a1, e->bias[1]);
    __m256i r0 = e->high ? scale_high(a0, e, 0) : scale_any(a0, e, 0);
    __m256i r1 = e->high ? scale_high(a1, e, 1) : scale_any(a1, e, 1);
    __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(r0, r1), 0xd8);
    __m128i first = _mm_adds_epi16(_mm256_castsi256_si128(words), e->zero_point);
    __m128i second = _mm_adds_epi16(_mm256_extracti128_si256(words, 1), e->zero_point);
    __m128i bytes = _mm_packs_epi16(first, second);
    if (count >= LAVIT_BLOCK) {
        _mm_storeu_si128((__m128i *)y, bytes);
    } else {
        int8_t all[LAVIT_BLOCK];
        _mm_storeu_si128((__m128i *)all, bytes);
        memcpy(y, all, count);
    }
}

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
    const size_t depth = p->depth, steps = pairs(depth), stride = steps * 2;
    int16_t *xc = scratch;
    for (size_t n = 0; n < rows; n += ROWS) {
        const size_t r = rows - n < ROWS ? rows - n : ROWS;
        for (size_t i = 0; i < r; i++) {
            const int8_t *row = x + (n + i) * x_stride;
            for (size_t k = 0; k < depth; k++) xc[i * stride + k] = row[k];
            if (depth % 2) xc[i * stride + depth] = 0;
        }
        tiles(r, xc, stride, steps, p, o_begin, o_end, y + n * y_stride, y_stride);
    }
}

TARGET static void gemm16(
    const int16_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *p, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    const size_t depth = p->depth, steps = pairs(depth), stride = steps * 2;
    int16_t *xc = scratch;
    for (size_t n = 0; n < rows; n += ROWS) {
        const size_t r = rows - n < ROWS ? rows - n : ROWS;
        for (size_t i = 0; i < r; i++) {
            memcpy(xc + i * stride, x + (n + i) * x_stride, depth * sizeof(int16_t));
            if (depth % 2) xc[i * stride + depth] = 0;
        }
        tiles(r, xc, stride, steps, p, o_begin, o_end, y + n * y_stride, y_stride);
    }
}

const lavit_variant_ops lavit_avx2_ops = {
    supported, weight_bytes, lay_out, weight_bytes, lay_out16_transposed, scratch_bytes, gemm, gemm16,
};
#endif
