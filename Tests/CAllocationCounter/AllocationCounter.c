// Interposes the C allocator for the whole test process: symbols defined in the executable come
// first in the dynamic linker's lookup, so libc, the Swift runtime and Foundation all reach these.
// Each forwards to glibc's own entry points, which are not interposed. The counters are
// thread-local (initial-exec TLS of the executable itself, which never allocates).
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "CAllocationCounter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);

static __thread long allocations;
static __thread long frees;
static __thread size_t largest;
static long process_allocations;

long lavit_alloc_count(void) { return allocations; }
long lavit_alloc_count_process(void) { return __atomic_load_n(&process_allocations, __ATOMIC_RELAXED); }
long lavit_free_count(void) { return frees; }
size_t lavit_alloc_largest(void) { return largest; }

void lavit_alloc_count_reset(void) {
    allocations = 0;
    frees = 0;
    largest = 0;
}

static void note(size_t size) {
    allocations++;
    __atomic_fetch_add(&process_allocations, 1, __ATOMIC_RELAXED);
    if (size > largest) largest = size;
}

void *malloc(size_t size) {
    note(size);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    note(count * size);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    note(size);
    return __libc_realloc(pointer, size);
}

void free(void *pointer) {
    frees++;
    __libc_free(pointer);
}

static int power_of_two(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

int posix_memalign(void **out, size_t alignment, size_t size) {
    note(size);
    if (!power_of_two(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    note(size);
    return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    note(size);
    return __libc_memalign(alignment, size);
}
