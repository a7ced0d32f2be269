#ifndef LAVIT_ALLOCATION_COUNTER_H
#define LAVIT_ALLOCATION_COUNTER_H

#include <stddef.h>

/// Test-only: this target replaces malloc and friends in the test binary, forwarding to glibc and
/// counting calls per thread, so a test can prove a code path allocates nothing while tests on
/// other threads allocate freely.

/// Allocating calls (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) made by the
/// calling thread since its last reset.
long lavit_alloc_count(void);
/// free calls made by the calling thread since its last reset.
long lavit_free_count(void);
/// The largest single request the calling thread made since its last reset, so a test can prove a
/// small hostile file cannot make the reader ask for much.
size_t lavit_alloc_largest(void);
/// Sets the counters of the calling thread to zero.
void lavit_alloc_count_reset(void);
/// Allocating calls made by every thread of the process since it started, for benchmarks that run
/// alone in their process and use several threads.
long lavit_alloc_count_process(void);

#endif
