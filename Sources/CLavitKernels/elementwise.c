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

/// `floor(sqrt(x))`, digit by digit, as Sources/LavitKernels/IntegerSquareRoot.swift.
static int64_t isqrt(int64_t x) {
    uint64_t rest = (uint64_t)x, root = 0, bit = (uint64_t)1 << 62;
    while (bit > rest) bit >>= 2;
    while (bit != 0) {
        if (rest >= root + bit) {
            rest -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return (int64_t)root;
}

/// QUANT.md kernel 3's `k = min(22, max(0, floor((62 - bitlen(W)) / 2)))`, `W >= 1`.
INLINE int64_t root_bits(int64_t w) {
    int64_t k = (62 - (64 - __builtin_clzll((uint64_t)w))) / 2;
    return k < 0 ? 0 : k > 22 ? 22 : k;
}

INLINE void layernorm(const lavit_layernorm_params *p, const int8_t *restrict x, size_t rows, int8_t *restrict y) {
    const size_t c = p->channels;
    const int64_t width = (int64_t)c, zin = p->zero_in;
    for (size_t row = 0; row < rows; row++) {
        const int8_t *xr = x + row * c;
        int8_t *yr = y + row * c;
        int64_t s = 0;
        for (size_t i = 0; i < c; i++) s += xr[i] - zin;
        int64_t v = 0;
        for (size_t i = 0; i < c; i++) {
            int64_t d = width * (xr[i] - zin) - s;
            v += d * d;
        }
        const int64_t w = v + p->epsilon, k = root_bits(w);
        const int64_t inv = ((int64_t)1 << (40 + k)) / isqrt(w << (2 * k));
        for (size_t i = 0; i < c; i++) {
            int64_t d = width * (xr[i] - zin) - s;
            int64_t t = rs(d * inv, 25);
            yr[i] = sat8(p->zero_out + rs(t * p->gain[i] + p->bias[i], p->shift));
        }
    }
}

INLINE void softmax(const int8_t *restrict a, size_t rows, size_t cols, const int32_t *restrict table, int16_t *restrict p) {
    for (size_t row = 0; row < rows; row++) {
        const int8_t *ar = a + row * cols;
        int16_t *pr = p + row * cols;
        int32_t mx = ar[0];
        for (size_t j = 1; j < cols; j++) mx = ar[j] > mx ? ar[j] : mx;
        int64_t s = 0;
        for (size_t j = 0; j < cols; j++) s += table[mx - ar[j]];
        const int64_t inv = ((int64_t)1 << 46) / s;
        for (size_t j = 0; j < cols; j++) {
            int64_t q = rs((int64_t)table[mx - ar[j]] * inv, 31);
            pr[j] = (int16_t)(q < 32767 ? q : 32767);
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

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2")))
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
AVX2 static void layernorm_avx2(const lavit_layernorm_params *p, const int8_t *x, size_t rows, int8_t *y) { layernorm(p, x, rows, y); }
AVX512 static void layernorm_avx512(const lavit_layernorm_params *p, const int8_t *x, size_t rows, int8_t *y) { layernorm(p, x, rows, y); }
AVX2 static void softmax_avx2(const int8_t *a, size_t rows, size_t cols, const int32_t *t, int16_t *p) { softmax(a, rows, cols, t, p); }
AVX512 static void softmax_avx512(const int8_t *a, size_t rows, size_t cols, const int32_t *t, int16_t *p) { softmax(a, rows, cols, t, p); }
AVX2 static void add2_avx2(const lavit_add2_params *p, const int8_t *a, const int8_t *b, size_t n, int8_t *y) { add2(p, a, b, n, y); }
AVX512 static void add2_avx512(const lavit_add2_params *p, const int8_t *a, const int8_t *b, size_t n, int8_t *y) { add2(p, a, b, n, y); }
#endif

void lavit_layernorm(int variant, const lavit_layernorm_params *p, const int8_t *x, size_t rows, int8_t *y) {
#if defined(__x86_64__)
    if (variant == LAVIT_VARIANT_AVX512VNNI) return layernorm_avx512(p, x, rows, y);
    if (variant == LAVIT_VARIANT_AVX2) return layernorm_avx2(p, x, rows, y);
#endif
    (void)variant;
    layernorm(p, x, rows, y);
}

void lavit_softmax(int variant, const int8_t *a, size_t rows, size_t cols, const int32_t *table, int16_t *p) {
#if defined(__x86_64__)
    if (variant == LAVIT_VARIANT_AVX512VNNI) return softmax_avx512(a, rows, cols, table, p);
    if (variant == LAVIT_VARIANT_AVX2) return softmax_avx2(a, rows, cols, table, p);
#endif
    (void)variant;
    softmax(a, rows, cols, table, p);
}

void lavit_add2(int variant, const lavit_add2_params *p, const int8_t *a, const int8_t *b, size_t count, int8_t *y) {
#if defined(__x86_64__)
    if (variant == LAVIT_VARIANT_AVX512VNNI) return add2_avx512(p, a, b, count, y);
    if (variant == LAVIT_VARIANT_AVX2) return add2_avx2(p, a, b, count, y);
#endif
    (void)variant;
    add2(p, a, b, count, y);
}
