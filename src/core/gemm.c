/* gemm.c: cblas_sgemm, or a plain C fallback when built with blas=none.
 *
 * The fallback is for portability, not speed: a loop nest ordered so the
 * innermost loop walks contiguous memory of B and C. */
#include "core/gemm.h"

#include <stdio.h>
#include <unistd.h>

#ifdef EMBER_BLAS_OPENBLAS
#include <cblas.h>

void gemm(bool trans_a, bool trans_b, int m, int n, int k,
          float alpha, const float *a, int lda, const float *b, int ldb,
          float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_set_threads(int n)
{
    if (n <= 0)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    openblas_set_num_threads(n < 1 ? 1 : n);
}

int gemm_threads(void)
{
    return openblas_get_num_threads();
}

const char *gemm_backend(void)
{
    static char name[96];
    if (!name[0]) {
        /* openblas_get_config() starts "OpenBLAS 0.3.21 DYNAMIC_ARCH ...". */
        const char *config = openblas_get_config();
        int len = 0;
        while (config[len] && len < 60) {
            if (config[len] == ' ' && len > 9)   /* after the version */
                break;
            len++;
        }
        snprintf(name, sizeof name, "%.*s (%s)", len, config, openblas_get_corename());
    }
    return name;
}

#else

void gemm(bool trans_a, bool trans_b, int m, int n, int k,
          float alpha, const float *a, int lda, const float *b, int ldb,
          float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++)
            ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
        for (int p = 0; p < k; p++) {
            float aip = trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
            aip *= alpha;
            if (aip == 0.0f)
                continue;
            if (!trans_b) {
                const float *bp = b + (size_t)p * ldb;
                for (int j = 0; j < n; j++)
                    ci[j] += aip * bp[j];
            } else {
                for (int j = 0; j < n; j++)
                    ci[j] += aip * b[(size_t)j * ldb + p];
            }
        }
    }
}

void gemm_set_threads(int n)
{
    (void)n;
}

int gemm_threads(void)
{
    return 1;
}

const char *gemm_backend(void)
{
    return "plain C";
}

#endif
