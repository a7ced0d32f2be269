// The 256-bit VNNI kernels, written once and included twice by x86_avxvnni.c: with the VEX
// AVX-VNNI instructions (Alder Lake and later CPUs without AVX-512) and with their EVEX AVX-512 VL
// twins, which compute the same. The includer defines VNNI_TARGET, VNNI_NAME(x), VNNI_DPBUSD
// and VNNI_DPWSSD. Layouts and row tiles from x86_tiles.h; epilogue as AVX2's.

/// `R` rows of `xc` (row stride `stride` bytes, zero-padded) times output blocks [o_begin,
/// o_end): accumulators start at the row's `-128 sum x` correction.
INLINE VNNI_TARGET void VNNI_NAME(tile)(
    int R, int wide, const void *xc, size_t stride, size_t steps, const int32_t *correction, const lavit_gemm_plan *p,
    size_t o_begin, size_t o_end, int8_t *y, size_t y_stride) {
    const size_t block_bytes = steps * 64;
    for (size_t o = o_begin; o < o_end; o += LAVIT_BLOCK) {
        const char *w = (const char *)p->weights + (o / LAVIT_BLOCK) * block_bytes;
        __m256i a[VNNI_ROWS][2];
        for (int i = 0; i < R; i++) a[i][0] = a[i][1] = _mm256_set1_epi32(correction[i]);
        for (size_t g = 0; g < steps; g++) {
            __m256i v0 = _mm256_loadu_si256((const __m256i *)(w + g * 64));
            __m256i v1 = _mm256_loadu_si256((const __m256i *)(w + g * 64 + 32));
            for (int i = 0; i < R; i++) {
                __m256i xb = _mm256_set1_epi32(load32((const char *)xc + i * stride + g * 4));
                if (wide) {
                    a[i][0] = VNNI_DPWSSD(a[i][0], xb, v0);
                    a[i][1] = VNNI_DPWSSD(a[i][1], xb, v1);
                } else {
                    a[i][0] = VNNI_DPBUSD(a[i][0], v0, xb);
                    a[i][1] = VNNI_DPBUSD(a[i][1], v1, xb);
                }
            }
        }
        const epilogue e = load_epilogue(p, o);
        for (int i = 0; i < R; i++) requantize_store(a[i][0], a[i][1], &e, y + i * y_stride + o, o_end - o);
    }
}

VNNI_TARGET static void VNNI_NAME(tiles)(
    size_t r, int wide, const void *xc, size_t stride, size_t steps, const int32_t *correction, const lavit_gemm_plan *p,
    size_t o_begin, size_t o_end, int8_t *y, size_t y_stride) {
    switch (r) {
    case 1: VNNI_NAME(tile)(1, wide, xc, stride, steps, correction, p, o_begin, o_end, y, y_stride); break;
    case 2: VNNI_NAME(tile)(2, wide, xc, stride, steps, correction, p, o_begin, o_end, y, y_stride); break;
    case 3: VNNI_NAME(tile)(3, wide, xc, stride, steps, correction, p, o_begin, o_end, y, y_stride); break;
    case 4: VNNI_NAME(tile)(4, wide, xc, stride, steps, correction, p, o_begin, o_end, y, y_stride); break;
    case 5: VNNI_NAME(tile)(5, wide, xc, stride, steps, correction, p, o_begin, o_end, y, y_stride); break;
    default: VNNI_NAME(tile)(6, wide, xc, stride, steps, correction, p, o_begin, o_end, y, y_stride); break;
    }
}

VNNI_TARGET static void VNNI_NAME(gemm)(
    const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *p, size_t o_begin, size_t o_end, int8_t *y,
    size_t y_stride, void *scratch) {
    const size_t steps = (p->depth + 3) / 4, stride = steps * 4;
    int8_t *xc = scratch;
    for (size_t n = 0; n < rows; n += VNNI_ROWS) {
        const size_t r = rows - n < VNNI_ROWS ? rows - n : VNNI_ROWS;
        int32_t correction[VNNI_ROWS];
        lavit_tile_quads(x + n * x_stride, r, x_stride, p->depth, xc, correction);
        VNNI_NAME(tiles)(r, 0, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride);
    }
}

VNNI_TARGET static void VNNI_NAME(gemm16)(
    const int16_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *p, size_t o_begin, size_t o_end, int8_t *y,
    size_t y_stride, void *scratch) {
    const size_t steps = (p->depth + 1) / 2, stride = steps * 2 * sizeof(int16_t);
    int16_t *xc = scratch;
    const int32_t correction[VNNI_ROWS] = {0};
    for (size_t n = 0; n < rows; n += VNNI_ROWS) {
        const size_t r = rows - n < VNNI_ROWS ? rows - n : VNNI_ROWS;
        lavit_tile_pairs16(x + n * x_stride, r, x_stride, p->depth, xc);
        VNNI_NAME(tiles)(r, 1, xc, stride, steps, correction, p, o_begin, o_end, y + n * y_stride, y_stride);
    }
}
