// The row-wise kernels the profile shows next after the GEMMs (QUANT.md kernels 3, 4 and 6:
// layernorm, add2, softmax), written once in plain C that restates the scalar reference and
// compiled per variant: each `*_avx2` / `*_avx512` function inlines the same body under its
// target attribute, so the compiler vectorizes it for that ISA (AArch64: NEON, the baseline).
// Integer arithmetic is not reassociated, so every instantiation computes exactly what the scalar
// reference does; the load-time bounds keep every int64 intermediate in range.
#include "lavit_kernels.h"

#define INLINE static inline __attribute__((always_inline))

INLINE int64_t rs(int64_t x, int64_t n) { return (x + ((int64_t)1 << (n - 1))) >> n; }

INLINE int8_t sat8(int64_t x) { return (int8_t)(x < -128 ? -128 : x > 127 ? 127 : x); }

/// QUANT.md kernel 3's `k = min(22, max(0, floor((62 - bitlen(W)) / 2)))`, `W >= 1`.
INLINE int64_t root_bits(int64_t w) {
    int64_t k = (62 - (64 - __builtin_clzll((uint64_t)w))) / 2;
    return k < 0 ? 0 : k > 22 ? 22 : k;
}

/// `V = sum_i D_i^2` with `D_i = C q_i - S` is `C^2 sum q_i^2 - C S^2`; the sums of `q` and
/// `q^2` fit int32 (|q| <= 255, C <= 4096), so the reductions run in 32-bit lanes, and so does
/// `D_i` itself; only `D_i inv` and what follows need 64 bits. Rows go in batches so the square
/// roots run side by side in vector lanes: the digit-by-digit root, written without branches,
/// takes its 32 steps in every lane (leading steps with `bit > rest` change nothing).
INLINE void layernorm(const lavit_layernorm_params *p, const int8_t *restrict x, size_t rows, int8_t *restrict y) {
    enum { BATCH = 16 };
    const size_t c = p->channels;
    const int32_t width = (int32_t)c, zin = (int32_t)p->zero_in;
    for (size_t first = 0; first < rows; first += BATCH) {
        const size_t n = rows - first < BATCH ? rows - first : BATCH;
        int32_t sums[BATCH];
        int64_t roots_of[BATCH], k[BATCH], inv[BATCH];
        uint64_t rest[BATCH], root[BATCH];
        for (size_t r = 0; r < n; r++) {
            const int8_t *xr = x + (first + r) * c;
            int32_t s = 0, squares = 0;
            for (size_t i = 0; i < c; i++) {
                int32_t q = xr[i] - zin;
                s += q;
                squares += q * q;
            }
            const int64_t v = (int64_t)width * width * squares - (int64_t)width * s * s;
            const int64_t w = v + p->epsilon;
            sums[r] = s;
            k[r] = root_bits(w);
            roots_of[r] = w << (2 * k[r]);
        }
        for (size_t r = 0; r < n; r++) {
            rest[r] = (uint64_t)roots_of[r];
            root[r] = 0;
        }
        for (uint64_t bit = (uint64_t)1 << 62; bit != 0; bit >>= 2) {
            for (size_t r = 0; r < n; r++) {
                const uint64_t t = root[r] + bit;
                const uint64_t take = rest[r] >= t ? ~(uint64_t)0 : 0;
                rest[r] -= t & take;
                root[r] = (root[r] >> 1) + (bit & take);
            }
        }
        for (size_t r = 0; r < n; r++) inv[r] = ((int64_t)1 << (40 + k[r])) / (int64_t)root[r];
        for (size_t r = 0; r < n; r++) {
            const int8_t *xr = x + (first + r) * c;
            int8_t *yr = y + (first + r) * c;
            const int32_t s = sums[r];
            const int64_t row_inv = inv[r];
            for (size_t i = 0; i < c; i++) {
                int32_t d = width * (xr[i] - zin) - s;
                int64_t t = rs(d * row_inv, 25);
                yr[i] = sat8(p->zero_out + rs(t * p->gain[i] + p->bias[i], p->shift));
            }
        }
    }
}

/// Each row's table entries are looked up once into `e` (rows up to 512 wide; pv allows 511
/// keys) and reused for the probabilities.
INLINE void softmax(const int8_t *restrict a, size_t rows, size_t cols, const int32_t *restrict table, int16_t *restrict p) {
    enum { WIDEST = 512 };
    int32_t e[WIDEST];
    for (size_t row = 0; row < rows; row++) {
        const int8_t *ar = a + row * cols;
        int16_t *pr = p + row * cols;
        int32_t mx = ar[0];
        for (size_t j = 1; j < cols; j++) mx = ar[j] > mx ? ar[j] : mx;
        int64_t s = 0;
        if (cols <= WIDEST) {
            for (size_t j = 0; j < cols; j++) e[j] = table[mx - ar[j]];
            for (size_t j = 0; j < cols; j++) s += e[j];
            const int64_t inv = ((int64_t)1 << 46) / s;
            for (size_t j = 0; j < cols; j++) {
                int64_t q = rs(e[j] * inv, 31);
                pr[j] = (int16_t)(q < 32767 ? q : 32767);
            }
        } else {
            for (size_t j = 0; j < cols; j++) s += table[mx - ar[j]];
            const int64_t inv = ((int64_t)1 << 46) / s;
            for (size_t j = 0; j < cols; j++) {
                int64_t q = rs(table[mx - ar[j]] * inv, 31);
                pr[j] = (int16_t)(q < 32767 ? q : 32767);
            }
        }
    }
}

INLINE int8_t add2_one(const lavit_add2_params *p, int8_t a, int8_t b) {
    int64_t sum = (a - p->zero_a) * p->multiplier_a + (b - p->zero_b) * p->multiplier_b;
    return sat8(p->zero_out + rs(sum, p->shift));
}

/// The residual adds update `x` in place: that case gets its own loop, since a loop over three
/// pointers that may overlap would only run vectorized when the compiler can prove they do not.
INLINE void add2(const lavit_add2_params *p, const int8_t *a, const int8_t *b, size_t count, int8_t *y) {
    if (y == a && y != b) {
        int8_t *restrict io = y;
        const int8_t *restrict other = b;
        for (size_t i = 0; i < count; i++) io[i] = add2_one(p, io[i], other[i]);
    } else {
        for (size_t i = 0; i < count; i++) y[i] = add2_one(p, a[i], b[i]);
    }
}

/// The attention residual's 1x1 conv over heads, in the score maps' own layout:
/// `y[o][n] = sat8(z + RS((sum_i w[o][i] x[i][n] + b[o]) m[o], s[o]))`, `x` and `y` rows of
/// `count` cells at their strides. Accumulators cover a chunk of cells at a time, so the loops run
/// along cells, where the vectors are; the load-time bound keeps every sum within int32.
INLINE void mix(const lavit_mix_params *p, const int8_t *restrict x, size_t x_stride, size_t count, int8_t *restrict y, size_t y_stride) {
    enum { CHUNK = 256 };
    int32_t acc[CHUNK];
    for (size_t start = 0; start < count; start += CHUNK) {
        const size_t n = count - start < CHUNK ? count - start : CHUNK;
        for (size_t o = 0; o < p->outputs; o++) {
            for (size_t j = 0; j < n; j++) acc[j] = p->bias[o];
            for (size_t i = 0; i < p->inputs; i++) {
                const int32_t w = p->weights[o * p->inputs + i];
                const int8_t *row = x + i * x_stride + start;
                for (size_t j = 0; j < n; j++) acc[j] += w * row[j];
            }
            const int64_t m = p->multiplier[o], s = p->shift[o];
            int8_t *out = y + o * y_stride + start;
            for (size_t j = 0; j < n; j++) out[j] = sat8(p->zero_point + rs(acc[j] * m, s));
        }
    }
}

/// The attention residual's depth-wise 2x2 stride-2 conv for channel `c`, output rows
/// [first, last): along the keys, where the vectors are. Accumulates in int64, as the loader
/// bounds it (a bias may be near 2^31).
INLINE void dwconv(const lavit_dwconv_params *p, const int8_t *restrict s, size_t c, size_t first, size_t last, int8_t *restrict u) {
    const size_t keys = p->keys, width = p->width, out_width = p->width / 2;
    const size_t in_cells = p->height * width, out_cells = (p->height / 2) * out_width;
    const int64_t w0 = p->weights[c * 4], w1 = p->weights[c * 4 + 1], w2 = p->weights[c * 4 + 2], w3 = p->weights[c * 4 + 3];
    const int64_t b = p->bias[c], m = p->multiplier[c], shift = p->shift[c];
    for (size_t y = first; y < last; y++) {
        for (size_t x = 0; x < out_width; x++) {
            const int8_t *top = s + (c * in_cells + 2 * y * width + 2 * x) * keys;
            const int8_t *bottom = top + width * keys;
            int8_t *out = u + (c * out_cells + y * out_width + x) * keys;
            for (size_t j = 0; j < keys; j++) {
                int64_t acc = b + w0 * top[j] + w1 * top[keys + j] + w2 * bottom[j] + w3 * bottom[keys + j];
                out[j] = sat8(p->zero_point + rs(acc * m, shift));
            }
        }
    }
}

/// `y[i] = table[x[i] + 128]`; `y` may be `x`.
INLINE void lookup(const int8_t *x, const int8_t *table, size_t count, int8_t *y) {
    for (size_t i = 0; i < count; i++) y[i] = table[x[i] + 128];
}

#if defined(__x86_64__)
#include <immintrin.h>

/// The 256-entry table in four registers: vpermi2b picks from two of them by the low 7 bits of
/// `x + 128`, the top bit picks the pair.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void lookup_vbmi(
    const int8_t *x, const int8_t *table, size_t count, int8_t *y) {
    const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
    const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    for (size_t i = 0; i < count; i += 64) {
        const __mmask64 live = count - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (count - i)) - 1);
        __m512i u = _mm512_xor_si512(_mm512_maskz_loadu_epi8(live, x + i), bias);
        __m512i low = _mm512_permutex2var_epi8(t0, u, t1), high = _mm512_permutex2var_epi8(t2, u, t3);
        _mm512_mask_storeu_epi8(y + i, live, _mm512_mask_blend_epi8(_mm512_movepi8_mask(u), low, high));
    }
}

#define AVX2 __attribute__((target("avx2")))
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
AVX2 static void layernorm_avx2(const lavit_layernorm_params *p, const int8_t *x, size_t rows, int8_t *y) { layernorm(p, x, rows, y); }
AVX512 static void layernorm_avx512(const lavit_layernorm_params *p, const int8_t *x, size_t rows, int8_t *y) { layernorm(p, x, rows, y); }
AVX2 static void softmax_avx2(const int8_t *a, size_t rows, size_t cols, const int32_t *t, int16_t *p) { softmax(a, rows, cols, t, p); }
AVX512 static void softmax_avx512(const int8_t *a, size_t rows, size_t cols, const int32_t *t, int16_t *p) { softmax(a, rows, cols, t, p); }
AVX2 static void mix_avx2(const lavit_mix_params *p, const int8_t *x, size_t xs, size_t n, int8_t *y, size_t ys) { mix(p, x, xs, n, y, ys); }
AVX512 static void mix_avx512(const lavit_mix_params *p, const int8_t *x, size_t xs, size_t n, int8_t *y, size_t ys) { mix(p, x, xs, n, y, ys); }
AVX2 static void dwconv_avx2(const lavit_dwconv_params *p, const int8_t *s, size_t c, size_t first, size_t last, int8_t *u) { dwconv(p, s, c, first, last, u); }
AVX512 static void dwconv_avx512(const lavit_dwconv_params *p, const int8_t *s, size_t c, size_t first, size_t last, int8_t *u) { dwconv(p, s, c, first, last, u); }
AVX2 static void add2_avx2(const lavit_add2_params *p, const int8_t *a, const int8_t *b, size_t n, int8_t *y) { add2(p, a, b, n, y); }
AVX512 static void add2_avx512(const lavit_add2_params *p, const int8_t *a, const int8_t *b, size_t n, int8_t *y) { add2(p, a, b, n, y); }
#endif

void lavit_layernorm(int variant, const lavit_layernorm_params *p, const int8_t *x, size_t rows, int8_t *y) {
#if defined(__x86_64__)
    if (variant == LAVIT_VARIANT_AVX512VNNI) return layernorm_avx512(p, x, rows, y);
    if (variant == LAVIT_VARIANT_AVX2 || variant == LAVIT_VARIANT_AVXVNNI) return layernorm_avx2(p, x, rows, y);
#endif
    (void)variant;
    layernorm(p, x, rows, y);
}

void lavit_softmax(int variant, const int8_t *a, size_t rows, size_t cols, const int32_t *table, int16_t *p) {
#if defined(__x86_64__)
    if (variant == LAVIT_VARIANT_AVX512VNNI) return softmax_avx512(a, rows, cols, table, p);
    if (variant == LAVIT_VARIANT_AVX2 || variant == LAVIT_VARIANT_AVXVNNI) return softmax_avx2(a, rows, cols, table, p);
#endif
    (void)variant;
    softmax(a, rows, cols, table, p);
}

void lavit_add2(int variant, const lavit_add2_params *p, const int8_t *a, const int8_t *b, size_t count, int8_t *y) {
#if defined(__x86_64__)
    if (variant == LAVIT_VARIANT_AVX512VNNI) return add2_avx512(p, a, b, count, y);
    if (variant == LAVIT_VARIANT_AVX2 || variant == LAVIT_VARIANT_AVXVNNI) return add2_avx2(p, a, b, count, y);
#endif
    (void)variant;
    add2(p, a, b, count, y);
}

void lavit_lookup(int variant, const int8_t *x, const int8_t *table, size_t count, int8_t *y) {
#if defined(__x86_64__)
    if (variant == LAVIT_VARIANT_AVX512VNNI && __builtin_cpu_supports("avx512vbmi")) return lookup_vbmi(x, table, count, y);
#endif
    (void)variant;
    lookup(x, table, count, y);
}

void lavit_mix_heads(int variant, const lavit_mix_params *p, const int8_t *x, size_t x_stride, size_t count, int8_t *y, size_t y_stride) {
#if defined(__x86_64__)
    if (variant == LAVIT_VARIANT_AVX512VNNI) return mix_avx512(p, x, x_stride, count, y, y_stride);
    if (variant == LAVIT_VARIANT_AVX2 || variant == LAVIT_VARIANT_AVXVNNI) return mix_avx2(p, x, x_stride, count, y, y_stride);
#endif
    (void)variant;
    mix(p, x, x_stride, count, y, y_stride);
}

void lavit_dwconv2(int variant, const lavit_dwconv_params *p, const int8_t *s, size_t channel, size_t first_row, size_t last_row, int8_t *u) {
#if defined(__x86_64__)
    if (variant == LAVIT_VARIANT_AVX512VNNI) return dwconv_avx512(p, s, channel, first_row, last_row, u);
    if (variant == LAVIT_VARIANT_AVX2 || variant == LAVIT_VARIANT_AVXVNNI) return dwconv_avx2(p, s, channel, first_row, last_row, u);
#endif
    (void)variant;
    dwconv(p, s, channel, first_row, last_row, u);
}
