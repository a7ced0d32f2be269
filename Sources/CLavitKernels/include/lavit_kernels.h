// The SIMD variants of the engine's heavy kernels (Tools/QUANT.md kernels 1, 5 and 7): GEMM over
// int8 or int16 activations, with the fused bias and the requantization epilogue. Every variant
// must give the scalar reference's result (Sources/LavitKernels) bit for bit; the Swift tests and
// the AArch64 harness check that.
//
// A weight matrix is laid out once per variant ("prepared") into caller-owned storage, so the
// inner loops read weights in the order the instructions want; activations are read in place.
// Output channels are processed in blocks of LAVIT_BLOCK; a thread may take any range of whole
// blocks, or any range of rows.
#ifndef LAVIT_KERNELS_H
#define LAVIT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LAVIT_VARIANT_AVX2 = 1,        // x86-64: operands widened to int16, vpmaddwd
    LAVIT_VARIANT_AVX512VNNI = 2,  // x86-64: AVX-512 F/BW/VL + VNNI, vpdpbusd / vpdpwssd
    LAVIT_VARIANT_NEON = 3,        // AArch64: vmull_s8 / vmlal_s16
    LAVIT_VARIANT_NEON_DOT = 4,    // AArch64 with the dot-product extension: sdot
    LAVIT_VARIANT_AVXVNNI = 5,     // x86-64: VNNI at 256 bits (AVX-VNNI, or its AVX-512 VL twin)
};

/// Output channels per block; ranges handed to `lavit_gemm*` start on a multiple of it.
#define LAVIT_BLOCK 16
/// Alignment of prepared storage and scratch.
#define LAVIT_ALIGNMENT 64

/// 1 when this binary has `variant` compiled in and the CPU it runs on can execute it.
int lavit_variant_supported(int variant);

/// A prepared GEMM: `y[n, o] = sat8(z + RS((sum_k w[o, k] x[n, k] + b[o]) m[o], s[o]))`, RS the
/// rounding shift of QUANT.md. Filled by `lavit_prepare*`; the caller may then set
/// `zero_point` and, for uniform requantization (qk, pv), `multiplier_uniform`/`shift_uniform`.
/// Every multiplier is in [0, 2^31) and every shift in 1...62, as the loader checks.
typedef struct {
    const void *weights;         // the variant's layout
    const int32_t *bias;         // per output, padded to whole blocks, corrected as the variant needs
    const int32_t *multiplier;   // per output, padded; NULL: `multiplier_uniform` for every output
    const int32_t *shift;        // per output, padded; NULL: `shift_uniform` for every output
    int64_t multiplier_uniform;
    int64_t shift_uniform;
    int32_t zero_point;
    int32_t variant;
    size_t outputs;
    size_t depth;
} lavit_gemm_plan;

/// Bytes of storage `lavit_prepare` needs for `outputs` x `depth` int8 weights.
size_t lavit_prepare_bytes(int variant, size_t outputs, size_t depth);

/// Lays out int8 weights `w` (row `o` at `w + o * w_stride`, `depth` codes in [-128, 127]) for
/// `variant` into `storage` (LAVIT_ALIGNMENT-aligned, `lavit_prepare_bytes` long) and fills `plan`.
/// `bias` NULL means zero; `multiplier` and `shift` NULL mean uniform (set them in the plan).
/// The caller guarantees, for every output, `|sum_k w x + b| < 2^31` for any int8 `x`, so int32
/// accumulators wrapping mid-sum still end exact (see TensorResolver.checkAccumulator).
void lavit_prepare(
    int variant, const int8_t *w, size_t w_stride, size_t outputs, size_t depth, const int32_t *bias,
    const int32_t *multiplier, const int32_t *shift, void *storage, lavit_gemm_plan *plan);

/// As `lavit_prepare`, for the int16-activation GEMM of pv: the weights are given transposed,
/// `v[k * v_stride + o]` (the values of a head, keys by channels); bias zero, requantization uniform.
size_t lavit_prepare16_bytes(int variant, size_t outputs, size_t depth);
void lavit_prepare16_transposed(
    int variant, const int8_t *v, size_t v_stride, size_t outputs, size_t depth, void *storage,
    lavit_gemm_plan *plan);

/// Per-thread scratch bytes the GEMMs of `variant` need for rows of up to `depth`.
size_t lavit_scratch_bytes(int variant, size_t depth);

/// Rows `x + n * x_stride`, n < rows, times the prepared weights, output channels
/// [o_begin, o_end) (o_begin a multiple of LAVIT_BLOCK, o_end <= outputs) into
/// `y + n * y_stride + o`. `scratch`: `lavit_scratch_bytes(variant, depth)` bytes, aligned.
void lavit_gemm(
    const int8_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin,
    size_t o_end, int8_t *y, size_t y_stride, void *scratch);

/// As `lavit_gemm` with int16 activations in [0, 32767] (softmax probabilities); the plan comes
/// from `lavit_prepare16_transposed`. Depth (keys) at most 512, so `depth * 32767 * 128` fits the
/// int32 accumulators (TensorResolver.pvKeys).
void lavit_gemm16(
    const int16_t *x, size_t rows, size_t x_stride, const lavit_gemm_plan *plan, size_t o_begin,
    size_t o_end, int8_t *y, size_t y_stride, void *scratch);

/// QUANT.md kernel 3's parameters: `.g`, `.bb` and `.p = [z_in, E, shift, z_out]`.
typedef struct {
    const int32_t *gain;
    const int64_t *bias;
    int64_t zero_in, epsilon, shift, zero_out;
    size_t channels;
} lavit_layernorm_params;

/// QUANT.md kernel 4's `.p = [z_a, z_b, z_out, M_a, M_b, n]`.
typedef struct {
    int64_t zero_a, zero_b, zero_out, multiplier_a, multiplier_b, shift;
} lavit_add2_params;

/// Layernorm over `rows` rows of `channels` (kernel 3); `y` must not overlap `x`.
void lavit_layernorm(int variant, const lavit_layernorm_params *p, const int8_t *x, size_t rows, int8_t *y);

/// Softmax over `rows` rows of `cols` scores with the 256-entry table (kernel 6).
void lavit_softmax(int variant, const int8_t *a, size_t rows, size_t cols, const int32_t *table, int16_t *p);

/// `y = sat8(z_out + RS((a - z_a) M_a + (b - z_b) M_b, n))` over `count` elements (kernel 4);
/// `y` may be `a` or `b`, element for element.
void lavit_add2(int variant, const lavit_add2_params *p, const int8_t *a, const int8_t *b, size_t count, int8_t *y);

/// A GEMM over few channels laid out channels-first: the attention residual's 1x1 conv over
/// heads, `weights` int8 [outputs, inputs] as the file stores them.
typedef struct {
    const int8_t *weights;
    const int32_t *bias, *multiplier, *shift;
    int32_t zero_point;
    size_t inputs, outputs;
} lavit_mix_params;

/// `y[o][n] = sat8(z + RS((sum_i w[o][i] x[i][n] + b[o]) m[o], s[o]))` for `n < count`, row `i`
/// of `x` at `x + i * x_stride`, row `o` of `y` at `y + o * y_stride`; `y` must not overlap `x`.
/// The caller guarantees the GEMM's int32 bound (`128 sum|w| + |b| < 2^31`).
void lavit_mix_heads(int variant, const lavit_mix_params *p, const int8_t *x, size_t x_stride, size_t count, int8_t *y, size_t y_stride);

/// QUANT.md kernel 9's parameters, with the grid it runs on: scores `(channels, height * width,
/// keys)` in, `(channels, (height / 2) * (width / 2), keys)` out.
typedef struct {
    const int8_t *weights;
    const int32_t *bias, *multiplier, *shift;
    int64_t zero_point;
    size_t height, width, keys;
} lavit_dwconv_params;

/// Kernel 9 (the attention residual's depth-wise 2x2 stride-2 conv) for one channel and output
/// rows [first_row, last_row); `u` must not overlap `s`.
void lavit_dwconv2(int variant, const lavit_dwconv_params *p, const int8_t *s, size_t channel, size_t first_row, size_t last_row, int8_t *u);

/// `y[i] = table[x[i] + 128]` over `count` elements (kernel 8, GELU); `y` may be `x`.
void lavit_lookup(int variant, const int8_t *x, const int8_t *table, size_t count, int8_t *y);

#ifdef __cplusplus
}
#endif

#endif
