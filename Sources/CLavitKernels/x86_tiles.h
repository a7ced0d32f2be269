// What the x86 variants share around their kernels: the weight layouts and the row tiles.
// Weights go in blocks of 16 outputs, the depth grouped in quads of bytes (vpdpbusd) or pairs of
// int16 (vpmaddwd, vpdpwssd), output-major within a group: 64 bytes per group and block. A row
// tile is a few activation rows copied zero-padded to whole groups, so no load reads past a row.
#ifndef LAVIT_X86_TILES_H
#define LAVIT_X86_TILES_H

#include <string.h>

#include "variants.h"

static inline __attribute__((always_inline)) int32_t load32(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/// Quads of `w + 128` (u8), row `o` of `w` at `w + o * w_stride`.
size_t lavit_quads_bytes(size_t outputs, size_t depth);
void lavit_quads_lay_out(const int8_t *w, size_t w_stride, size_t outputs, size_t depth, void *weights);

/// Pairs of int16, from rows of `w` (row `o` at `w + o * w_stride`) or from `v` transposed
/// (`v[k * v_stride + o]`, pv's values).
size_t lavit_pairs_bytes(size_t outputs, size_t depth);
void lavit_pairs_lay_out(const int8_t *w, size_t w_stride, size_t outputs, size_t depth, void *weights);
void lavit_pairs_lay_out_transposed(const int8_t *v, size_t v_stride, size_t outputs, size_t depth, void *weights);

// The row tiles run per tile on every GEMM, so they are inlined into each kernel and compiled for
// its ISA (a call compiled for baseline x86-64 cost LaViT-T 9% on AVX-512).

/// `rows` rows of `x` into `tile` (row stride `depth` rounded up to 4 bytes), with each row's
/// `-128 sum x` (mod 2^32) in `correction`, for weights stored as `w + 128`.
static inline __attribute__((always_inline)) void lavit_tile_quads(
    const int8_t *x, size_t rows, size_t x_stride, size_t depth, int8_t *tile, int32_t *correction) {
    const size_t stride = (depth + 3) / 4 * 4;
    for (size_t i = 0; i < rows; i++) {
        const int8_t *row = x + i * x_stride;
        int8_t *copy = tile + i * stride;
        uint32_t sum = 0;
        for (size_t k = 0; k < depth; k++) {
            copy[k] = row[k];
            sum += (uint32_t)(int32_t)row[k];
        }
        for (size_t k = depth; k < stride; k++) copy[k] = 0;
        correction[i] = (int32_t)(0u - 128u * sum);
    }
}

/// `rows` rows of `x` widened to int16 into `tile` (row stride `depth` rounded up to 2).
static inline __attribute__((always_inline)) void lavit_tile_pairs(
    const int8_t *x, size_t rows, size_t x_stride, size_t depth, int16_t *tile) {
    const size_t stride = (depth + 1) / 2 * 2;
    for (size_t i = 0; i < rows; i++) {
        for (size_t k = 0; k < depth; k++) tile[i * stride + k] = x[i * x_stride + k];
        if (depth % 2) tile[i * stride + depth] = 0;
    }
}

/// The same for rows already int16 (pv's probabilities).
static inline __attribute__((always_inline)) void lavit_tile_pairs16(
    const int16_t *x, size_t rows, size_t x_stride, size_t depth, int16_t *tile) {
    const size_t stride = (depth + 1) / 2 * 2;
    for (size_t i = 0; i < rows; i++) {
        memcpy(tile + i * stride, x + i * x_stride, depth * sizeof(int16_t));
        if (depth % 2) tile[i * stride + depth] = 0;
    }
}

#endif
