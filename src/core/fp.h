/* fp.h: the floating-point mode training runs in.
 *
 * Denormal floats (below 1.2e-38) appear as soon as some outputs are
 * driven to 0, as the unused output units of a 30-unit model are, and each
 * operation on one costs a hundred times a normal one: Adam's update became
 * two thirds of a training step. TensorFlow flushes them to zero on its CPU
 * threads, so Keras's numbers are computed that way too; we do the same on
 * the thread that trains, for the length of each public training,
 * evaluation or prediction call (the mode is per thread and cheap to set),
 * and put the caller's mode back afterwards. */
#ifndef EMBER_FP_H
#define EMBER_FP_H

#if defined(__x86_64__) || defined(__i386__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

typedef unsigned int fp_mode;

/* Flushes denormals to zero on this thread until fp_leave; returns the
 * mode to restore, so Lua numbers computed between two training calls
 * keep IEEE semantics. */
static inline fp_mode fp_enter(void)
{
#if defined(__x86_64__) || defined(__i386__)
    fp_mode saved = _mm_getcsr();
    _mm_setcsr(saved | _MM_FLUSH_ZERO_ON | _MM_DENORMALS_ZERO_ON);
    return saved;
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr | (1ul << 24)));   /* FZ */
    return (fp_mode)fpcr;
#else
    return 0;
#endif
}

static inline void fp_leave(fp_mode saved)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(saved);
#elif defined(__aarch64__)
    unsigned long fpcr = saved;
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
#else
    (void)saved;
#endif
}

/* The calling thread's mode, and making it another thread's: the pool's
 * workers (parallel.c) run each job in its caller's mode, between
 * fp_adopt and fp_leave. */
static inline fp_mode fp_current(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return _mm_getcsr();
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return (fp_mode)fpcr;
#else
    return 0;
#endif
}

static inline fp_mode fp_adopt(fp_mode mode)
{
    fp_mode saved = fp_current();
    fp_leave(mode);
    return saved;
}

#endif
