/* fp.h: the floating-point mode training runs in.
 *
 * Denormal floats (below 1.2e-38) appear as soon as some outputs are
 * driven to 0, as the unused output units of a 30-unit model are, and each
 * operation on one costs a hundred times a normal one: Adam's update became
 * two thirds of a training step. TensorFlow flushes them to zero on its CPU
 * threads, so Keras's numbers are computed that way too; we do the same on
 * the thread that trains. The mode is per thread and cheap to set, so the
 * model sets it on every forward pass rather than relying on start-up. */
#ifndef EMBER_FP_H
#define EMBER_FP_H

#if defined(__x86_64__) || defined(__i386__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

static inline void fp_flush_denormals(void)
{
#if defined(__x86_64__) || defined(__i386__)
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr | (1ul << 24)));   /* FZ */
#endif
}

#endif
