/* bench.c: ember's benchmark suite (issue 7), one program, one run.
 *
 * What it measures, each figure the median of several repetitions with
 * their min and max, printed as one table and written as JSON:
 *   - training the forum model (784-512-1024-30: relu, relu, sigmoid; Adam;
 *     sparse categorical cross-entropy) for a full epoch of Fashion-MNIST,
 *     at batch 32 and 256, with 1 and 2 threads; and, interleaved with those
 *     epochs, the very same sequence of matrix products alone (recorded
 *     from a real epoch, replayed on the model's own buffers): the ratio
 *     of the two is how much a training step costs beyond its GEMMs;
 *   - inference: the 10,000 test images (through 256-row batches, as
 *     m:predict(test) does) and one sample;
 *   - loading the four gzip'd files next to bare zlib inflate of them;
 *   - start-up of `ember -e ''`;
 *   - peak resident memory of a process that trains one epoch;
 *   - the same model in PyTorch (tests/bench/forum_torch.py), where
 *     /usr/bin/python3 can import torch, as installed and with
 *     OMP_WAIT_POLICY=PASSIVE; otherwise those rows are skipped.
 *
 * The GEMM sequence is recorded by wrapping gemm() at link time
 * (-Wl,--wrap=gemm in tests/bench/meson.build): every call the model makes
 * goes through bench_wrap below, so the replay is exactly what training
 * multiplies, whatever layout model.c chooses.
 *
 * Timings are never asserted: the program fails only when something cannot
 * run at all (no data: it exits 77, meson's skip).
 *
 * Usage: bench [--ember PATH] [--torch SCRIPT] [--python PATH]
 *              [--json FILE] [--quick]
 * (--quick: fewer repetitions, for a smoke run.) */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/fp.h"
#include "core/gemm.h"
#include "core/model.h"
#include "core/train.h"
#include "data/dataset.h"

extern char **environ;

/* ---- the gemm() wrapper: records calls while recording is on ---------- */

typedef struct gemm_call {
    bool trans_a, trans_b;
    int m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
} gemm_call;

static struct {
    gemm_call *calls;
    size_t     count, cap;
    bool       on;
} trace;

void __real_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta,
                 float *c, int ldc);
void __wrap_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta,
                 float *c, int ldc);

void __wrap_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta,
                 float *c, int ldc)
{
    if (trace.on && trace.count < trace.cap)   /* room reserved beforehand */
        trace.calls[trace.count++] = (gemm_call){trans_a, trans_b, m, n, k, lda, ldb, ldc,
                                                 alpha, beta, a, b, c};
    __real_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static double trace_flops(void)
{
    double f = 0.0;
    for (size_t i = 0; i < trace.count; i++)
        f += 2.0 * trace.calls[i].m * trace.calls[i].n * trace.calls[i].k;
    return f;
}

static void trace_replay(void)
{
    fp_mode mode = fp_enter();   /* as training runs them */
    for (size_t i = 0; i < trace.count; i++) {
        const gemm_call *g = &trace.calls[i];
        __real_gemm(g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, g->a, g->lda,
                    g->b, g->ldb, g->beta, g->c, g->ldc);
    }
    fp_leave(mode);
}

/* ---- figures: repetitions, median, min, max ----------------------------- */

#define MAX_REPS 4096

typedef struct series {
    double v[MAX_REPS];
    int    n;
} series;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void add(series *s, double v)
{
    if (s->n < MAX_REPS)
        s->v[s->n++] = v;
}

static double median(const series *s)
{
    if (s->n == 0)
        return NAN;
    double tmp[MAX_REPS];
    memcpy(tmp, s->v, (size_t)s->n * sizeof *tmp);
    qsort(tmp, (size_t)s->n, sizeof *tmp, cmp_double);
    return s->n % 2 ? tmp[s->n / 2] : 0.5 * (tmp[s->n / 2 - 1] + tmp[s->n / 2]);
}

static double minimum(const series *s)
{
    double m = INFINITY;
    for (int i = 0; i < s->n; i++)
        m = s->v[i] < m ? s->v[i] : m;
    return m;
}

static double maximum(const series *s)
{
    double m = -INFINITY;
    for (int i = 0; i < s->n; i++)
        m = s->v[i] > m ? s->v[i] : m;
    return m;
}

/* One row of the table (and one JSON object): a median with its range, or
 * a note when the figure could not be measured. */
typedef struct row {
    char   name[80];
    char   unit[16];
    double med, min, max;
    int    reps;
    char   note[160];
} row;

static row rows[64];
static int n_rows;

static void report(const char *name, const char *unit, const series *s)
{
    if (n_rows == 64)
        return;
    row *r = &rows[n_rows++];
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    r->med = median(s);
    r->min = minimum(s);
    r->max = maximum(s);
    r->reps = s->n;
    fprintf(stderr, "  %-44s %10.4g %s (%d reps)\n", name, r->med, unit, s->n);
}

/* A ratio a / b from two series of the same length, pairwise (each pair
 * measured back to back, so load from other work hits both alike). */
static void report_ratio(const char *name, const series *a, const series *b)
{
    series r = {0};
    for (int i = 0; i < a->n && i < b->n; i++)
        add(&r, a->v[i] / b->v[i]);
    report(name, "x", &r);
}

static void report_note(const char *name, const char *note)
{
    if (n_rows == 64)
        return;
    row *r = &rows[n_rows++];
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->note, sizeof r->note, "%s", note);
    r->med = r->min = r->max = NAN;
    fprintf(stderr, "  %-44s %s\n", name, note);
}

/* ---- the forum model ---------------------------------------------------- */

static int forum_model(model *m, const dataset *ds, char *err)
{
    model_init(m, 42);
    if (model_add_flatten(m, err) < 0 || model_add_dense(m, 512, ACT_RELU, err) < 0 ||
        model_add_dense(m, 1024, ACT_RELU, err) < 0 ||
        model_add_dense(m, 30, ACT_SIGMOID, err) < 0 ||
        model_build(m, ds->rank, ds->shape, err) < 0)
        return -1;
    return model_compile(m, (loss){LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false},
                         optimizer_defaults(OPT_ADAM), err);
}

/* The seconds of one epoch from the cursor at an epoch boundary. */
static double time_epoch(model *m, const sample_source *src, int batch, char *err)
{
    train_options o = {.batch_size = batch};
    train_logs logs;
    bool stopped;
    double t = now();
    if (train_epoch(m, src, &o, &logs, &stopped, err) < 0) {
        fprintf(stderr, "bench: training failed: %s\n", err);
        exit(1);
    }
    return now() - t;
}

typedef struct training {
    series epoch, gemm;   /* seconds */
    double flops;         /* of one epoch's GEMMs */
    int    steps;
} training;

/* Epochs of the forum model and, after each, the same epoch's GEMMs alone.
 * keep: the trained model goes to the caller (for inference). */
static void bench_training(const dataset *train, int threads, int batch, int reps,
                           training *out, model *keep)
{
    char err[EMBER_ERR_SIZE];
    gemm_set_threads(threads);
    model m;
    if (forum_model(&m, train, err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    /* Warm-up on a slice (first-touch of buffers, the BLAS's threads); it
     * ends at an epoch boundary, so the timed epochs are whole ones. */
    dataset head;
    dataset_slice(train, 0, 50 * (size_t)batch, &head, err);
    sample_source warm = dataset_source(&head), src = dataset_source(train);
    time_epoch(&m, &warm, batch, err);

    out->steps = (int)((train->count + batch - 1) / batch);
    trace.cap = (size_t)out->steps * 16;
    trace.calls = realloc(trace.calls, trace.cap * sizeof *trace.calls);
    trace.count = 0;
    for (int r = 0; r < reps; r++) {
        trace.on = r == 0;
        add(&out->epoch, time_epoch(&m, &src, batch, err));
        trace.on = false;
        double t = now();
        trace_replay();
        add(&out->gemm, now() - t);
    }
    out->flops = trace_flops();
    if (keep)
        *keep = m;
    else
        model_free(&m);
}

/* ---- inference ---------------------------------------------------------- */

static void bench_inference(model *m, const dataset *test, int reps)
{
    char err[EMBER_ERR_SIZE];
    model_reserve(m, 256, err);
    int units = model_output_units(m);
    float *out = malloc(test->count * (size_t)units * sizeof *out);
    sample_source src = dataset_source(test);
    uint32_t index[256];
    series all = {0}, one = {0};
    for (int r = 0; r < reps; r++) {
        double t = now();
        for (size_t first = 0; first < test->count; first += 256) {
            size_t n = test->count - first < 256 ? test->count - first : 256;
            for (size_t i = 0; i < n; i++)
                index[i] = (uint32_t)(first + i);
            src.gather(src.ctx, index, n, m->x, m->labels);
            model_predict(m, m->x, n, out + first * units, err);
        }
        add(&all, (now() - t) * 1e3);
    }
    char name[80];
    snprintf(name, sizeof name, "predict %zu test images", test->count);
    report(name, "ms", &all);

    float *x = malloc(test->features * sizeof *x);
    index[0] = 0;
    src.gather(src.ctx, index, 1, x, m->labels);
    for (int r = 0; r < 2000; r++) {
        double t = now();
        model_predict(m, x, 1, out, err);
        add(&one, (now() - t) * 1e6);
    }
    report("predict one sample", "us", &one);
    free(x);
    free(out);
}

/* ---- data loading ------------------------------------------------------- */

static const char *const files[4] = {
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
};

/* Reads and inflates one gzip file into memory: the least any loader must
 * do. Returns the bytes inflated, or 0 on failure. */
static size_t inflate_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *in = malloc((size_t)size);
    size_t got = fread(in, 1, (size_t)size, f);
    fclose(f);
    /* gzip's trailer holds the inflated size (mod 2^32). */
    size_t out_size = in[size - 4] | in[size - 3] << 8 | in[size - 2] << 16 |
                      (size_t)in[size - 1] << 24;
    unsigned char *out = malloc(out_size);
    z_stream z = {0};
    inflateInit2(&z, 16 + MAX_WBITS);
    z.next_in = in;
    z.avail_in = (uInt)got;
    z.next_out = out;
    z.avail_out = (uInt)out_size;
    int rc = inflate(&z, Z_FINISH);
    size_t done = rc == Z_STREAM_END ? z.total_out : 0;
    inflateEnd(&z);
    free(in);
    free(out);
    return done;
}

static void bench_loading(const char *dir, int reps)
{
    char err[EMBER_ERR_SIZE];
    series load = {0}, bare = {0};
    for (int r = 0; r < reps; r++) {
        dataset tr, te;
        double t = now();
        if (dataset_load("fashion-mnist", &tr, &te, err) < 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
        add(&load, (now() - t) * 1e3);
        dataset_free(&tr);
        dataset_free(&te);
        t = now();
        for (int i = 0; i < 4; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            if (!inflate_file(path)) {
                fprintf(stderr, "bench: cannot inflate %s\n", path);
                exit(1);
            }
        }
        add(&bare, (now() - t) * 1e3);
    }
    report("load the 4 .gz files (dataset_load)", "ms", &load);
    report("bare zlib inflate of the same files", "ms", &bare);
    report_ratio("load / bare inflate", &load, &bare);
}

/* ---- child processes: start-up, peak memory, PyTorch --------------------- */

/* Runs argv with extra environment entries (NULL-terminated, may be NULL),
 * stdout to out_fd (or /dev/null when < 0). Returns the exit status or -1. */
static int run(char *const argv[], char *const extra_env[], int out_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    else
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    char *env[512];
    int n = 0;
    for (int i = 0; extra_env && extra_env[i] && n < 500; i++)
        env[n++] = extra_env[i];
    for (int i = 0; environ[i] && n < 511; i++)
        env[n++] = environ[i];
    env[n] = NULL;
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs argv and returns its whole stdout (malloc'd) or NULL. */
static char *run_capture(char *const argv[], char *const extra_env[], int *status)
{
    FILE *tmp = tmpfile();
    if (!tmp)
        return NULL;
    *status = run(argv, extra_env, fileno(tmp));
    off_t size = lseek(fileno(tmp), 0, SEEK_END);   /* the child wrote through it */
    if (size < 0)
        size = 0;
    char *text = calloc((size_t)size + 1, 1);
    lseek(fileno(tmp), 0, SEEK_SET);
    if (text && size > 0 && read(fileno(tmp), text, (size_t)size) < 0)
        text[0] = '\0';
    fclose(tmp);
    return text;
}

static void bench_startup(const char *ember, int reps)
{
    if (!ember || access(ember, X_OK) != 0) {
        report_note("start-up: ember -e ''", "skipped: no ember binary given (--ember PATH)");
        return;
    }
    char *argv[] = {(char *)ember, "-e", "", NULL};
    series s = {0};
    for (int r = 0; r < reps; r++) {
        double t = now();
        if (run(argv, NULL, -1) != 0) {
            report_note("start-up: ember -e ''", "failed: ember -e '' did not exit 0");
            return;
        }
        add(&s, (now() - t) * 1e3);
    }
    report("start-up: ember -e ''", "ms", &s);
}

/* --rss-child: load the data, train one epoch of the forum model at batch
 * 32 with 2 threads, print the peak resident set in kB (as a user's
 * program would hold it: both sets loaded, uint8 pixels). */
static int rss_child(void)
{
    char err[EMBER_ERR_SIZE];
    dataset train, test;
    if (dataset_load("fashion-mnist", &train, &test, err) < 0)
        return 1;
    gemm_set_threads(2);
    model m;
    if (forum_model(&m, &train, err) < 0)
        return 1;
    sample_source src = dataset_source(&train);
    time_epoch(&m, &src, 32, err);
    /* Not getrusage's ru_maxrss: posix_spawn starts the child in the
     * parent's address space, and exec carries that high-water mark over
     * into ru_maxrss. VmHWM is this program's own. */
    long kb = 0;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    if (kb == 0) {   /* no /proc: the best there is */
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = ru.ru_maxrss;
    }
    printf("%ld\n", kb);
    model_free(&m);
    dataset_free(&train);
    dataset_free(&test);
    return 0;
}

/* Step times through the observer: robust medians for A/B comparisons
 * on a busy machine. */
static series step_times;
static double last_step;

static int observe_step(void *data, model *m, const train_event *ev)
{
    (void)data;
    (void)m;
    (void)ev;
    double t = now();
    if (last_step > 0)
        add(&step_times, (t - last_step) * 1e3);
    last_step = t;
    return 0;
}

/* --profile BATCH THREADS EPOCHS: only training, for perf record; prints
 * each epoch's time and the median step. */
static int profile(int batch, int threads, int epochs)
{
    char err[EMBER_ERR_SIZE];
    dataset train, test;
    if (dataset_load("fashion-mnist", &train, &test, err) < 0)
        return 77;
    gemm_set_threads(threads);
    model m;
    if (forum_model(&m, &train, err) < 0)
        return 1;
    sample_source src = dataset_source(&train);
    train_options o = {.batch_size = batch, .observe = observe_step};
    for (int e = 0; e < epochs; e++) {
        step_times.n = 0;
        last_step = 0;
        double t = now();
        if (train_epoch(&m, &src, &o, NULL, NULL, err) < 0)
            return 1;
        fprintf(stderr, "epoch %d: %.3f s, median step %.4f ms, min %.4f\n", e + 1, now() - t,
                median(&step_times), minimum(&step_times));
    }
    /* A fingerprint of the weights, to check that a change left the
     * numbers as they were (FNV-1a over their bytes). */
    uint64_t h = 1469598103934665603u;
    const unsigned char *p = (const unsigned char *)m.params;
    for (size_t i = 0; i < m.n_params * sizeof *m.params; i++)
        h = (h ^ p[i]) * 1099511628211u;
    fprintf(stderr, "weights fingerprint %016llx\n", (unsigned long long)h);
    model_free(&m);
    dataset_free(&train);
    dataset_free(&test);
    return 0;
}

static void bench_memory(const char *self, int reps)
{
    char *argv[] = {(char *)self, "--rss-child", NULL};
    series s = {0};
    for (int r = 0; r < reps; r++) {
        int status;
        char *text = run_capture(argv, NULL, &status);
        if (status == 0 && text && atol(text) > 0)
            add(&s, atol(text) / 1024.0);
        free(text);
    }
    if (s.n)
        report("peak RSS, one epoch (batch 32, 2 threads)", "MB", &s);
    else
        report_note("peak RSS, one epoch (batch 32, 2 threads)", "failed: the child did not report");
}

/* Epoch times from forum_torch.py's JSON ("epochs": [a, b, ...]); the first
 * epoch is dropped when there are more (warm-up). */
static int parse_epochs(const char *text, series *s)
{
    const char *p = strstr(text, "\"epochs\": [");
    if (!p)
        return -1;
    p += strlen("\"epochs\": [");
    series all = {0};
    while (*p && *p != ']') {
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            break;
        add(&all, v);
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    for (int i = all.n > 1 ? 1 : 0; i < all.n; i++)
        add(s, all.v[i]);
    return s->n ? 0 : -1;
}

/* Returns 0 and fills s, or -1 with why in note. */
static int bench_torch_run(const char *python, const char *script, const char *dir, int batch,
                           int threads, int epochs, bool passive, series *s, char *note,
                           size_t note_size)
{
    char b[16], t[16], e[16];
    snprintf(b, sizeof b, "%d", batch);
    snprintf(t, sizeof t, "%d", threads);
    snprintf(e, sizeof e, "%d", epochs);
    char *argv[] = {(char *)python, (char *)script, "--batch", b, "--threads", t,
                    "--epochs", e, "--data", (char *)dir, NULL};
    char *env_passive[] = {"OMP_WAIT_POLICY=PASSIVE", NULL};
    int status;
    char *text = run_capture(argv, passive ? env_passive : NULL, &status);
    int rc = -1;
    if (!text || status != 0)
        snprintf(note, note_size, "skipped: %s exited with status %d", python, status);
    else if (strstr(text, "\"skip\""))
        snprintf(note, note_size, "skipped: %.*s", (int)strcspn(text, "\n"), text);
    else if (parse_epochs(text, s) < 0)
        snprintf(note, note_size, "skipped: no epoch times in the script's output");
    else
        rc = 0;
    free(text);
    return rc;
}

/* ---- output ------------------------------------------------------------- */

static void print_table(FILE *f, const char *machine)
{
    fprintf(f, "\n%s\n\n", machine);
    fprintf(f, "| %-46s | %10s | %10s | %10s | %-5s | %4s |\n", "figure", "median", "min", "max",
            "unit", "reps");
    fprintf(f, "|%s|%s|%s|%s|%s|%s|\n", "------------------------------------------------",
            "-----------:", "-----------:", "-----------:", "-------", "-----:");
    for (int i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        if (r->note[0])
            fprintf(f, "| %-46s | %s |  |  |  |  |\n", r->name, r->note);
        else
            fprintf(f, "| %-46s | %10.4g | %10.4g | %10.4g | %-5s | %4d |\n", r->name, r->med,
                    r->min, r->max, r->unit, r->reps);
    }
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    fputc('"', f);
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static void print_json(FILE *f, const char *machine)
{
    fputs("{\"machine\": ", f);
    json_string(f, machine);
    fputs(", \"figures\": [\n", f);
    for (int i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        fputs("  {\"name\": ", f);
        json_string(f, r->name);
        if (r->note[0]) {
            fputs(", \"note\": ", f);
            json_string(f, r->note);
        } else {
            fputs(", \"unit\": ", f);
            json_string(f, r->unit);
            fputs(", \"median\": ", f);
            json_number(f, r->med);
            fputs(", \"min\": ", f);
            json_number(f, r->min);
            fputs(", \"max\": ", f);
            json_number(f, r->max);
            fprintf(f, ", \"reps\": %d", r->reps);
        }
        fprintf(f, "}%s\n", i + 1 < n_rows ? "," : "");
    }
    fputs("]}\n", f);
}

/* "Intel(R) Xeon(R) Processor, 2 CPUs, OpenBLAS 0.3.21 (SapphireRapids)". */
static void machine_text(char *buf, size_t size)
{
    char cpu[128] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                snprintf(cpu, sizeof cpu, "%s", colon + 2);
                cpu[strcspn(cpu, "\n")] = '\0';
            }
            break;
        }
    if (f)
        fclose(f);
    snprintf(buf, size, "%s, %ld CPUs, %s", cpu, sysconf(_SC_NPROCESSORS_ONLN), gemm_backend());
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *ember = NULL, *script = NULL, *python = "/usr/bin/python3", *json = NULL;
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rss-child") == 0)
            return rss_child();
        else if (i + 3 < argc && strcmp(argv[i], "--profile") == 0)
            return profile(atoi(argv[i + 1]), atoi(argv[i + 2]), atoi(argv[i + 3]));
        else if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (i + 1 < argc && strcmp(argv[i], "--ember") == 0)
            ember = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--torch") == 0)
            script = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--python") == 0)
            python = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--json") == 0)
            json = argv[++i];
        else {
            fprintf(stderr, "usage: bench [--ember PATH] [--torch SCRIPT] [--python PATH] "
                            "[--json FILE] [--quick]\n");
            return 2;
        }
    }

    char err[EMBER_ERR_SIZE], dir[4096];
    dataset train, test;
    if (dataset_find("fashion-mnist", dir, sizeof dir, err) < 0 ||
        dataset_load("fashion-mnist", &train, &test, err) < 0) {
        fprintf(stderr, "bench skipped: %s\n", err);
        return 77;
    }
    char machine[256];
    machine_text(machine, sizeof machine);
    fprintf(stderr, "ember benchmark on %s\n", machine);
    int reps = quick ? 1 : 3;

    /* Training: the headline. */
    static training t[2][2];   /* [threads - 1][batch 32, 256]; big: static */
    const int batches[2] = {32, 256};
    model trained = {0};
    for (int th = 2; th >= 1; th--)
        for (int bi = 0; bi < 2; bi++) {
            training *tr = &t[th - 1][bi];
            bool keep = th == 2 && bi == 0;
            bench_training(&train, th, batches[bi], th == 2 ? reps : (reps + 1) / 2, tr,
                           keep ? &trained : NULL);
            char name[80];
            snprintf(name, sizeof name, "epoch, batch %d, %d thread%s", batches[bi], th,
                     th > 1 ? "s" : "");
            report(name, "s", &tr->epoch);
            snprintf(name, sizeof name, "  its GEMMs alone, batch %d, %d thread%s", batches[bi],
                     th, th > 1 ? "s" : "");
            report(name, "s", &tr->gemm);
            snprintf(name, sizeof name, "  epoch / GEMMs alone (target %s)",
                     th == 2 ? (bi == 0 ? "<= 1.25" : "<= 1.1") : "none");
            report_ratio(name, &tr->epoch, &tr->gemm);
            series per_step = {0}, samples = {0}, gflops = {0};
            for (int r = 0; r < tr->epoch.n; r++) {
                add(&per_step, tr->epoch.v[r] / tr->steps * 1e3);
                add(&samples, train.count / tr->epoch.v[r]);
                add(&gflops, tr->flops / tr->epoch.v[r] * 1e-9);
            }
            report("  ms a step", "ms", &per_step);
            report("  samples/s", "1/s", &samples);
            report("  GFLOP/s achieved", "GFLOP", &gflops);
        }
    for (int bi = 0; bi < 2; bi++) {
        char name[80];
        snprintf(name, sizeof name, "speed-up 2 threads vs 1, batch %d", batches[bi]);
        series a = t[0][bi].epoch, b = t[1][bi].epoch;
        /* Different repetition counts: compare medians. */
        series r = {0};
        add(&r, median(&a) / median(&b));
        report(name, "x", &r);
    }

    gemm_set_threads(2);
    bench_inference(&trained, &test, quick ? 3 : 10);
    model_free(&trained);
    bench_loading(dir, quick ? 2 : 5);
    bench_startup(ember, quick ? 5 : 20);
    bench_memory(argv[0], 1);

    /* PyTorch, batch 32, 2 threads: as installed, and with passive OpenMP
     * waiting (its best here). Each run trains epochs + 1 epochs in one
     * process and drops the first. */
    if (script && access(python, X_OK) == 0) {
        char note[160];
        series installed = {0}, passive = {0};
        if (bench_torch_run(python, script, dir, 32, 2, quick ? 1 : 2, false, &installed, note,
                            sizeof note) < 0) {
            report_note("PyTorch epoch, batch 32, 2 threads", note);
        } else {
            bench_torch_run(python, script, dir, 32, 2, quick ? 1 : 3, true, &passive, note,
                            sizeof note);
            report("PyTorch epoch, batch 32, 2 threads (installed)", "s", &installed);
            report("PyTorch epoch, batch 32, 2 thr., OMP PASSIVE", "s", &passive);
            series e = t[1][0].epoch, r1 = {0}, r2 = {0};
            add(&r1, median(&installed) / median(&e));
            add(&r2, median(&passive) / median(&e));
            report("PyTorch installed / ember (target >= 5)", "x", &r1);
            report("PyTorch PASSIVE / ember (target >= 2)", "x", &r2);
        }
    } else {
        report_note("PyTorch epoch, batch 32, 2 threads",
                    script ? "skipped: no /usr/bin/python3" : "skipped: no script given (--torch)");
    }

    print_table(stdout, machine);
    if (json) {
        FILE *f = strcmp(json, "-") == 0 ? stdout : fopen(json, "w");
        if (!f) {
            fprintf(stderr, "bench: cannot write %s: %s\n", json, strerror(errno));
            return 1;
        }
        print_json(f, machine);
        if (f != stdout)
            fclose(f);
    }
    free(trace.calls);
    dataset_free(&train);
    dataset_free(&test);
    return 0;
}
