/* gemm.h: the one matrix product every layer uses.
 *
 * Row-major C = alpha * op(A) * op(B) + beta * C, with op(X) = X or X^T,
 * exactly cblas_sgemm's contract. With the meson option blas=openblas it is
 * cblas_sgemm; with blas=none a plain C loop nest that gives the same
 * results up to rounding, for machines without a BLAS.
 *
 * The thread count is process-wide in OpenBLAS, so it is set here and
 * nowhere else. */
#ifndef EMBER_GEMM_H
#define EMBER_GEMM_H

#include <stdbool.h>

void gemm(bool trans_a, bool trans_b, int m, int n, int k,
          float alpha, const float *a, int lda, const float *b, int ldb,
          float beta, float *c, int ldc);

/* Threads for matrix products; n <= 0 means one per core. */
void        gemm_set_threads(int n);
int         gemm_threads(void);
/* "OpenBLAS 0.3.21 (Zen)" or "plain C". */
const char *gemm_backend(void);

#endif
