#ifndef LAVIT_CPNG_SHIM_H
#define LAVIT_CPNG_SHIM_H

// libpng reports errors by longjmp. Every libpng call of lavit sits inside one of the two
// functions below, each with its own setjmp, so a longjmp only ever unwinds C frames and Swift
// sees a return code and a message. Each call is self-contained (it parses the file from the
// start), so no libpng state lives between calls.

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

/// The file being read and where an error message goes.
typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
    char *message;
    size_t message_capacity;
} lavit_png_source;

static inline void lavit_png_on_error(png_structp png, png_const_charp text) {
    lavit_png_source *source = (lavit_png_source *)png_get_error_ptr(png);
    snprintf(source->message, source->message_capacity, "%s", text);
    png_longjmp(png, 1);
}

/// Warnings are benign by libpng's own classification (a bad ancillary chunk, extra data after
/// the image); anything that spoils pixels is an error.
static inline void lavit_png_on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static inline void lavit_png_on_read(png_structp png, png_bytep out, size_t length) {
    lavit_png_source *source = (lavit_png_source *)png_get_io_ptr(png);
    if (length > source->size - source->offset) {
        png_error(png, "file ends inside a chunk");
    }
    memcpy(out, source->data + source->offset, length);
    source->offset += length;
}

/// Creates the read and info structs; 0 on success, -1 (message set) when out of memory.
static inline int lavit_png_create(lavit_png_source *source, png_structp *png, png_infop *info) {
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, source, lavit_png_on_error, lavit_png_on_warning);
    *info = *png ? png_create_info_struct(*png) : NULL;
    if (*info == NULL) {
        png_destroy_read_struct(png, NULL, NULL);
        snprintf(source->message, source->message_capacity, "out of memory");
        return -1;
    }
    png_set_read_fn(*png, source, lavit_png_on_read);
    return 0;
}

/// Reads the header: 0 and the size, or -1 and a message in `message`.
static inline int lavit_png_header(const unsigned char *data, size_t size, unsigned int *width,
                                   unsigned int *height, char *message, size_t message_capacity) {
    lavit_png_source source = {data, size, 0, message, message_capacity};
    png_structp png;
    png_infop info;
    if (lavit_png_create(&source, &png, &info) != 0) return -1;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_read_info(png, info);
    *width = png_get_image_width(png, info);
    *height = png_get_image_height(png, info);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

/// Decodes the whole file into `out`, `width * height * 3` bytes of 8-bit RGB: palette and
/// low-bit-depth gray are expanded, gray is replicated into R, G and B, 16-bit samples are scaled
/// with rounding (libpng's png_set_scale_16: round(v * 255 / 65535)), alpha and tRNS are dropped
/// (not composited), gamma is ignored. `width` and `height` must be those of
/// lavit_png_header. 0 on success, -1 and a message in `message` otherwise.
static inline int lavit_png_decode_rgb(const unsigned char *data, size_t size, unsigned char *out,
                                       unsigned int width, unsigned int height, char *message,
                                       size_t message_capacity) {
    lavit_png_source source = {data, size, 0, message, message_capacity};
    png_structp png;
    png_infop info;
    if (lavit_png_create(&source, &png, &info) != 0) return -1;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_read_info(png, info);
    if (png_get_image_width(png, info) != width || png_get_image_height(png, info) != height) {
        png_error(png, "size differs from the header read before");
    }
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_scale_16(png);
    if ((color & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
    if ((color & PNG_COLOR_MASK_ALPHA) != 0 ||
        (color == PNG_COLOR_TYPE_PALETTE && png_get_valid(png, info, PNG_INFO_tRNS) != 0)) {
        png_set_strip_alpha(png);
    }
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t stride = (size_t)width * 3;
    if (png_get_rowbytes(png, info) != stride) {
        png_error(png, "rows are not 8-bit RGB after conversion");
    }
    for (int pass = 0; pass < passes; pass++) {
        for (unsigned int y = 0; y < height; y++) {
            png_read_row(png, out + (size_t)y * stride, NULL);
        }
    }
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

#endif
