#ifndef LAVIT_CSYSTEMSHIMS_SHIM_H
#define LAVIT_CSYSTEMSHIMS_SHIM_H

// What the system-call layer needs that Swift's Glibc module does not show: accept4 (a GNU
// extension) and libv4l2. Swift cannot call variadic C functions (v4l2_open, v4l2_ioctl) nor see function-like macros
// (VIDIOC_*, v4l2_fourcc), so this header re-exports them as inline functions and constants.
#include <stddef.h>
#include <sys/socket.h>
#include <stdint.h>
#include <sys/mman.h>
#include <linux/videodev2.h>
#include <libv4l2.h>

// The layouts Swift code fills in by hand must be the 64-bit ABI the ioctl numbers encode.
_Static_assert(sizeof(struct v4l2_capability) == 104, "v4l2_capability layout");
_Static_assert(sizeof(struct v4l2_format) == 208, "v4l2_format layout");
_Static_assert(sizeof(struct v4l2_requestbuffers) == 20, "v4l2_requestbuffers layout");
_Static_assert(sizeof(struct v4l2_buffer) == 88, "v4l2_buffer layout");
_Static_assert(sizeof(struct v4l2_streamparm) == 204, "v4l2_streamparm layout");
_Static_assert(sizeof(struct v4l2_frmsizeenum) == 44, "v4l2_frmsizeenum layout");
_Static_assert(sizeof(struct v4l2_fmtdesc) == 64, "v4l2_fmtdesc layout");

// Declared by hand: defining _GNU_SOURCE here would make glibc's structs differ from Swift's Glibc
// module's.
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
static inline int lavit_accept4(int fd, int flags) { return accept4(fd, NULL, NULL, flags); }

/// The CPU's spin-wait hint, for a worker waiting a few microseconds for its next job.
static inline void lavit_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline int lavit_v4l2_open(const char *path, int flags) { return v4l2_open(path, flags); }
static inline int lavit_v4l2_close(int fd) { return v4l2_close(fd); }
static inline int lavit_v4l2_ioctl(int fd, unsigned long request, void *argument) {
    return v4l2_ioctl(fd, request, argument);
}
static inline void *lavit_v4l2_mmap(size_t length, int fd, int64_t offset) {
    return v4l2_mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
}
static inline int lavit_v4l2_munmap(void *address, size_t length) { return v4l2_munmap(address, length); }

static const unsigned long LAVIT_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
static const unsigned long LAVIT_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
static const unsigned long LAVIT_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
static const unsigned long LAVIT_VIDIOC_G_FMT = VIDIOC_G_FMT;
static const unsigned long LAVIT_VIDIOC_S_FMT = VIDIOC_S_FMT;
static const unsigned long LAVIT_VIDIOC_S_PARM = VIDIOC_S_PARM;
static const unsigned long LAVIT_VIDIOC_REQBUFS = VIDIOC_REQBUFS;
static const unsigned long LAVIT_VIDIOC_QUERYBUF = VIDIOC_QUERYBUF;
static const unsigned long LAVIT_VIDIOC_QBUF = VIDIOC_QBUF;
static const unsigned long LAVIT_VIDIOC_DQBUF = VIDIOC_DQBUF;
static const unsigned long LAVIT_VIDIOC_STREAMON = VIDIOC_STREAMON;
static const unsigned long LAVIT_VIDIOC_STREAMOFF = VIDIOC_STREAMOFF;

static const unsigned long LAVIT_VIDIOC_G_PARM = VIDIOC_G_PARM;

// Typed as the __u32 fields they go into: Swift imports the enums and large hex macros as other
// integer types.
static const uint32_t LAVIT_BUF_TYPE_VIDEO_CAPTURE = V4L2_BUF_TYPE_VIDEO_CAPTURE;
static const uint32_t LAVIT_MEMORY_MMAP = V4L2_MEMORY_MMAP;
static const uint32_t LAVIT_FIELD_ANY = V4L2_FIELD_ANY;
static const uint32_t LAVIT_CAP_VIDEO_CAPTURE = V4L2_CAP_VIDEO_CAPTURE;
static const uint32_t LAVIT_CAP_STREAMING = V4L2_CAP_STREAMING;
static const uint32_t LAVIT_CAP_DEVICE_CAPS = V4L2_CAP_DEVICE_CAPS;
static const uint32_t LAVIT_CAP_TIMEPERFRAME = V4L2_CAP_TIMEPERFRAME;
static const uint32_t LAVIT_FRMSIZE_TYPE_DISCRETE = V4L2_FRMSIZE_TYPE_DISCRETE;
static const uint32_t LAVIT_FRMSIZE_TYPE_CONTINUOUS = V4L2_FRMSIZE_TYPE_CONTINUOUS;
static const uint32_t LAVIT_FRMSIZE_TYPE_STEPWISE = V4L2_FRMSIZE_TYPE_STEPWISE;
static const uint32_t LAVIT_BUF_FLAG_ERROR = V4L2_BUF_FLAG_ERROR;
static const uint32_t LAVIT_BUF_FLAG_TIMESTAMP_MASK = V4L2_BUF_FLAG_TIMESTAMP_MASK;
static const uint32_t LAVIT_BUF_FLAG_TIMESTAMP_MONOTONIC = V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;

static const uint32_t LAVIT_PIX_FMT_MJPEG = V4L2_PIX_FMT_MJPEG;
static const uint32_t LAVIT_PIX_FMT_JPEG = V4L2_PIX_FMT_JPEG;
static const uint32_t LAVIT_PIX_FMT_YUYV = V4L2_PIX_FMT_YUYV;

#endif
