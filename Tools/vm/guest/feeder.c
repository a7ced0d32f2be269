/* The MJPEG camera of the VM end-to-end test: writes JPEG files into a v4l2loopback device,
 * one write() per frame, at a fixed rate, following a playlist of "SECONDS PATH" lines. Before
 * each entry it prints "<CLOCK_REALTIME seconds> <PATH>" (the clock lavitd's `time` uses), so the
 * judge knows which file every result lavitd published was captured from. The files are sent as
 * they are: truncated and corrupt frames in the playlist reach lavitd unchanged.
 *
 *   feeder /dev/video10 1280 720 10 playlist.txt
 *
 * Built on the host (same Debian 12 glibc): cc -O2 -o feeder feeder.c
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "feeder: %s: %s\n", path, strerror(errno)); exit(1); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(n > 0 ? n : 1);
    if (!data || fread(data, 1, n, f) != (size_t)n) { fprintf(stderr, "feeder: %s: short read\n", path); exit(1); }
    fclose(f);
    *size = n;
    return data;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: feeder DEVICE WIDTH HEIGHT FPS PLAYLIST\n");
        return 2;
    }
    int width = atoi(argv[2]), height = atoi(argv[3]);
    double fps = atof(argv[4]);
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) { fprintf(stderr, "feeder: %s: %s\n", argv[1], strerror(errno)); return 1; }
    struct v4l2_format fmt;
    memset(&fmt, 0, sizeof fmt);
    fmt.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    fmt.fmt.pix.width = width;
    fmt.fmt.pix.height = height;
    fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
    fmt.fmt.pix.field = V4L2_FIELD_NONE;
    fmt.fmt.pix.sizeimage = width * height * 2;
    fmt.fmt.pix.colorspace = V4L2_COLORSPACE_SRGB;
    if (ioctl(fd, VIDIOC_S_FMT, &fmt) < 0) { fprintf(stderr, "feeder: VIDIOC_S_FMT: %s\n", strerror(errno)); return 1; }
    struct v4l2_streamparm parm;
    memset(&parm, 0, sizeof parm);
    parm.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    parm.parm.output.timeperframe.numerator = 1000;
    parm.parm.output.timeperframe.denominator = (unsigned)(fps * 1000);
    ioctl(fd, VIDIOC_S_PARM, &parm); /* advisory */

    FILE *list = fopen(argv[5], "r");
    if (!list) { fprintf(stderr, "feeder: %s: %s\n", argv[5], strerror(errno)); return 1; }
    char line[4096];
    double next = now(CLOCK_MONOTONIC);
    long frames = 0, failed = 0;
    while (fgets(line, sizeof line, list)) {
        double seconds;
        char path[4000];
        if (sscanf(line, "%lf %3999s", &seconds, path) != 2) continue;
        size_t size;
        unsigned char *data = slurp(path, &size);
        printf("%.6f %s\n", now(CLOCK_REALTIME), path);
        fflush(stdout);
        double end = now(CLOCK_MONOTONIC) + seconds;
        while (now(CLOCK_MONOTONIC) < end) {
            if (write(fd, data, size) != (ssize_t)size) failed++;
            frames++;
            next += 1.0 / fps;
            double wait = next - now(CLOCK_MONOTONIC);
            if (wait > 0) {
                struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
            } else {
                next = now(CLOCK_MONOTONIC);
            }
        }
        free(data);
    }
    printf("%.6f END frames=%ld failed_writes=%ld\n", now(CLOCK_REALTIME), frames, failed);
    fflush(stdout);
    return 0;
}
