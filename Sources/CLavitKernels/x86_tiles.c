// See x86_tiles.h.
#if defined(__x86_64__)
#include "x86_tiles.h"

static size_t quads(size_t depth) { return (depth + 3) / 4; }
static size_t pairs(size_t depth) { return (depth + 1) / 2; }

size_t lavit_quads_bytes(size_t outputs, size_t depth) { return lavit_round_up(outputs, LAVIT_BLOCK) * quads(depth) * 4; }

void lavit_quads_lay_out(const int8_t *w, size_t w_stride, size_t outputs, size_t depth, void *weights) {
    uint8_t *p = weights;
    for (size_t b = 0; b < lavit_round_up(outputs, LAVIT_BLOCK); b += LAVIT_BLOCK)
        for (size_t g = 0; g < quads(depth); g++)
            for (size_t i = 0; i < LAVIT_BLOCK; i++)
                for (size_t j = 0; j < 4; j++) {
                    size_t o = b + i, k = g * 4 + j;
                    *p++ = o < outputs && k < depth ? (uint8_t)(w[o * w_stride + k] + 128) : 0;
                }
}

size_t lavit_pairs_bytes(size_t outputs, size_t depth) {
    return lavit_round_up(outputs, LAVIT_BLOCK) * pairs(depth) * 2 * sizeof(int16_t);
}

/// Element (o, k) at `w[o * o_stride + k * k_stride]`.
static void lay_out_pairs(const int8_t *w, size_t o_stride, size_t k_stride, size_t outputs, size_t depth, int16_t *p) {
    for (size_t b = 0; b < lavit_round_up(outputs, LAVIT_BLOCK); b += LAVIT_BLOCK)
        for (size_t g = 0; g < pairs(depth); g++)
            for (size_t i = 0; i < LAVIT_BLOCK; i++)
                for (size_t j = 0; j < 2; j++) {
                    size_t o = b + i, k = g * 2 + j;
                    *p++ = o < outputs && k < depth ? w[o * o_stride + k * k_stride] : 0;
                }
}

void lavit_pairs_lay_out(const int8_t *w, size_t w_stride, size_t outputs, size_t depth, void *weights) {
    lay_out_pairs(w, w_stride, 1, outputs, depth, weights);
}

void lavit_pairs_lay_out_transposed(const int8_t *v, size_t v_stride, size_t outputs, size_t depth, void *weights) {
    lay_out_pairs(v, 1, v_stride, outputs, depth, weights);
}
#endif
