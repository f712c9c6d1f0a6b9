/* test_checkpoint.c: checkpoints (src/io/checkpoint.c) and the refusal of
 * batches that go non-finite (src/core/model.c, train.c).
 *
 * What this proves, over an in-memory source of 200 samples of 2x4 (three
 * Gaussian blobs, labels 0..2) and a model with every layer kind
 * (flatten, dense relu, dropout, dense softmax):
 *  - a checkpoint round-trips every piece of state (parameters, Adam's
 *    moments and step count, SGD's velocity, RMSprop's mean square, the
 *    generator, the cursor with its order mid-epoch, the history, the
 *    extras), and training the loaded model gives the very bytes that
 *    training the original does, at an epoch boundary and mid-epoch;
 *  - a file cut at any length, or with any single byte flipped, is
 *    refused; at a section boundary the message names the missing
 *    section, inside one it says truncated, in a payload it says CRC
 *    mismatch and names the section;
 *  - wrong magic, version 99, impossible shapes (0 units, 2^31 layers,
 *    a parameter count that does not match, 2^54 parameters), sizes that
 *    would need absurd memory (refused before any allocation), a sample
 *    order that is not a permutation, and a dozen other inconsistencies
 *    are each refused with their own message, and the output struct is
 *    untouched by a failed parse;
 *  - saving into a missing directory, onto a directory, and past a file
 *    size limit (RLIMIT_FSIZE in a forked child, SIGXFSZ ignored: EFBIG)
 *    fails with the reason, leaves the old file byte-identical and no
 *    temporary file behind;
 *  - checkpoint_restore refuses another architecture (the model
 *    unchanged) and builds an unbuilt model of the same layers;
 *  - a batch whose outputs, loss or gradients go non-finite is refused
 *    before any update, with the epoch, batch and layer in the message,
 *    and the model's whole state (as a checkpoint encodes it) unchanged:
 *    SGD at lr 1e10, huge weights, a NaN input, an overflowing hidden
 *    gradient, and an overflowing weight gradient (the path where the
 *    cheap bound fails and every gradient is checked before the update),
 *    which gives the same numbers as an unfused backward and update;
 *  - a model too large for memory is refused with the GB it needs. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/model.h"
#include "core/source.h"
#include "core/train.h"
#include "io/checkpoint.h"

#include "testutil.h"

#define N_SAMPLES 200
#define DIM       8
#define CLASSES   3

/* ---- data and models ---------------------------------------------------- */

static float   data_x[N_SAMPLES * DIM];
static int32_t data_y[N_SAMPLES];

static uint64_t lcg_state = 0x9E3779B97F4A7C15ULL;
static double lcg(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(lcg_state >> 11) + 0.5) / 9007199254740992.0;
}

static void make_blobs(void)
{
    for (int i = 0; i < N_SAMPLES; i++) {
        int c = i % CLASSES;
        data_y[i] = c;
        for (int d = 0; d < DIM; d++)
            data_x[i * DIM + d] = (float)(0.7 * sqrt(-2.0 * log(lcg())) * cos(6.283185307179586 * lcg()));
        data_x[i * DIM + c] += 3.0f;
    }
}

static void gather(const void *ctx, const uint32_t *index, size_t n, float *x, int32_t *labels)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * DIM, data_x + (size_t)index[i] * DIM, DIM * sizeof(float));
        labels[i] = data_y[index[i]];
    }
}

/* Samples of 2x4, so the model needs its flatten. */
static sample_source source(void)
{
    return (sample_source){N_SAMPLES, 2, {2, 4, 0}, CLASSES - 1, gather, NULL};
}

/* flatten, dense 16 relu, dropout 0.25, dense 3 softmax; sparse CE. */
static bool make_model(model *m, uint64_t seed, optimizer_spec opt)
{
    char err[EMBER_ERR_SIZE] = "";
    model_init(m, seed);
    int rc = model_add_flatten(m, err) || model_add_dense(m, 16, ACT_RELU, err) ||
             model_add_dropout(m, 0.25f, err) || model_add_dense(m, 3, ACT_SOFTMAX, err) ||
             model_build(m, 2, (int[]){2, 4}, err) ||
             model_compile(m, (loss){LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false}, opt, err);
    if (rc) {
        fprintf(stderr, "  make_model: %s\n", err);
        model_free(m);
    }
    return rc == 0;
}

static int steps(model *m, int64_t n, bool to_end, char *err)
{
    sample_source src = source();
    train_options o = {.batch_size = 32};
    return train_steps(m, &src, &o, n, to_end, NULL, NULL, err);
}

static bool epochs(model *m, int n)
{
    char err[EMBER_ERR_SIZE] = "";
    for (int e = 0; e < n; e++)
        if (steps(m, -1, true, err) < 0) {
            fprintf(stderr, "  train: %s\n", err);
            return false;
        }
    return true;
}

/* A small history: integers, floats, a NaN hole. */
static double h_epoch[] = {1, 2}, h_loss[] = {0.5, 0.25}, h_val[] = {NAN, 0.3};
static checkpoint_list h_lists[3] = {
    {.name = "epoch", .integers = true, .n = 2, .values = h_epoch},
    {.name = "loss", .n = 2, .values = h_loss},
    {.name = "val_loss", .n = 2, .values = h_val},
};
static const checkpoint_history history = {3, h_lists};
static const checkpoint_extras extras = {.batch_size = 32, .accuracy = true};

static unsigned char *encode(const model *m, size_t *len)
{
    *len = checkpoint_size(m, &history);
    unsigned char *buf = malloc(*len);
    checkpoint_encode(m, &extras, &history, buf);
    return buf;
}

/* Two models' whole states, as a checkpoint holds them, are equal. */
static bool same_state(const model *a, const model *b)
{
    size_t la, lb;
    unsigned char *ea = encode(a, &la), *eb = encode(b, &lb);
    bool same = la == lb && memcmp(ea, eb, la) == 0;
    free(ea);
    free(eb);
    return same;
}

static bool parse_ok(const unsigned char *buf, size_t len, checkpoint *c)
{
    char err[EMBER_ERR_SIZE] = "";
    if (checkpoint_parse(buf, len, "test.ckpt", c, err) < 0) {
        fprintf(stderr, "  parse: %s\n", err);
        return false;
    }
    return true;
}

/* ---- round trip and exact resumption ------------------------------------ */

static void test_round_trip(optimizer_spec opt, const char *what)
{
    model a;
    if (!make_model(&a, 11, opt)) {
        CHECK(!"model builds");
        return;
    }
    char err[EMBER_ERR_SIZE];
    CHECK(epochs(&a, 1));
    CHECK(steps(&a, 3, false, err) == 0);   /* mid-epoch: the order is kept */
    size_t len;
    unsigned char *buf = encode(&a, &len);
    checkpoint c;
    if (!parse_ok(buf, len, &c)) {
        CHECK(!"round trip parses");
        fprintf(stderr, "  (%s)\n", what);
        free(buf);
        model_free(&a);
        return;
    }
    model *b = &c.model;
    CHECK(b->n_params == a.n_params && memcmp(b->params, a.params, a.n_params * 4) == 0);
    CHECK(b->opt.iterations == a.opt.iterations && b->opt.iterations == 10);
    CHECK((a.opt.m == NULL) == (b->opt.m == NULL) && (a.opt.v == NULL) == (b->opt.v == NULL));
    CHECK(!a.opt.m || memcmp(a.opt.m, b->opt.m, a.n_params * 4) == 0);
    CHECK(!a.opt.v || memcmp(a.opt.v, b->opt.v, a.n_params * 4) == 0);
    CHECK(memcmp(&a.opt.spec, &b->opt.spec, sizeof a.opt.spec) == 0);
    CHECK(a.loss.kind == b->loss.kind && a.loss.from_logits == b->loss.from_logits);
    CHECK(a.rng.state == b->rng.state && a.rng.inc == b->rng.inc);
    CHECK(b->cursor.epoch == 1 && b->cursor.batch == 3 && b->cursor.seen == 200 + 96);
    CHECK(b->cursor.count == 200 && b->cursor.order &&
          memcmp(a.cursor.order, b->cursor.order, 200 * sizeof(uint32_t)) == 0);
    CHECK(b->cursor.loss_sum == a.cursor.loss_sum && b->cursor.samples == a.cursor.samples);
    CHECK(c.extras.batch_size == 32 && c.extras.accuracy);
    CHECK(c.history.n == 3 && strcmp(c.history.lists[2].name, "val_loss") == 0 &&
          c.history.lists[0].integers && !c.history.lists[1].integers &&
          isnan(c.history.lists[2].values[0]) && c.history.lists[2].values[1] == 0.3);
    /* Encoding the loaded model gives the same bytes. */
    size_t len2;
    unsigned char *again = encode(b, &len2);
    CHECK(len2 == len && memcmp(again, buf, len) == 0);
    free(again);
    /* The rest of the epoch and two more: the same bytes from both. */
    CHECK(epochs(&a, 3) && epochs(b, 3));
    CHECK(same_state(&a, b));
    CHECK(a.cursor.epoch == 4 && a.cursor.batch == 0);
    checkpoint_free(&c);
    free(buf);
    model_free(&a);
}

/* Saved after 2 epochs, loaded, 3 more == 5 straight; through a file. */
static void test_resume_file(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/resume.ckpt", dir);
    model straight, first;
    if (!make_model(&straight, 5, optimizer_defaults(OPT_ADAM)) ||
        !make_model(&first, 5, optimizer_defaults(OPT_ADAM))) {
        CHECK(!"models build");
        return;
    }
    char err[EMBER_ERR_SIZE] = "";
    CHECK(epochs(&straight, 5));
    CHECK(epochs(&first, 2));
    CHECK(checkpoint_save(path, &first, &extras, &history, err) == 0);
    model_free(&first);
    checkpoint c;
    if (checkpoint_load(path, &c, err) < 0) {
        fprintf(stderr, "  load: %s\n", err);
        CHECK(!"loads");
        model_free(&straight);
        return;
    }
    CHECK(epochs(&c.model, 3));
    CHECK(same_state(&straight, &c.model));
    checkpoint_free(&c);
    model_free(&straight);
    remove(path);
}

/* ---- damaged files ------------------------------------------------------ */

/* Parses and expects a refusal whose message contains want (if given);
 * out must be untouched. */
static bool refused_exactly(const unsigned char *buf, size_t len, const char *want);

static bool refused(const unsigned char *file, size_t len, const char *want)
{
    /* A copy of exactly len bytes: a read past the end is a sanitizer
     * report, not a read of the rest of the caller's buffer. */
    unsigned char *buf = malloc(len ? len : 1);
    memcpy(buf, file, len);
    bool ok = refused_exactly(buf, len, want);
    free(buf);
    return ok;
}

static bool refused_exactly(const unsigned char *buf, size_t len, const char *want)
{
    checkpoint out;
    memset(&out, 0xA5, sizeof out);
    char err[EMBER_ERR_SIZE] = "";
    int rc = checkpoint_parse(buf, len, "test.ckpt", &out, err);
    if (rc == 0) {
        checkpoint_free(&out);
        fprintf(stderr, "  accepted a bad file (expected \"%s\")\n", want ? want : "");
        return false;
    }
    const unsigned char *p = (const unsigned char *)&out;
    for (size_t i = 0; i < sizeof out; i++)
        if (p[i] != 0xA5) {
            fprintf(stderr, "  a failed parse wrote into its output\n");
            return false;
        }
    if (strncmp(err, "test.ckpt: ", 11) != 0 || (want && !strstr(err, want))) {
        fprintf(stderr, "  message: %s\n  expected: %s\n", err, want ? want : "(the file's name first)");
        return false;
    }
    return true;
}

typedef struct piece {
    char           tag[4];
    unsigned char *payload;   /* owned copy */
    size_t         len;
} piece;

static size_t get_le(const unsigned char *p, int bytes)
{
    size_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (size_t)p[i] << (8 * i);
    return v;
}

static void set_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void set_f32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    set_le(p, u, 4);
}

static void set_f64(unsigned char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    set_le(p, u, 8);
}

/* A valid file's 8 sections, with copies of their payloads. */
static void split(const unsigned char *buf, size_t len, piece out[8], size_t offsets[8])
{
    size_t pos = 12;
    for (int s = 0; s < 8; s++) {
        memcpy(out[s].tag, buf + pos, 4);
        out[s].len = get_le(buf + pos + 4, 8);
        out[s].payload = malloc(out[s].len + 1);
        memcpy(out[s].payload, buf + pos + 12, out[s].len);
        if (offsets)
            offsets[s] = pos;
        pos += 16 + out[s].len;
    }
    CHECK(pos == len);
}

/* A file from pieces, with correct CRCs. */
static unsigned char *assemble(const piece *p, int n, uint32_t version, size_t *len)
{
    size_t total = 12;
    for (int s = 0; s < n; s++)
        total += 16 + p[s].len;
    unsigned char *buf = malloc(total), *at = buf + 12;
    memcpy(buf, "EMBERCKP", 8);
    set_le(buf + 8, version, 4);
    for (int s = 0; s < n; s++) {
        memcpy(at, p[s].tag, 4);
        set_le(at + 4, p[s].len, 8);
        memcpy(at + 12, p[s].payload, p[s].len);
        set_le(at + 12 + p[s].len, crc32_z(0, at, 12 + p[s].len), 4);
        at += 16 + p[s].len;
    }
    *len = total;
    return buf;
}

static void free_pieces(piece *p)
{
    for (int s = 0; s < 8; s++)
        free(p[s].payload);
}

enum { ARCH, COMP, PARM, OPTS, RNGS, CURS, HIST, END };

/* The file of `good` with one field of one section changed (CRC redone). */
typedef void (*edit_fn)(piece *p);

static bool refused_after(const unsigned char *good, size_t len, edit_fn edit, const char *want)
{
    piece p[8];
    split(good, len, p, NULL);
    edit(p);
    size_t n;
    unsigned char *bad = assemble(p, 8, 1, &n);
    bool ok = refused(bad, n, want);
    free(bad);
    free_pieces(p);
    return ok;
}

/* ARCH of the test model: u32 rank 2, dims 2, 4, u32 4 layers, then
 * 16-byte records (kind, units, activation, rate) at 16, u64 params. */
#define LAYER_AT(i) (16 + 16 * (i))
static void units_zero(piece *p) { set_le(p[ARCH].payload + LAYER_AT(1) + 4, 0, 4); }
static void units_huge(piece *p) { set_le(p[ARCH].payload + LAYER_AT(1) + 4, (1u << 24) + 1, 4); }
static void layers_2_31(piece *p) { set_le(p[ARCH].payload + 12, 1u << 31, 4); }
static void layers_zero(piece *p) { set_le(p[ARCH].payload + 12, 0, 4); }
static void params_plus_one(piece *p)
{
    unsigned char *at = p[ARCH].payload + LAYER_AT(4);
    set_le(at, get_le(at, 8) + 1, 8);
}
static void rank_four(piece *p) { set_le(p[ARCH].payload, 4, 4); }
static void kind_seven(piece *p) { set_le(p[ARCH].payload + LAYER_AT(2), 7, 4); }
static void activation_nine(piece *p) { set_le(p[ARCH].payload + LAYER_AT(1) + 8, 9, 4); }
static void dropout_rate_one(piece *p) { set_f32(p[ARCH].payload + LAYER_AT(2) + 12, 1.0f); }
static void last_not_dense(piece *p)
{
    /* Layer 4 becomes a dropout: units and activation cleared. */
    unsigned char *at = p[ARCH].payload + LAYER_AT(3);
    set_le(at, LAYER_DROPOUT, 4);
    set_le(at + 4, 0, 8);
}
/* 2^24 units after 8 inputs, with a matching count: a consistent ARCH
 * for 2^24 * 12 + ... parameters (0.8 GB), refused at PARM's size before
 * anything is allocated. */
static void units_2_24_consistent(piece *p)
{
    uint64_t u = 1u << 24;
    set_le(p[ARCH].payload + LAYER_AT(1) + 4, u, 4);
    set_le(p[ARCH].payload + LAYER_AT(4), 8 * u + u + u * 3 + 3, 8);
}
/* A 2^15 x 2^15 input into 2^24 units: 2^54 parameters. */
static void params_2_54(piece *p)
{
    set_le(p[ARCH].payload + 4, 1u << 15, 4);
    set_le(p[ARCH].payload + 8, 1u << 15, 4);
    set_le(p[ARCH].payload + LAYER_AT(1) + 4, 1u << 24, 4);
}
static void arch_longer(piece *p) { p[ARCH].len += 1; }

/* COMP: u8 compiled, u32 loss at 1, u8 logits at 5, u32 optimizer at 6,
 * f32 lr at 10, ... u32 batch size at 35, u8 accuracy at 39. */
static void loss_nine(piece *p) { set_le(p[COMP].payload + 1, 9, 4); }
static void optimizer_five(piece *p) { set_le(p[COMP].payload + 6, 5, 4); }
static void lr_negative(piece *p) { set_f32(p[COMP].payload + 10, -1.0f); }
static void flag_two(piece *p) { p[COMP].payload[0] = 2; }
static void batch_zero(piece *p) { set_le(p[COMP].payload + 35, 0, 4); }

static void parm_short(piece *p) { p[PARM].len -= 4; }
static void opts_no_v(piece *p) { p[OPTS].payload[9] = 0; }
static void opts_short(piece *p) { p[OPTS].len -= 4; }
static void opts_negative(piece *p) { set_le(p[OPTS].payload, (uint64_t)1 << 63, 8); }
static void rng_even(piece *p) { p[RNGS].payload[8] &= 0xfe; }

/* CURS: u64 epoch, batch at 8, seen at 16, u32 batch size at 24, u64
 * count at 28, ..., u8 has_order at 60, the order from 61. */
static void order_repeat(piece *p) { memcpy(p[CURS].payload + 61 + 4, p[CURS].payload + 61, 4); }
static void order_out_of_range(piece *p) { set_le(p[CURS].payload + 61 + 8, 200, 4); }
static void batch_past_end(piece *p) { set_le(p[CURS].payload + 8, 7, 8); }
static void count_huge(piece *p) { set_le(p[CURS].payload + 28, UINT32_MAX, 8); }
static void order_missing(piece *p)
{
    p[CURS].payload[60] = 0;
    p[CURS].len = 61;
}

/* HIST: u32 lists; "epoch": u32 5 at 4, name at 8, u8 integers at 13,
 * u64 count at 14, values at 22. */
static void hist_count_huge(piece *p) { set_le(p[HIST].payload + 14, (uint64_t)1 << 60, 8); }
static void hist_lists_huge(piece *p) { set_le(p[HIST].payload, 100000, 4); }
static void hist_name_empty(piece *p) { set_le(p[HIST].payload + 4, 0, 4); }
static void hist_not_integer(piece *p) { set_f64(p[HIST].payload + 22, 0.5); }
static void hist_nul(piece *p) { p[HIST].payload[9] = 0; }
static void hist_duplicate(piece *p)
{
    /* The lists are "epoch" (34 bytes from 4), "loss" (33 bytes from
     * 38) and "val_loss": a copy of "loss" replaces "val_loss". */
    unsigned char *q = p[HIST].payload;
    size_t at = 4 + 4 + 5 + 1 + 8 + 16;      /* after "epoch" */
    size_t loss_len = 4 + 4 + 1 + 8 + 16;    /* the "loss" list */
    memcpy(q + at + loss_len, q + at, loss_len);
    p[HIST].len = at + 2 * loss_len;
}
static void end_not_empty(piece *p)
{
    p[END].len = 1;
    p[END].payload[0] = 0;
}
static void swap_first(piece *p)
{
    piece t = p[ARCH];
    p[ARCH] = p[COMP];
    p[COMP] = t;
}

static void test_damaged(void)
{
    model a;
    if (!make_model(&a, 3, optimizer_defaults(OPT_ADAM))) {
        CHECK(!"model builds");
        return;
    }
    char err[EMBER_ERR_SIZE];
    CHECK(epochs(&a, 1) && steps(&a, 2, false, err) == 0);   /* mid-epoch */
    size_t len;
    unsigned char *good = encode(&a, &len);
    piece p[8];
    size_t offsets[8];
    split(good, len, p, offsets);
    free_pieces(p);
    static const char *const names[8] = {"ARCH", "COMP", "PARM", "OPTS", "RNGS", "CURS", "HIST", "END"};

    /* Cut at every length: always refused; at each section boundary the
     * message names the first missing section. */
    bool all = true;
    for (size_t cut = 0; cut < len; cut++)
        all &= refused(good, cut, NULL);
    CHECK(all);
    CHECK(refused(good, 0, "not an ember checkpoint"));
    CHECK(refused(good, 10, "ends inside its header"));
    CHECK(refused(good, 12, "every section is missing"));
    for (int s = 1; s < 8; s++) {
        char want[64];
        snprintf(want, sizeof want, "ends after section %s: section %s", names[s - 1], names[s]);
        CHECK(refused(good, offsets[s], want));
        CHECK(refused(good, offsets[s] + 6, "ends inside the header of section"));
    }
    for (int s = 0; s < 7; s++) {
        char want[64];
        snprintf(want, sizeof want, "section %s: the file ends inside it", names[s]);
        CHECK(refused(good, offsets[s] + 13, want));
        CHECK(refused(good, offsets[s + 1] - 1, want));
    }

    /* Flip every byte: always refused; in a payload, or a CRC, the
     * message names the section and says CRC mismatch. */
    unsigned char *bad = malloc(len);
    all = true;
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, good, len);
        bad[i] ^= 0x10;
        all &= refused(bad, len, NULL);
    }
    CHECK(all);
    for (int s = 0; s < 8; s++) {
        size_t payload = (size_t)get_le(good + offsets[s] + 4, 8);
        char want[64];
        snprintf(want, sizeof want, "section %.4s: CRC mismatch (stored 0x", names[s]);
        memcpy(bad, good, len);
        if (payload) {
            bad[offsets[s] + 12 + payload / 2] ^= 0x01;
            CHECK(refused(bad, len, want));
            CHECK(refused(bad, len, "the file is damaged"));
            memcpy(bad, good, len);
        }
        bad[offsets[s] + 12 + payload + 3] ^= 0x80;   /* the stored CRC */
        CHECK(refused(bad, len, want));
    }

    memcpy(bad, good, len);
    bad[3] = 'X';
    CHECK(refused(bad, len, "not an ember checkpoint (it does not start with \"EMBERCKP\")"));
    memcpy(bad, good, len);
    set_le(bad + 8, 99, 4);
    CHECK(refused(bad, len, "checkpoint format version 99 is not supported (this ember reads version 1)"));
    free(bad);

    /* Trailing bytes. */
    unsigned char *longer = malloc(len + 3);
    memcpy(longer, good, len);
    memset(longer + len, 0, 3);
    CHECK(refused(longer, len + 3, "3 bytes follow the END section"));
    free(longer);

    /* Well-framed files that say impossible things. */
    CHECK(refused_after(good, len, units_zero, "section ARCH: layer 2 (dense) has 0 units (1 to 16777216"));
    CHECK(refused_after(good, len, units_huge, "layer 2 (dense) has 16777217 units"));
    CHECK(refused_after(good, len, layers_2_31, "section ARCH: 2147483648 layers (1 to 1024 are possible)"));
    CHECK(refused_after(good, len, layers_zero, "0 layers"));
    CHECK(refused_after(good, len, params_plus_one, "the file says 196 parameters but its layers make 195"));
    CHECK(refused_after(good, len, rank_four, "the input has 4 dimensions"));
    CHECK(refused_after(good, len, kind_seven, "layer 3 has kind 7"));
    CHECK(refused_after(good, len, activation_nine, "layer 2 (dense) has activation 9"));
    CHECK(refused_after(good, len, dropout_rate_one, "layer 3 (dropout) has rate 1"));
    CHECK(refused_after(good, len, last_not_dense, "the last layer is dropout"));
    CHECK(refused_after(good, len, units_2_24_consistent,
                        "section PARM: 780 bytes, but the architecture's 201326595 parameters take 805306380"));
    CHECK(refused_after(good, len, params_2_54, "more than 68719476736 parameters: impossible"));
    CHECK(refused_after(good, len, arch_longer, "section ARCH:"));
    CHECK(refused_after(good, len, loss_nine, "section COMP: loss 9 unknown"));
    CHECK(refused_after(good, len, optimizer_five, "section COMP: optimizer 5 unknown"));
    CHECK(refused_after(good, len, lr_negative, "section COMP: adam: learning rate must be a positive number"));
    CHECK(refused_after(good, len, flag_two, "a flag is neither 0 nor 1"));
    CHECK(refused_after(good, len, batch_zero, "batch size 0"));
    CHECK(refused_after(good, len, parm_short, "section PARM: 776 bytes, but the architecture's 195 parameters"));
    CHECK(refused_after(good, len, opts_no_v, "section OPTS: holds one of the moment arrays, but adam keeps two"));
    CHECK(refused_after(good, len, opts_short, "section OPTS: 1556 bytes of moments"));
    CHECK(refused_after(good, len, opts_negative, "iterations: impossible"));
    CHECK(refused_after(good, len, rng_even, "section RNGS: the generator's stream is even"));
    CHECK(refused_after(good, len, order_repeat, "section CURS: the sample order is not a permutation of the "
                                                 "epoch's 200 samples (entry 2 is"));
    CHECK(refused_after(good, len, order_repeat, ", a repeat)"));
    CHECK(refused_after(good, len, order_out_of_range, "(entry 3 is 200, out of range)"));
    CHECK(refused_after(good, len, batch_past_end, "batch 7 of batch size 32 is past the end of an epoch of 200"));
    CHECK(refused_after(good, len, count_huge, "bytes of sample order for 4294967295 samples"));
    CHECK(refused_after(good, len, order_missing, "an epoch is under way but its sample order is missing"));
    CHECK(refused_after(good, len, hist_count_huge, "list \"epoch\" claims 1152921504606846976 values"));
    CHECK(refused_after(good, len, hist_lists_huge, "section HIST: 100000 lists (at most 256)"));
    CHECK(refused_after(good, len, hist_name_empty, "list 1 has a name of 0 bytes"));
    CHECK(refused_after(good, len, hist_not_integer, "list \"epoch\" holds integers, but value 1 is 0.5"));
    CHECK(refused_after(good, len, hist_nul, "list 1 has a NUL byte in its name"));
    CHECK(refused_after(good, len, hist_duplicate, "list \"loss\" appears twice"));
    CHECK(refused_after(good, len, end_not_empty, "section END: must be empty"));
    CHECK(refused_after(good, len, swap_first, "found section 'COMP' where section ARCH was expected"));

    /* An unknown tag in place of HIST, and the file stops after it. */
    split(good, len, p, NULL);
    memcpy(p[HIST].tag, "XY\1Z", 4);
    size_t n;
    unsigned char *odd = assemble(p, 8, 1, &n);
    CHECK(refused(odd, n, "found section 'XY?Z' where section HIST was expected"));
    free(odd);
    odd = assemble(p, 5, 1, &n);
    CHECK(refused(odd, n, "ends after section RNGS: section CURS and those after it is missing"));
    free(odd);
    free_pieces(p);

    /* The good file itself still parses (the edits above worked on copies). */
    checkpoint c;
    CHECK(parse_ok(good, len, &c));
    checkpoint_free(&c);
    free(good);
    model_free(&a);
}

static void test_load_errors(const char *dir)
{
    char path[512], err[EMBER_ERR_SIZE];
    checkpoint c;
    snprintf(path, sizeof path, "%s/none.ckpt", dir);
    CHECK(checkpoint_load(path, &c, err) < 0);
    CHECK_STR_CONTAINS(err, "cannot read '");
    CHECK_STR_CONTAINS(err, "No such file or directory");
    CHECK(checkpoint_load(dir, &c, err) < 0);
    CHECK_STR_CONTAINS(err, "Is a directory");
    snprintf(path, sizeof path, "%s/text.ckpt", dir);
    FILE *f = fopen(path, "w");
    fputs("return os.exit(1)\n", f);
    fclose(f);
    CHECK(checkpoint_load(path, &c, err) < 0);
    CHECK_STR_CONTAINS(err, "text.ckpt: not an ember checkpoint");
    remove(path);
}

/* ---- saving under faults ------------------------------------------------ */

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(size > 0 ? (size_t)size : 1);
    *len = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

/* Entries of dir whose name contains ".tmp.": temporary files left. */
static int temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_save_faults(const char *dir)
{
    model a, b;
    if (!make_model(&a, 21, optimizer_defaults(OPT_ADAM)) || !make_model(&b, 22, optimizer_defaults(OPT_ADAM))) {
        CHECK(!"models build");
        return;
    }
    char path[512], err[EMBER_ERR_SIZE] = "";
    snprintf(path, sizeof path, "%s/kept.ckpt", dir);
    CHECK(checkpoint_save(path, &a, &extras, &history, err) == 0);
    size_t old_len, now_len;
    unsigned char *old = read_all(path, &old_len);
    CHECK(old && old_len == checkpoint_size(&a, &history));

    /* A missing directory. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir/kept.ckpt", dir);
    CHECK(checkpoint_save(missing, &b, &extras, &history, err) < 0);
    CHECK_STR_CONTAINS(err, missing);
    CHECK_STR_CONTAINS(err, "No such file or directory");

    /* Onto a directory: the rename fails, the directory stays. */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(checkpoint_save(sub, &b, &extras, &history, err) < 0);
    CHECK_STR_CONTAINS(err, "Is a directory");
    struct stat st;
    CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(temp_files(dir) == 0);
    rmdir(sub);

    /* Past a file size limit, in a child: write fails with EFBIG. */
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit limit = {1024, 1024};
        setrlimit(RLIMIT_FSIZE, &limit);
        char child_err[EMBER_ERR_SIZE] = "";
        int rc = checkpoint_save(path, &b, &extras, &history, child_err);
        ssize_t w = write(fds[1], child_err, strlen(child_err) + 1);
        (void)w;
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    char child_err[EMBER_ERR_SIZE] = "";
    ssize_t got = read(fds[0], child_err, sizeof child_err - 1);
    close(fds[0]);
    child_err[got > 0 ? got : 0] = 0;
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    CHECK_STR_CONTAINS(child_err, "kept.ckpt");
    CHECK_STR_CONTAINS(child_err, "File too large");

    /* In every case the old file is byte-identical, and nothing is left. */
    unsigned char *now = read_all(path, &now_len);
    CHECK(now && now_len == old_len && memcmp(now, old, old_len) == 0);
    CHECK(temp_files(dir) == 0);
    free(now);

    /* A save that succeeds replaces it. */
    CHECK(checkpoint_save(path, &b, &extras, &history, err) == 0);
    now = read_all(path, &now_len);
    CHECK(now && (now_len != old_len || memcmp(now, old, old_len) != 0));
    CHECK(temp_files(dir) == 0);
    free(now);

    /* An unbuilt model has nothing to save. */
    model unbuilt;
    model_init(&unbuilt, 1);
    CHECK(model_add_dense(&unbuilt, 3, ACT_SOFTMAX, err) == 0);
    CHECK(checkpoint_save(path, &unbuilt, NULL, NULL, err) < 0);
    CHECK_STR_CONTAINS(err, "not built");
    model_free(&unbuilt);

    free(old);
    remove(path);
    model_free(&a);
    model_free(&b);
}

/* ---- restore ------------------------------------------------------------ */

static void test_restore(void)
{
    model a, other, fresh;
    if (!make_model(&a, 31, optimizer_defaults(OPT_RMSPROP))) {
        CHECK(!"model builds");
        return;
    }
    char err[EMBER_ERR_SIZE];
    CHECK(steps(&a, 9, false, err) == 0);   /* into the second epoch */
    size_t len;
    unsigned char *snap = encode(&a, &len);

    /* Another architecture: refused, the model unchanged. */
    model_init(&other, 1);
    model_add_flatten(&other, err);
    model_add_dense(&other, 8, ACT_RELU, err);
    model_add_dropout(&other, 0.25f, err);
    model_add_dense(&other, 3, ACT_SOFTMAX, err);
    model_build(&other, 2, (int[]){2, 4}, err);
    model_compile(&other, (loss){LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false}, optimizer_defaults(OPT_ADAM), err);
    size_t before_len;
    unsigned char *before = encode(&other, &before_len);
    checkpoint c;
    CHECK(parse_ok(snap, len, &c));
    CHECK(checkpoint_restore(&other, &c, err) < 0);
    CHECK_STR_CONTAINS(err, "another architecture: layer 2 is dense(16, relu) there, dense(8, relu) in this model");
    size_t after_len;
    unsigned char *after = encode(&other, &after_len);
    CHECK(after_len == before_len && memcmp(after, before, before_len) == 0);
    free(after);
    free(before);
    checkpoint_free(&c);
    model_free(&other);

    /* The same layers, another input shape. */
    model_init(&other, 1);
    model_add_flatten(&other, err);
    model_add_dense(&other, 16, ACT_RELU, err);
    model_add_dropout(&other, 0.25f, err);
    model_add_dense(&other, 3, ACT_SOFTMAX, err);
    model_build(&other, 1, (int[]){8}, err);
    CHECK(parse_ok(snap, len, &c));
    CHECK(checkpoint_restore(&other, &c, err) < 0);
    CHECK_STR_CONTAINS(err, "input 2x4 there, 8 in this model");
    checkpoint_free(&c);
    model_free(&other);

    /* An unbuilt, uncompiled model of the same layers: built, then
     * identical to a; both train on to the same bytes. */
    model_init(&fresh, 99);
    model_add_flatten(&fresh, err);
    model_add_dense(&fresh, 16, ACT_RELU, err);
    model_add_dropout(&fresh, 0.25f, err);
    model_add_dense(&fresh, 3, ACT_SOFTMAX, err);
    CHECK(parse_ok(snap, len, &c));
    CHECK(checkpoint_restore(&fresh, &c, err) == 0);
    checkpoint_free(&c);
    CHECK(fresh.built && fresh.compiled && fresh.opt.spec.kind == OPT_RMSPROP);
    CHECK(same_state(&a, &fresh));
    CHECK(epochs(&a, 2) && epochs(&fresh, 2));
    CHECK(same_state(&a, &fresh));

    /* Restoring a into its own past: training repeats exactly. */
    size_t later_len;
    unsigned char *later = encode(&a, &later_len);
    CHECK(parse_ok(snap, len, &c));
    float *w = a.params;
    CHECK(checkpoint_restore(&a, &c, err) == 0);
    checkpoint_free(&c);
    CHECK(a.params == w);   /* views of the weights stay valid */
    CHECK(epochs(&a, 2));
    size_t again_len;
    unsigned char *again = encode(&a, &again_len);
    CHECK(again_len == later_len && memcmp(again, later, later_len) == 0);
    free(again);
    free(later);
    free(snap);
    model_free(&fresh);
    model_free(&a);
}

/* ---- non-finite batches ------------------------------------------------- */

/* dense(units[0], acts[0]) ... on `in` features, mse, the optimizer given. */
static bool make_plain(model *m, int in, int n, const int *units, const activation *acts, loss l,
                       optimizer_spec opt)
{
    char err[EMBER_ERR_SIZE] = "";
    model_init(m, 17);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++)
        rc = model_add_dense(m, units[i], acts[i], err);
    rc = rc || model_build(m, 1, &in, err) || model_compile(m, l, opt, err);
    if (rc) {
        fprintf(stderr, "  make_plain: %s\n", err);
        model_free(m);
    }
    return rc == 0;
}

static void test_sgd_explodes(void)
{
    /* 8 -> 16 relu -> 3 linear, mse, SGD at lr 1e10: a batch soon goes
     * non-finite. Each batch starts from a snapshot; the refused one must
     * leave exactly that. */
    optimizer_spec sgd = optimizer_defaults(OPT_SGD);
    sgd.learning_rate = 1e10f;
    model m;
    if (!make_plain(&m, DIM, 2, (int[]){16, 3}, (activation[]){ACT_RELU, ACT_LINEAR},
                    (loss){LOSS_MSE, false}, sgd)) {
        CHECK(!"model builds");
        return;
    }
    sample_source src = {N_SAMPLES, 1, {DIM, 0, 0}, CLASSES - 1, gather, NULL};
    train_options o = {.batch_size = 32};
    char err[EMBER_ERR_SIZE] = "";
    int rc = 0, batches = 0;
    size_t len = 0;
    unsigned char *before = NULL;
    while (rc == 0 && batches < 100) {
        free(before);
        before = encode(&m, &len);
        rc = train_steps(&m, &src, &o, 1, false, NULL, NULL, err);
        batches++;
    }
    CHECK(rc < 0);
    CHECK_STR_CONTAINS(err, "epoch 1, batch ");
    CHECK_STR_CONTAINS(err, "layer ");
    CHECK_STR_CONTAINS(err, "lower the learning rate (now 1e+10)");
    CHECK_STR_CONTAINS(err, "as they were before this batch");
    size_t after_len;
    unsigned char *after = encode(&m, &after_len);
    CHECK(after_len == len && memcmp(after, before, len) == 0);
    char want[32];
    snprintf(want, sizeof want, "epoch 1, batch %d:", batches);
    CHECK_STR_CONTAINS(err, want);
    free(after);
    free(before);
    model_free(&m);
}

/* One hidden layer's weights at 1e38: its outputs overflow. */
static void test_forward_overflow(void)
{
    model m;
    if (!make_model(&m, 41, optimizer_defaults(OPT_ADAM))) {
        CHECK(!"model builds");
        return;
    }
    char err[EMBER_ERR_SIZE] = "";
    CHECK(steps(&m, 2, false, err) == 0);
    const layer *hidden = &m.layers[1];
    for (int k = 0; k < hidden->in * hidden->out; k++)
        hidden->w[k] = 1e38f;
    size_t len, after_len;
    unsigned char *before = encode(&m, &len);
    CHECK(steps(&m, 1, false, err) < 0);
    CHECK_STR_CONTAINS(err, "epoch 1, batch 3: layer 2 (dense) produced infinity: lower the learning rate (now 0.001)");
    unsigned char *after = encode(&m, &after_len);
    CHECK(after_len == len && memcmp(after, before, len) == 0);
    free(after);
    free(before);

    /* At the first batch of an epoch, the shuffle it drew is put back. */
    model_free(&m);
    if (!make_model(&m, 41, optimizer_defaults(OPT_ADAM)))
        return;
    CHECK(epochs(&m, 1));
    hidden = &m.layers[1];
    for (int k = 0; k < hidden->in * hidden->out; k++)
        hidden->w[k] = 1e38f;
    before = encode(&m, &len);
    CHECK(steps(&m, 1, false, err) < 0);
    CHECK_STR_CONTAINS(err, "epoch 2, batch 1: layer 2 (dense) produced");
    after = encode(&m, &after_len);
    CHECK(after_len == len && memcmp(after, before, len) == 0);
    free(after);
    free(before);

    /* Weights that an earlier update made infinite are named as such. */
    for (int k = 0; k < hidden->in * hidden->out; k++)
        hidden->w[k] = 0.1f;
    m.layers[3].w[0] = INFINITY;
    CHECK(steps(&m, 1, false, err) < 0);
    CHECK_STR_CONTAINS(err, "layer 4 (dense) produced NaN because its weights hold infinity (an earlier update overflowed)");
    model_free(&m);
}

static void test_nan_input(void)
{
    model m;
    if (!make_model(&m, 43, optimizer_defaults(OPT_ADAM))) {
        CHECK(!"model builds");
        return;
    }
    float x[4 * DIM];
    memcpy(x, data_x, sizeof x);
    x[DIM + 3] = NAN;
    size_t len, after_len;
    unsigned char *before = encode(&m, &len);
    char err[EMBER_ERR_SIZE] = "";
    CHECK(model_train_batch(&m, x, data_y, NULL, 4, NULL, err) < 0);
    CHECK_STR_CONTAINS(err, "the input holds NaN (sample 2 of the batch)");
    unsigned char *after = encode(&m, &after_len);
    CHECK(after_len == len && memcmp(after, before, len) == 0);
    free(after);
    free(before);
    model_free(&m);
}

/* Finite outputs and loss, but the hidden layer's dL/dz overflows:
 * inputs near 1e-15, output weights 1e30 (z near 1e15, loss near 1e30,
 * dL/dh = dL/dz * 1e30 near 1e45). */
static void test_gradient_overflow(void)
{
    optimizer_spec sgd = optimizer_defaults(OPT_SGD);
    model m;
    if (!make_plain(&m, 2, 2, (int[]){2, 1}, (activation[]){ACT_RELU, ACT_LINEAR}, (loss){LOSS_MSE, false},
                    sgd)) {
        CHECK(!"model builds");
        return;
    }
    for (int k = 0; k < 4; k++)
        m.layers[0].w[k] = 1.0f;
    m.layers[1].w[0] = m.layers[1].w[1] = 1e30f;
    float x[4] = {1e-15f, 2e-15f, 3e-15f, 1e-15f}, t[2] = {0.0f, 1.0f};
    size_t len, after_len;
    unsigned char *before = encode(&m, &len);
    char err[EMBER_ERR_SIZE] = "";
    CHECK(model_train_batch(&m, x, NULL, t, 2, NULL, err) < 0);
    CHECK_STR_CONTAINS(err, "the gradient of layer 1 (dense) went infinity (the loss and outputs are finite)");
    unsigned char *after = encode(&m, &after_len);
    CHECK(after_len == len && memcmp(after, before, len) == 0);
    free(after);
    free(before);
    model_free(&m);
}

/* One linear unit on 2 inputs, mse, SGD: x = {x0, 1}, w = {1e-20, 0},
 * target t. dL/dz = 2 (z - t), dW = x dL/dz. */
static bool make_unit(model *m, float lr)
{
    optimizer_spec sgd = optimizer_defaults(OPT_SGD);
    sgd.learning_rate = lr;
    if (!make_plain(m, 2, 1, (int[]){1}, (activation[]){ACT_LINEAR}, (loss){LOSS_MSE, false}, sgd))
        return false;
    m->layers[0].w[0] = 1e-20f;
    m->layers[0].w[1] = 0.0f;
    return true;
}

static void test_weight_gradient_overflow(void)
{
    model m, ref;
    if (!make_unit(&m, 0.01f)) {
        CHECK(!"model builds");
        return;
    }
    char err[EMBER_ERR_SIZE] = "";
    /* x0 = 1e20, z = 1, t = -1e19: dL/dz = 2e19, finite; dW = 2e39. */
    float x[2] = {1e20f, 1.0f}, t[1] = {-1e19f};
    size_t len, after_len;
    unsigned char *before = encode(&m, &len);
    CHECK(model_train_batch(&m, x, NULL, t, 1, NULL, err) < 0);
    CHECK_STR_CONTAINS(err, "the gradient of layer 1 (dense) went infinity");
    unsigned char *after = encode(&m, &after_len);
    CHECK(after_len == len && memcmp(after, before, len) == 0);
    free(after);
    free(before);
    /* The gradients it left behind do not leak into the next batch. */
    if (!make_unit(&ref, 0.01f)) {
        model_free(&m);
        return;
    }
    float x2[2] = {0.5f, 1.0f}, t2[1] = {2.0f};
    CHECK(model_train_batch(&m, x2, NULL, t2, 1, NULL, err) == 0);
    CHECK(model_train_batch(&ref, x2, NULL, t2, 1, NULL, err) == 0);
    CHECK(same_state(&m, &ref));
    model_free(&ref);
    model_free(&m);

    /* Near the bound but finite (dW = 2e38, the bound says 4e38): the
     * careful path trains, with the numbers of an unfused backward and
     * update. */
    if (!make_unit(&m, 1e-30f) || !make_unit(&ref, 1e-30f))
        return;
    float x3[2] = {1e19f, 1.0f}, t3[1] = {-1e19f};
    CHECK(model_train_batch(&m, x3, NULL, t3, 1, NULL, err) == 0);
    model_reserve(&ref, 1, err);
    memcpy(ref.x, x3, sizeof x3);
    model_forward(&ref, ref.x, 1, true);
    model_backward(&ref, ref.x, 1, NULL, t3);
    CHECK(isfinite(ref.grads[0]) && ref.grads[0] > 1e38f);
    optimizer_update(&ref.opt, ref.params, ref.grads);
    CHECK(memcmp(m.params, ref.params, m.n_params * sizeof(float)) == 0);
    CHECK(m.opt.iterations == 1 && ref.opt.iterations == 1);
    model_free(&ref);
    model_free(&m);
}

/* The fused path gives the unfused numbers on an ordinary batch too. */
static void test_fused_matches_unfused(void)
{
    model a, b;
    if (!make_model(&a, 47, optimizer_defaults(OPT_ADAM)) || !make_model(&b, 47, optimizer_defaults(OPT_ADAM))) {
        CHECK(!"models build");
        return;
    }
    char err[EMBER_ERR_SIZE] = "";
    CHECK(model_train_batch(&a, data_x, data_y, NULL, 32, NULL, err) == 0);
    model_reserve(&b, 32, err);
    memcpy(b.x, data_x, 32 * DIM * sizeof(float));
    model_forward(&b, b.x, 32, true);
    model_backward(&b, b.x, 32, data_y, NULL);
    optimizer_update(&b.opt, b.params, b.grads);
    CHECK(memcmp(a.params, b.params, a.n_params * sizeof(float)) == 0);
    CHECK(memcmp(a.opt.m, b.opt.m, a.n_params * sizeof(float)) == 0);
    CHECK(memcmp(a.opt.v, b.opt.v, a.n_params * sizeof(float)) == 0);
    model_free(&a);
    model_free(&b);
}

static void test_too_large(void)
{
    model m;
    char err[EMBER_ERR_SIZE] = "";
    model_init(&m, 1);
    model_add_flatten(&m, err);
    model_add_dense(&m, 1000000000, ACT_LINEAR, err);
    CHECK(model_build(&m, 2, (int[]){28, 28}, err) < 0);
    CHECK_STR_CONTAINS(err, "layer 2 (dense 1000000000) would need 784000000000 weights, 12544.0 GB of memory");
    CHECK(!m.built && m.params == NULL);
    model_free(&m);
}

int main(void)
{
    make_blobs();
    char dir[] = "/tmp/ember-checkpoint-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    optimizer_spec momentum = optimizer_defaults(OPT_SGD);
    momentum.momentum = 0.9f;
    momentum.nesterov = true;
    test_round_trip(optimizer_defaults(OPT_ADAM), "adam");
    test_round_trip(momentum, "sgd with momentum");
    test_round_trip(optimizer_defaults(OPT_SGD), "plain sgd");
    test_round_trip(optimizer_defaults(OPT_RMSPROP), "rmsprop");
    test_resume_file(dir);
    test_damaged();
    test_load_errors(dir);
    test_save_faults(dir);
    test_restore();
    test_sgd_explodes();
    test_forward_overflow();
    test_nan_input();
    test_gradient_overflow();
    test_weight_gradient_overflow();
    test_fused_matches_unfused();
    test_too_large();
    rmdir(dir);
    return test_report();
}
