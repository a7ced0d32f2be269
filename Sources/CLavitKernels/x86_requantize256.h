// The 256-bit requantization epilogue shared by the AVX2 and AVX-VNNI variants: included by
// their files only, compiled for AVX2, inlined into their kernels.
#ifndef LAVIT_X86_REQUANTIZE256_H
#define LAVIT_X86_REQUANTIZE256_H

#include <immintrin.h>
#include <string.h>

#include "x86_tiles.h"

#define AVX2_TARGET __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

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

INLINE AVX2_TARGET epilogue load_epilogue(const lavit_gemm_plan *p, size_t o) {
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
INLINE AVX2_TARGET __m256i scale_high(__m256i acc, const epilogue *e, int h) {
    __m256i pe = _mm256_mul_epi32(acc, e->m[h]);
    __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), e->m_odd[h]);
    __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xaa);
    return _mm256_srav_epi32(_mm256_add_epi32(high, e->round_high[h]), e->s_high[h]);
}

/// `RS(acc m, s)` for 8 lanes and any shift, clamped to [-1024, 1024] (beyond which every zero
/// point saturates alike) and narrowed to int32. AVX2 has no 64-bit arithmetic shift: for
/// negative x, `x >> s == ~(~x >>> s)`.
INLINE AVX2_TARGET __m256i scale_any(__m256i acc, const epilogue *e, int h) {
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
INLINE AVX2_TARGET void requantize_store(__m256i a0, __m256i a1, const epilogue *e, int8_t *y, size_t count) {
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

#endif
