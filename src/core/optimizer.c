/* optimizer.c: Keras's SGD, Adam and RMSprop update rules (see
 * optimizer.h), each one pass over all parameters. */
#include "core/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/parallel.h"

static const char *const names[OPT_COUNT] = {
    [OPT_SGD] = "sgd", [OPT_ADAM] = "adam", [OPT_RMSPROP] = "rmsprop",
};

const char *optimizer_name(optimizer_kind k)
{
    return (unsigned)k < OPT_COUNT ? names[k] : NULL;
}

int optimizer_from_name(const char *name)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *optimizer_names(void)
{
    return "adam, sgd, rmsprop";
}

optimizer_spec optimizer_defaults(optimizer_kind k)
{
    optimizer_spec s = {.kind = k, .beta_1 = 0.9f, .beta_2 = 0.999f,
                        .rho = 0.9f, .epsilon = 1e-7f};
    s.learning_rate = k == OPT_SGD ? 0.01f : 1e-3f;
    return s;
}

int optimizer_check(const optimizer_spec *s, char *err)
{
    if ((unsigned)s->kind >= OPT_COUNT)
        return ember_fail(err, "unknown optimizer (%s)", optimizer_names());
    if (!(s->learning_rate > 0.0f) || !isfinite(s->learning_rate))
        return ember_fail(err, "%s: learning rate must be a positive number (got %g)",
                          names[s->kind], (double)s->learning_rate);
    if (!(s->momentum >= 0.0f && s->momentum < 1.0f))
        return ember_fail(err, "sgd: momentum must be in [0, 1) (got %g)", (double)s->momentum);
    if (!(s->beta_1 >= 0.0f && s->beta_1 < 1.0f) || !(s->beta_2 >= 0.0f && s->beta_2 < 1.0f))
        return ember_fail(err, "adam: beta_1 and beta_2 must be in [0, 1) (got %g, %g)",
                          (double)s->beta_1, (double)s->beta_2);
    if (!(s->rho >= 0.0f && s->rho < 1.0f))
        return ember_fail(err, "rmsprop: rho must be in [0, 1) (got %g)", (double)s->rho);
    if (!(s->epsilon > 0.0f) || !isfinite(s->epsilon))
        return ember_fail(err, "%s: epsilon must be a positive number (got %g)",
                          names[s->kind], (double)s->epsilon);
    return 0;
}

int optimizer_init(optimizer *o, optimizer_spec spec, size_t n, char *err)
{
    if (optimizer_check(&spec, err) < 0)
        return -1;
    bool need_m = spec.kind == OPT_ADAM || (spec.kind == OPT_SGD && spec.momentum > 0.0f);
    bool need_v = spec.kind == OPT_ADAM || spec.kind == OPT_RMSPROP;
    float *m = need_m ? calloc(n ? n : 1, sizeof *m) : NULL;
    float *v = need_v ? calloc(n ? n : 1, sizeof *v) : NULL;
    if ((need_m && !m) || (need_v && !v)) {
        free(m);
        free(v);
        return ember_fail(err, "%s: out of memory for the state of %zu parameters (%.1f MB)",
                          names[spec.kind], n, 2.0 * n * sizeof(float) / 1e6);
    }
    *o = (optimizer){.spec = spec, .n = n, .m = m, .v = v};
    return 0;
}

void optimizer_free(optimizer *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

/* One update, over parameters [first, end) of the arrays below; the pool
 * (parallel.c) gives each thread its own range. Every element's update
 * depends on that element alone, so any split gives the same bits. The
 * loops are written for the vectoriser (restrict, no calls: sqrtf becomes
 * one instruction with -fno-math-errno, see meson.build): the update is a
 * stream through four arrays of ~1M floats, bound by memory bandwidth. */
typedef struct update_job {
    const optimizer_spec *spec;
    float       *restrict w;
    float       *restrict g;
    float       *restrict m;     /* sgd velocity, adam first moment, or NULL */
    float       *restrict v;     /* adam second moment, rmsprop mean square */
    float        alpha;          /* adam: step size with bias corrections */
    bool         clear;          /* zero the gradients once used */
} update_job;

/* Zeroing here, right after the update read them, costs less than the
 * pass OpenBLAS makes over dW for beta = 0 (model.c). */
static void clear_used(const update_job *j, size_t first, size_t end)
{
    if (j->clear)
        memset(j->g + first, 0, (end - first) * sizeof *j->g);
}

static void sgd(void *ctx, size_t first, size_t end)
{
    const update_job *j = ctx;
    const float lr = j->spec->learning_rate, mu = j->spec->momentum;
    float *restrict w = j->w, *restrict v = j->m;
    const float *restrict g = j->g;
    if (!v) {
        for (size_t i = first; i < end; i++)
            w[i] -= lr * g[i];
        clear_used(j, first, end);
        return;
    }
    if (j->spec->nesterov) {
        for (size_t i = first; i < end; i++) {
            v[i] = mu * v[i] - lr * g[i];
            w[i] += mu * v[i] - lr * g[i];
        }
    } else {
        for (size_t i = first; i < end; i++) {
            v[i] = mu * v[i] - lr * g[i];
            w[i] += v[i];
        }
    }
    clear_used(j, first, end);
}

static void adam(void *ctx, size_t first, size_t end)
{
    const update_job *j = ctx;
    const float b1 = j->spec->beta_1, b2 = j->spec->beta_2, eps = j->spec->epsilon;
    const float alpha = j->alpha;
    float *restrict w = j->w, *restrict m = j->m, *restrict v = j->v;
    const float *restrict g = j->g;
    for (size_t i = first; i < end; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] -= alpha * mi / (sqrtf(vi) + eps);
    }
    clear_used(j, first, end);
}

static void rmsprop(void *ctx, size_t first, size_t end)
{
    const update_job *j = ctx;
    const float lr = j->spec->learning_rate, rho = j->spec->rho, eps = j->spec->epsilon;
    float *restrict w = j->w, *restrict v = j->v;
    const float *restrict g = j->g;
    for (size_t i = first; i < end; i++) {
        float gi = g[i];
        float vi = rho * v[i] + (1.0f - rho) * gi * gi;
        v[i] = vi;
        w[i] -= lr * gi / sqrtf(vi + eps);
    }
    clear_used(j, first, end);
}

void optimizer_begin_step(optimizer *o)
{
    o->iterations++;
}

void optimizer_update_range(optimizer *o, float *params, float *grads, size_t first,
                            size_t count, bool clear_grads)
{
    update_job job = {.spec = &o->spec, .w = params + first, .g = grads + first,
                      .m = o->m ? o->m + first : NULL, .v = o->v ? o->v + first : NULL,
                      .clear = clear_grads};
    parallel_fn fn = NULL;
    switch (o->spec.kind) {
    case OPT_SGD:
        fn = sgd;
        break;
    case OPT_ADAM: {
        const float b1 = o->spec.beta_1, b2 = o->spec.beta_2;
        double t = (double)o->iterations;   /* already counts this step */
        /* Keras folds both bias corrections into the step size. */
        job.alpha = (float)(o->spec.learning_rate * sqrt(1.0 - pow(b2, t)) / (1.0 - pow(b1, t)));
        fn = adam;
        break;
    }
    case OPT_RMSPROP:
        fn = rmsprop;
        break;
    case OPT_COUNT:
        return;
    }
    /* 16k parameters (256 KB over the four arrays) a chunk: small enough to
     * balance two threads, large enough that claiming one costs nothing;
     * fewer than 64k parameters run on the caller (parallel_for). */
    parallel_for(count, (size_t)1 << 14, fn, &job);
}

void optimizer_update(optimizer *o, float *params, const float *grads)
{
    optimizer_begin_step(o);
    /* Not clearing: the cast only lets the shared code take grads. */
    optimizer_update_range(o, params, (float *)grads, 0, o->n, false);
}
