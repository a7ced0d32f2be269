// Runs the CLavitKernels kernels of one variant (the GEMMs and the row-wise kernels of
// elementwise.c) over the cases in a vector file and writes what they stored, for
// Tests/LavitKernelsTests/AArch64KernelTests.swift, which writes the vectors, runs this under
// qemu-aarch64 and compares the outputs with the Swift scalar reference. Plain C, so it builds
// wherever Sources/CLavitKernels does (the test cross-compiles it for aarch64-linux-gnu).
//
//   harness supported                  prints "neon=<0|1> neon_dot=<0|1>"
//   harness <neon|neon_dot> IN OUT     runs every case of IN, writes OUT
//
// IN (little-endian): "LAVITAV1", u32 case count, then per case i32 kind, i32 flags and:
//   kind 8: lavit_gemm, 16: lavit_gemm16; flags 1: bias given, 2: per-output multiplier and
//   shift given, else uniform.
//     i64 rows, depth, outputs, x_stride, y_stride, w_stride,
//     i64 multiplier_uniform, shift_uniform, i32 zero_point, i32 call count,
//     calls: i64 row_begin, row_end, o_begin, o_end each,
//     x: (rows - 1) * x_stride + depth codes (int8, or int16 for kind 16),
//     w: kind 8: (outputs - 1) * w_stride + depth int8, row o at o * w_stride;
//        kind 16: (depth - 1) * w_stride + outputs int8, the transposed v[k * w_stride + o],
//     bias: outputs i32 (flag 1), multiplier then shift: outputs i32 each (flag 2).
//   kind 103: lavit_layernorm (QUANT.md kernel 3), flags 0.
//     i64 rows, channels, zero_in, epsilon, shift, zero_out, i32 call count,
//     calls: i64 row_begin, row_end each, gain: channels i32, bias: channels i64,
//     x: rows * channels int8.
//   kind 106: lavit_softmax (kernel 6), flags 0.
//     i64 rows, cols, i32 call count, calls: i64 row_begin, row_end each, table: 256 i32,
//     a: rows * cols int8.
//   kind 104: lavit_add2 (kernel 4); flags 0: y apart, 1: y is a, 2: y is b.
//     i64 count, zero_a, zero_b, zero_out, multiplier_a, multiplier_b, shift, i32 call count,
//     calls: i64 begin, end each (elements), a: count int8, b: count int8.
//   kind 108: lavit_lookup (kernel 8, GELU); flags 0: y apart, 1: y is x.
//     i64 count, i32 call count, calls: i64 begin, end each (elements), table: 256 int8,
//     x: count int8.
// OUT: per case, twice (y filled first with SENTINEL_A, then SENTINEL_B), GUARD bytes, the bytes
// of y, GUARD bytes, after running every call on it. y is (rows - 1) * y_stride + outputs bytes for
// the GEMMs, rows * channels for layernorm, rows * cols int16 for softmax, count bytes for add2
// and lookup. Where y is an input (add2 flags 1 and 2, lookup flag 1), that input is copied into
// y between the sentinel guards before the calls, instead of the sentinel.
//
// Every input the kernels read apart from an in-place y (x, the weights given to prepare, gains,
// biases, tables, the other add2 operand) ends at a page followed by an inaccessible page, so a
// read past its end faults, and is read-only while the kernels run, so a write to it faults.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lavit_kernels.h"

enum { GUARD = 64, SENTINEL_A = 0x55, SENTINEL_B = 0xAA };

static void fail(const char *message) {
    fprintf(stderr, "harness: %s\n", message);
    exit(2);
}

static FILE *input;

static void read_bytes(void *p, size_t n) {
    if (n != 0 && fread(p, 1, n, input) != n) fail("vector file truncated");
}

static int32_t read_i32(void) {
    uint8_t b[4];
    read_bytes(b, 4);
    return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
}

static int64_t read_i64(void) {
    uint64_t lo = (uint32_t)read_i32(), hi = (uint32_t)read_i32();
    return (int64_t)(lo | hi << 32);
}

static size_t read_size(void) {
    int64_t v = read_i64();
    if (v < 0 || v > (1 << 30)) fail("size out of range");
    return (size_t)v;
}

/// `bytes` readable bytes ending where an inaccessible page begins.
typedef struct {
    void *base;
    size_t mapped;
    void *data;
} guarded;

static guarded guarded_alloc(size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), body = (bytes + page - 1) / page * page;
    guarded g;
    g.mapped = body + page;
    g.base = mmap(NULL, g.mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.base == MAP_FAILED) fail("mmap failed");
    if (mprotect((char *)g.base + body, page, PROT_NONE) != 0) fail("mprotect failed");
    g.data = (char *)g.base + body - bytes;
    return g;
}

/// Makes `g` read-only once filled.
static void guarded_seal(guarded g) {
    if (mprotect(g.base, g.mapped - (size_t)sysconf(_SC_PAGESIZE), PROT_READ) != 0) fail("mprotect failed");
}

static void guarded_free(guarded g) { munmap(g.base, g.mapped); }

/// A guarded copy of `bytes` bytes of the vector file, sealed.
static guarded read_guarded(size_t bytes) {
    guarded g = guarded_alloc(bytes);
    read_bytes(g.data, bytes);  // the file is little-endian, like AArch64
    guarded_seal(g);
    return g;
}

static void *aligned(size_t bytes) {
    size_t n = (bytes + LAVIT_ALIGNMENT - 1) / LAVIT_ALIGNMENT * LAVIT_ALIGNMENT;
    void *p = aligned_alloc(LAVIT_ALIGNMENT, n == 0 ? LAVIT_ALIGNMENT : n);
    if (p == NULL) fail("out of memory");
    return p;
}

static int variant_named(const char *name) {
    if (strcmp(name, "neon") == 0) return LAVIT_VARIANT_NEON;
    if (strcmp(name, "neon_dot") == 0) return LAVIT_VARIANT_NEON_DOT;
    fail("unknown variant (neon, neon_dot)");
    return 0;
}

static void run_gemm(int variant, int32_t kind, int32_t flags, FILE *output) {
    const size_t rows = read_size(), depth = read_size(), outputs = read_size();
    const size_t x_stride = read_size(), y_stride = read_size(), w_stride = read_size();
    const int64_t multiplier_uniform = read_i64(), shift_uniform = read_i64();
    const int32_t zero_point = read_i32(), call_count = read_i32();
    if ((kind != 8 && kind != 16) || rows == 0 || depth == 0 || outputs == 0 || call_count < 0) fail("bad case header");
    if (x_stride < depth || y_stride < outputs) fail("bad strides");
    if (kind == 8 ? w_stride < depth : w_stride < outputs) fail("bad weight stride");

    int64_t (*calls)[4] = malloc(sizeof *calls * (size_t)(call_count > 0 ? call_count : 1));
    for (int32_t c = 0; c < call_count; c++)
        for (int i = 0; i < 4; i++) calls[c][i] = read_i64();

    const size_t element = kind == 8 ? 1 : 2;
    const size_t x_count = (rows - 1) * x_stride + depth;
    guarded x = read_guarded(x_count * element);
    const size_t w_count = kind == 8 ? (outputs - 1) * w_stride + depth : (depth - 1) * w_stride + outputs;
    guarded w = read_guarded(w_count);

    int32_t *bias = NULL, *multiplier = NULL, *shift = NULL;
    if (flags & 1) {
        bias = malloc(outputs * sizeof *bias);
        for (size_t o = 0; o < outputs; o++) bias[o] = read_i32();
    }
    if (flags & 2) {
        multiplier = malloc(outputs * sizeof *multiplier);
        shift = malloc(outputs * sizeof *shift);
        for (size_t o = 0; o < outputs; o++) multiplier[o] = read_i32();
        for (size_t o = 0; o < outputs; o++) shift[o] = read_i32();
    }

    lavit_gemm_plan plan;
    void *storage;
    if (kind == 8) {
        storage = aligned(lavit_prepare_bytes(variant, outputs, depth));
        lavit_prepare(variant, w.data, w_stride, outputs, depth, bias, multiplier, shift, storage, &plan);
    } else {
        if (flags & 3) fail("kind 16 takes no bias and uniform requantization");
        storage = aligned(lavit_prepare16_bytes(variant, outputs, depth));
        lavit_prepare16_transposed(variant, w.data, w_stride, outputs, depth, storage, &plan);
    }
    plan.zero_point = zero_point;
    if (!(flags & 2)) {
        plan.multiplier_uniform = multiplier_uniform;
        plan.shift_uniform = shift_uniform;
    }

    const size_t scratch_size = lavit_scratch_bytes(variant, depth);
    void *scratch = aligned(scratch_size);
    const size_t y_count = (rows - 1) * y_stride + outputs, total = GUARD + y_count + GUARD;
    uint8_t *y = malloc(total);
    const int sentinels[2] = {SENTINEL_A, SENTINEL_B};
    for (int pass = 0; pass < 2; pass++) {
        memset(y, sentinels[pass], total);
        for (int32_t c = 0; c < call_count; c++) {
            const int64_t r0 = calls[c][0], r1 = calls[c][1], o0 = calls[c][2], o1 = calls[c][3];
            if (r0 < 0 || r1 <= r0 || (size_t)r1 > rows || o0 < 0 || o1 <= o0 || (size_t)o1 > outputs || o0 % LAVIT_BLOCK != 0)
                fail("bad call");
            int8_t *y_rows = (int8_t *)(y + GUARD) + (size_t)r0 * y_stride;
            if (kind == 8)
                lavit_gemm((const int8_t *)x.data + (size_t)r0 * x_stride, (size_t)(r1 - r0), x_stride, &plan, (size_t)o0,
                           (size_t)o1, y_rows, y_stride, scratch);
            else
                lavit_gemm16((const int16_t *)x.data + (size_t)r0 * x_stride, (size_t)(r1 - r0), x_stride, &plan,
                             (size_t)o0, (size_t)o1, y_rows, y_stride, scratch);
        }
        if (fwrite(y, 1, total, output) != total) fail("write failed");
    }

    free(y);
    free(scratch);
    free(storage);
    free(bias);
    free(multiplier);
    free(shift);
    free(calls);
    guarded_free(x);
    guarded_free(w);
}

/// The [begin, end) ranges of a row-wise case's calls, each within `units` (rows or elements).
static int64_t (*read_ranges(int32_t count, size_t units))[2] {
    if (count < 0) fail("bad call count");
    int64_t (*ranges)[2] = malloc(sizeof *ranges * (size_t)(count > 0 ? count : 1));
    for (int32_t c = 0; c < count; c++) {
        ranges[c][0] = read_i64();
        ranges[c][1] = read_i64();
        if (ranges[c][0] < 0 || ranges[c][1] <= ranges[c][0] || (size_t)ranges[c][1] > units) fail("bad call");
    }
    return ranges;
}

/// The output of a row-wise case: GUARD bytes, `bytes` of y, GUARD bytes.
static uint8_t *output_buffer(size_t bytes, int sentinel) {
    uint8_t *y = malloc(GUARD + bytes + GUARD);
    if (y == NULL) fail("out of memory");
    memset(y, sentinel, GUARD + bytes + GUARD);
    return y;
}

static void write_output(const uint8_t *y, size_t bytes, FILE *output) {
    if (fwrite(y, 1, GUARD + bytes + GUARD, output) != GUARD + bytes + GUARD) fail("write failed");
}

static void run_layernorm(int variant, int32_t flags, FILE *output) {
    const size_t rows = read_size(), channels = read_size();
    const int64_t zero_in = read_i64(), epsilon = read_i64(), shift = read_i64(), zero_out = read_i64();
    if (flags != 0 || rows == 0 || channels == 0) fail("bad layernorm header");
    const int32_t call_count = read_i32();
    int64_t (*calls)[2] = read_ranges(call_count, rows);
    guarded gain = read_guarded(channels * sizeof(int32_t)), bias = read_guarded(channels * sizeof(int64_t));
    guarded x = read_guarded(rows * channels);
    const lavit_layernorm_params p = {
        .gain = gain.data, .bias = bias.data, .zero_in = zero_in, .epsilon = epsilon, .shift = shift,
        .zero_out = zero_out, .channels = channels};
    const int sentinels[2] = {SENTINEL_A, SENTINEL_B};
    for (int pass = 0; pass < 2; pass++) {
        uint8_t *y = output_buffer(rows * channels, sentinels[pass]);
        for (int32_t c = 0; c < call_count; c++) {
            const size_t r0 = (size_t)calls[c][0], r1 = (size_t)calls[c][1];
            lavit_layernorm(variant, &p, (const int8_t *)x.data + r0 * channels, r1 - r0, (int8_t *)(y + GUARD) + r0 * channels);
        }
        write_output(y, rows * channels, output);
        free(y);
    }
    free(calls);
    guarded_free(gain);
    guarded_free(bias);
    guarded_free(x);
}

static void run_softmax(int variant, int32_t flags, FILE *output) {
    const size_t rows = read_size(), cols = read_size();
    if (flags != 0 || rows == 0 || cols == 0) fail("bad softmax header");
    const int32_t call_count = read_i32();
    int64_t (*calls)[2] = read_ranges(call_count, rows);
    guarded table = read_guarded(256 * sizeof(int32_t)), a = read_guarded(rows * cols);
    const int sentinels[2] = {SENTINEL_A, SENTINEL_B};
    for (int pass = 0; pass < 2; pass++) {
        uint8_t *y = output_buffer(rows * cols * sizeof(int16_t), sentinels[pass]);
        for (int32_t c = 0; c < call_count; c++) {
            const size_t r0 = (size_t)calls[c][0], r1 = (size_t)calls[c][1];
            // y + GUARD is 2-byte aligned: malloc's alignment plus GUARD, a multiple of 2.
            lavit_softmax(variant, (const int8_t *)a.data + r0 * cols, r1 - r0, cols, table.data,
                          (int16_t *)(void *)(y + GUARD) + r0 * cols);
        }
        write_output(y, rows * cols * sizeof(int16_t), output);  // little-endian, like the file
        free(y);
    }
    free(calls);
    guarded_free(table);
    guarded_free(a);
}

static void run_add2(int variant, int32_t flags, FILE *output) {
    const size_t count = read_size();
    lavit_add2_params p;
    p.zero_a = read_i64();
    p.zero_b = read_i64();
    p.zero_out = read_i64();
    p.multiplier_a = read_i64();
    p.multiplier_b = read_i64();
    p.shift = read_i64();
    if (flags < 0 || flags > 2 || count == 0) fail("bad add2 header");
    const int32_t call_count = read_i32();
    int64_t (*calls)[2] = read_ranges(call_count, count);
    guarded a = read_guarded(count), b = read_guarded(count);
    const int sentinels[2] = {SENTINEL_A, SENTINEL_B};
    for (int pass = 0; pass < 2; pass++) {
        uint8_t *y = output_buffer(count, sentinels[pass]);
        int8_t *yc = (int8_t *)(y + GUARD);
        const int8_t *ac = a.data, *bc = b.data;
        if (flags == 1) memcpy(yc, ac, count), ac = yc;
        if (flags == 2) memcpy(yc, bc, count), bc = yc;
        for (int32_t c = 0; c < call_count; c++) {
            const size_t i0 = (size_t)calls[c][0], i1 = (size_t)calls[c][1];
            lavit_add2(variant, &p, ac + i0, bc + i0, i1 - i0, yc + i0);
        }
        write_output(y, count, output);
        free(y);
    }
    free(calls);
    guarded_free(a);
    guarded_free(b);
}

static void run_lookup(int variant, int32_t flags, FILE *output) {
    const size_t count = read_size();
    if (flags < 0 || flags > 1 || count == 0) fail("bad lookup header");
    const int32_t call_count = read_i32();
    int64_t (*calls)[2] = read_ranges(call_count, count);
    guarded table = read_guarded(256), x = read_guarded(count);
    const int sentinels[2] = {SENTINEL_A, SENTINEL_B};
    for (int pass = 0; pass < 2; pass++) {
        uint8_t *y = output_buffer(count, sentinels[pass]);
        int8_t *yc = (int8_t *)(y + GUARD);
        const int8_t *xc = x.data;
        if (flags == 1) memcpy(yc, xc, count), xc = yc;
        for (int32_t c = 0; c < call_count; c++) {
            const size_t i0 = (size_t)calls[c][0], i1 = (size_t)calls[c][1];
            lavit_lookup(variant, xc + i0, table.data, i1 - i0, yc + i0);
        }
        write_output(y, count, output);
        free(y);
    }
    free(calls);
    guarded_free(table);
    guarded_free(x);
}

static void run_case(int variant, FILE *output) {
    const int32_t kind = read_i32(), flags = read_i32();
    switch (kind) {
    case 8:
    case 16: run_gemm(variant, kind, flags, output); break;
    case 103: run_layernorm(variant, flags, output); break;
    case 104: run_add2(variant, flags, output); break;
    case 106: run_softmax(variant, flags, output); break;
    case 108: run_lookup(variant, flags, output); break;
    default: fail("unknown case kind");
    }
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "supported") == 0) {
        printf("neon=%d neon_dot=%d\n", lavit_variant_supported(LAVIT_VARIANT_NEON),
               lavit_variant_supported(LAVIT_VARIANT_NEON_DOT));
        return 0;
    }
    if (argc != 4) fail("usage: harness supported | harness <neon|neon_dot> IN OUT");
    const int variant = variant_named(argv[1]);
    if (!lavit_variant_supported(variant)) {
        fprintf(stderr, "harness: variant %s is not supported on this CPU\n", argv[1]);
        return 3;
    }
    input = fopen(argv[2], "rb");
    if (input == NULL) fail("cannot open the vector file");
    FILE *output = fopen(argv[3], "wb");
    if (output == NULL) fail("cannot create the output file");
    char magic[8];
    read_bytes(magic, 8);
    if (memcmp(magic, "LAVITAV1", 8) != 0) fail("not a vector file");
    const int32_t cases = read_i32();
    for (int32_t c = 0; c < cases; c++) run_case(variant, output);
    if (fclose(output) != 0) fail("write failed");
    fclose(input);
    return 0;
}
