// What each variant provides to the dispatcher (dispatch.c); not part of the public header.
#ifndef LAVIT_VARIANTS_H
#define LAVIT_VARIANTS_H

#include "lavit_kernels.h"

typedef struct {
    int (*supported)(void);
    size_t (*weight_bytes)(size_t outputs, size_t depth);
    void (*lay_out)(const int8_t *w, size_t w_stride, size_t outputs, size_t depth, void *weights);
    size_t (*weight16_bytes)(size_t outputs, size_t depth);
    void (*lay_out16_transposed)(const int8_t *v, size_t v_stride, size_t outputs, size_t depth, void *weights);
    size_t (*scratch_bytes)(size_t depth);
    void (*gemm)(const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin,
                 size_t o_end, int8_t *y, size_t y_stride, void *scratch);
    void (*gemm16)(const int16_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin,
                   size_t o_end, int8_t *y, size_t y_stride, void *scratch);
} lavit_variant_ops;

#if defined(__x86_64__)
extern const lavit_variant_ops lavit_avx2_ops;
extern const lavit_variant_ops lavit_avxvnni_ops;
extern const lavit_variant_ops lavit_avx512vnni_ops;
#endif
#if defined(__aarch64__)
extern const lavit_variant_ops lavit_neon_ops;
extern const lavit_variant_ops lavit_neon_dot_ops;
#endif

static inline size_t lavit_round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

#endif
