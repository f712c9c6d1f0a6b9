/* optimizer.c: Keras's SGD, Adam and RMSprop update rules (see
 * optimizer.h), each one pass over all parameters. */
#include "core/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

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

static void sgd(optimizer *o, float *w, const float *g)
{
    const float lr = o->spec.learning_rate, mu = o->spec.momentum;
    size_t n = o->n;
    if (!o->m) {
        for (size_t i = 0; i < n; i++)
            w[i] -= lr * g[i];
        return;
    }
    float *v = o->m;
    for (size_t i = 0; i < n; i++) {
        v[i] = mu * v[i] - lr * g[i];
        w[i] += o->spec.nesterov ? mu * v[i] - lr * g[i] : v[i];
    }
}

static void adam(optimizer *o, float *w, const float *g)
{
    const float b1 = o->spec.beta_1, b2 = o->spec.beta_2, eps = o->spec.epsilon;
    double t = (double)o->iterations;   /* already counts this step */
    /* Keras folds both bias corrections into the step size. */
    float alpha = (float)(o->spec.learning_rate * sqrt(1.0 - pow(b2, t)) / (1.0 - pow(b1, t)));
    float *m = o->m, *v = o->v;
    size_t n = o->n;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        w[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}

static void rmsprop(optimizer *o, float *w, const float *g)
{
    const float lr = o->spec.learning_rate, rho = o->spec.rho, eps = o->spec.epsilon;
    float *v = o->v;
    size_t n = o->n;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        v[i] = rho * v[i] + (1.0f - rho) * gi * gi;
        w[i] -= lr * gi / sqrtf(v[i] + eps);
    }
}

void optimizer_update(optimizer *o, float *params, const float *grads)
{
    o->iterations++;
    switch (o->spec.kind) {
    case OPT_SGD:
        sgd(o, params, grads);
        break;
    case OPT_ADAM:
        adam(o, params, grads);
        break;
    case OPT_RMSPROP:
        rmsprop(o, params, grads);
        break;
    case OPT_COUNT:
        break;
    }
}
