// Variant selection and the parts of preparing a GEMM every variant shares: the epilogue arrays
// (bias, multiplier, shift) padded to whole blocks after the weights, so a kernel always loads a
// full block.
#include <string.h>

#include "variants.h"

static const lavit_variant_ops *ops(int variant) {
    switch (variant) {
#if defined(__x86_64__)
    case LAVIT_VARIANT_AVX2: return &lavit_avx2_ops;
    case LAVIT_VARIANT_AVX512VNNI: return &lavit_avx512vnni_ops;
    case LAVIT_VARIANT_AVXVNNI: return &lavit_avxvnni_ops;
#endif
#if defined(__aarch64__)
    case LAVIT_VARIANT_NEON: return &lavit_neon_ops;
    case LAVIT_VARIANT_NEON_DOT: return &lavit_neon_dot_ops;
#endif
    default: return NULL;
    }
}

int lavit_variant_supported(int variant) {
    const lavit_variant_ops *v = ops(variant);
    return v != NULL && v->supported();
}

static size_t epilogue_bytes(size_t outputs) {
    return 3 * lavit_round_up(outputs, LAVIT_BLOCK) * sizeof(int32_t);
}

/// Copies bias (zero when NULL), multiplier and shift after the weights, padded with outputs
/// that requantize 0 to 0, and points the plan at them.
static void finish(
    int variant, void *weights, size_t weight_bytes, size_t outputs, size_t depth, const int32_t *bias,
    const int32_t *multiplier, const int32_t *shift, lavit_gemm_plan *plan) {
    size_t padded = lavit_round_up(outputs, LAVIT_BLOCK);
    int32_t *b = (int32_t *)((char *)weights + lavit_round_up(weight_bytes, LAVIT_ALIGNMENT));
    int32_t *m = b + padded;
    int32_t *s = m + padded;
    for (size_t o = 0; o < padded; o++) {
        b[o] = bias != NULL && o < outputs ? bias[o] : 0;
        m[o] = multiplier != NULL && o < outputs ? multiplier[o] : 0;
        s[o] = shift != NULL && o < outputs ? shift[o] : 1;
    }
    memset(plan, 0, sizeof *plan);
    plan->weights = weights;
    plan->bias = b;
    plan->multiplier = multiplier != NULL ? m : NULL;
    plan->shift = shift != NULL ? s : NULL;
    plan->shift_uniform = 1;
    plan->variant = variant;
    plan->outputs = outputs;
    plan->depth = depth;
}

size_t lavit_prepare_bytes(int variant, size_t outputs, size_t depth) {
    const lavit_variant_ops *v = ops(variant);
    if (v == NULL) return 0;
    return lavit_round_up(v->weight_bytes(outputs, depth), LAVIT_ALIGNMENT) + epilogue_bytes(outputs);
}

void lavit_prepare(
    int variant, const int8_t *w, size_t w_stride, size_t outputs, size_t depth, const int32_t *bias,
    const int32_t *multiplier, const int32_t *shift, void *storage, lavit_gemm_plan *plan) {
    const lavit_variant_ops *v = ops(variant);
    v->lay_out(w, w_stride, outputs, depth, storage);
    finish(variant, storage, v->weight_bytes(outputs, depth), outputs, depth, bias, multiplier, shift, plan);
}

size_t lavit_prepare16_bytes(int variant, size_t outputs, size_t depth) {
    const lavit_variant_ops *v = ops(variant);
    if (v == NULL) return 0;
    return lavit_round_up(v->weight16_bytes(outputs, depth), LAVIT_ALIGNMENT) + epilogue_bytes(outputs);
}

void lavit_prepare16_transposed(
    int variant, const int8_t *values, size_t v_stride, size_t outputs, size_t depth, void *storage,
    lavit_gemm_plan *plan) {
    const lavit_variant_ops *v = ops(variant);
    v->lay_out16_transposed(values, v_stride, outputs, depth, storage);
    finish(variant, storage, v->weight16_bytes(outputs, depth), outputs, depth, NULL, NULL, NULL, plan);
}

size_t lavit_scratch_bytes(int variant, size_t depth) {
    const lavit_variant_ops *v = ops(variant);
    return v == NULL ? 0 : lavit_round_up(v->scratch_bytes(depth), LAVIT_ALIGNMENT);
}

void lavit_gemm(
    const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    ops(plan->variant)->gemm(x, rows, x_stride, plan, o_begin, o_end, y, y_stride, scratch);
}

void lavit_gemm16(
    const int16_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin, size_t o_end,
    int8_t *y, size_t y_stride, void *scratch) {
    ops(plan->variant)->gemm16(x, rows, x_stride, plan, o_begin, o_end, y, y_stride, scratch);
}
