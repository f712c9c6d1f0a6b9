/* checkpoint.c: the checkpoint format (see checkpoint.h for the layout).
 *
 * Owns: encoding a model's training state into bytes, and turning bytes
 * back into a model. Must never: trust a byte of a file before checking
 * it, allocate more than the file's own bytes justify, touch the caller's
 * model when a load fails, or execute anything from a file.
 *
 * Writing goes through one `writer` that either counts (no buffer) or
 * stores, so the size and the bytes come from the same code and cannot
 * disagree. Reading is two passes: the framing pass walks the sections
 * (bounds, CRC, order, nothing after END) and only then are payloads
 * decoded, each field through a bounds-checked `reader`; every decoded
 * value is validated before the model is built from it, on the side. */
#include "io/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "io/atomic.h"

static const char magic[8] = {'E', 'M', 'B', 'E', 'R', 'C', 'K', 'P'};
#define HEADER_SIZE 12   /* magic, u32 version */
#define FRAME_SIZE  16   /* tag, u64 length, u32 CRC */

enum { SEC_ARCH, SEC_COMP, SEC_PARM, SEC_OPTS, SEC_RNGS, SEC_CURS, SEC_HIST, SEC_END, N_SECTIONS };
static const char section_tags[N_SECTIONS][5] = {"ARCH", "COMP", "PARM", "OPTS", "RNGS", "CURS", "HIST", "END "};
/* How messages call them ("END", not "END "). */
static const char *const section_names[N_SECTIONS] = {"ARCH", "COMP", "PARM", "OPTS", "RNGS", "CURS", "HIST", "END"};

/* Fixed payload sizes. */
#define COMP_SIZE 40u
#define RNGS_SIZE 16u
#define CURS_FIXED 61u

/* Past this a file is refused before anything is built: 2^36 parameters
 * would be 256 GiB of floats, and the sum over 1024 layers cannot
 * overflow on the way there. model_build has its own, lower limit. */
#define MAX_PARAMS ((uint64_t)1 << 36)

/* ---- writing ------------------------------------------------------------ */

typedef struct writer {
    unsigned char *buf;   /* NULL: only count */
    size_t         pos;
} writer;

static void put_u8(writer *w, unsigned v)
{
    if (w->buf)
        w->buf[w->pos] = (unsigned char)v;
    w->pos++;
}

static void put_u32(writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put_u8(w, (v >> (8 * i)) & 0xff);
}

static void put_u64(writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        put_u8(w, (unsigned)((v >> (8 * i)) & 0xff));
}

static void put_f32(writer *w, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put_u32(w, u);
}

static void put_f64(writer *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    put_u64(w, u);
}

static void put_f32_array(writer *w, const float *v, size_t n)
{
    if (!w->buf) {
        w->pos += 4 * n;
        return;
    }
    for (size_t i = 0; i < n; i++)
        put_f32(w, v[i]);
}

static void put_bytes(writer *w, const void *p, size_t n)
{
    if (w->buf)
        memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}

/* A section is written as tag, a length placeholder and the payload;
 * section_end fills in the length and appends the CRC. */
static size_t section_begin(writer *w, int s)
{
    put_bytes(w, section_tags[s], 4);
    put_u64(w, 0);
    return w->pos;
}

static void section_end(writer *w, size_t payload)
{
    size_t start = payload - 12, len = w->pos - payload;
    if (w->buf) {
        writer at = {w->buf, start + 4};
        put_u64(&at, (uint64_t)len);
        put_u32(w, (uint32_t)crc32_z(0L, w->buf + start, 12 + len));
    } else {
        w->pos += 4;
    }
}

static const checkpoint_extras default_extras = {.batch_size = 32, .accuracy = false};

static void encode(writer *w, const model *m, const checkpoint_extras *x, const checkpoint_history *h)
{
    if (!x)
        x = &default_extras;
    put_bytes(w, magic, sizeof magic);
    put_u32(w, CHECKPOINT_VERSION);

    size_t p = section_begin(w, SEC_ARCH);
    put_u32(w, (uint32_t)m->input_rank);
    for (int i = 0; i < m->input_rank; i++)
        put_u32(w, (uint32_t)m->input_shape[i]);
    put_u32(w, (uint32_t)m->n_layers);
    for (int i = 0; i < m->n_layers; i++) {
        const layer *l = &m->layers[i];
        put_u32(w, (uint32_t)l->kind);
        put_u32(w, l->kind == LAYER_DENSE ? (uint32_t)l->units : 0);
        put_u32(w, l->kind == LAYER_DENSE ? (uint32_t)l->act : 0);
        put_f32(w, l->kind == LAYER_DROPOUT ? l->rate : 0.0f);
    }
    put_u64(w, (uint64_t)m->n_params);
    section_end(w, p);

    p = section_begin(w, SEC_COMP);
    const optimizer_spec *s = &m->opt.spec;
    put_u8(w, m->compiled);
    put_u32(w, m->compiled ? (uint32_t)m->loss.kind : 0);
    put_u8(w, m->compiled && m->loss.from_logits);
    put_u32(w, m->compiled ? (uint32_t)s->kind : 0);
    put_f32(w, m->compiled ? s->learning_rate : 0.0f);
    put_f32(w, m->compiled ? s->momentum : 0.0f);
    put_u8(w, m->compiled && s->nesterov);
    put_f32(w, m->compiled ? s->beta_1 : 0.0f);
    put_f32(w, m->compiled ? s->beta_2 : 0.0f);
    put_f32(w, m->compiled ? s->rho : 0.0f);
    put_f32(w, m->compiled ? s->epsilon : 0.0f);
    put_u32(w, (uint32_t)x->batch_size);
    put_u8(w, x->accuracy);
    section_end(w, p);

    p = section_begin(w, SEC_PARM);
    put_f32_array(w, m->params, m->n_params);
    section_end(w, p);

    p = section_begin(w, SEC_OPTS);
    bool has_m = m->compiled && m->opt.m, has_v = m->compiled && m->opt.v;
    put_u64(w, m->compiled ? (uint64_t)m->opt.iterations : 0);
    put_u8(w, has_m);
    put_u8(w, has_v);
    if (has_m)
        put_f32_array(w, m->opt.m, m->n_params);
    if (has_v)
        put_f32_array(w, m->opt.v, m->n_params);
    section_end(w, p);

    p = section_begin(w, SEC_RNGS);
    put_u64(w, m->rng.state);
    put_u64(w, m->rng.inc);
    section_end(w, p);

    p = section_begin(w, SEC_CURS);
    const train_cursor *c = &m->cursor;
    bool has_order = c->batch > 0 && c->order;
    put_u64(w, (uint64_t)c->epoch);
    put_u64(w, (uint64_t)c->batch);
    put_u64(w, (uint64_t)c->seen);
    put_u32(w, (uint32_t)c->batch_size);
    put_u64(w, (uint64_t)c->count);
    put_f64(w, c->loss_sum);
    put_f64(w, c->correct_sum);
    put_u64(w, (uint64_t)c->samples);
    put_u8(w, has_order);
    if (has_order) {
        if (w->buf)
            for (size_t i = 0; i < c->count; i++)
                put_u32(w, c->order[i]);
        else
            w->pos += 4 * c->count;
    }
    section_end(w, p);

    p = section_begin(w, SEC_HIST);
    size_t lists = h ? h->n : 0;
    put_u32(w, (uint32_t)lists);
    for (size_t i = 0; i < lists; i++) {
        const checkpoint_list *l = &h->lists[i];
        size_t name_len = strlen(l->name);
        put_u32(w, (uint32_t)name_len);
        put_bytes(w, l->name, name_len);
        put_u8(w, l->integers);
        put_u64(w, (uint64_t)l->n);
        for (size_t k = 0; k < l->n; k++)
            put_f64(w, l->values[k]);
    }
    section_end(w, p);

    p = section_begin(w, SEC_END);
    section_end(w, p);
}

size_t checkpoint_size(const model *m, const checkpoint_history *h)
{
    if (!m->built)
        return 0;
    writer w = {NULL, 0};
    encode(&w, m, NULL, h);
    return w.pos;
}

void checkpoint_encode(const model *m, const checkpoint_extras *x, const checkpoint_history *h,
                       unsigned char *buf)
{
    writer w = {buf, 0};
    encode(&w, m, x, h);
}

int checkpoint_save(const char *path, const model *m, const checkpoint_extras *x,
                    const checkpoint_history *h, char *err)
{
    if (!m->built)
        return ember_fail(err, "cannot save '%s': the model is not built yet, so it has no weights to keep "
                               "(train it, or build it for an input shape first)", path);
    if (h && h->n > CHECKPOINT_MAX_LISTS)
        return ember_fail(err, "cannot save '%s': the history has %zu lists (at most %d)", path, h->n,
                          CHECKPOINT_MAX_LISTS);
    for (size_t i = 0; h && i < h->n; i++)
        if (h->lists[i].name[0] == 0)
            return ember_fail(err, "cannot save '%s': a history list has an empty name", path);
    size_t len = checkpoint_size(m, h);
    unsigned char *buf = malloc(len);
    if (!buf)
        return ember_fail(err, "cannot save '%s': out of memory for %zu bytes", path, len);
    checkpoint_encode(m, x, h, buf);
    int status = io_write_atomic(path, buf, len, err);
    free(buf);
    return status;
}

/* ---- reading: primitives ------------------------------------------------ */

/* A bounds-checked cursor over one payload: a read past the end yields 0
 * and sets `past_end`, checked once after a group of fields. */
typedef struct reader {
    const unsigned char *p;
    size_t               left;
    bool                 past_end;
} reader;

static uint8_t get_u8(reader *r)
{
    if (r->left < 1) {
        r->past_end = true;
        return 0;
    }
    r->left--;
    return *r->p++;
}

static uint32_t get_u32(reader *r)
{
    if (r->left < 4) {
        r->past_end = true;
        r->left = 0;
        return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    r->left -= 4;
    return v;
}

static uint64_t get_u64(reader *r)
{
    if (r->left < 8) {
        r->past_end = true;
        r->left = 0;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    r->left -= 8;
    return v;
}

static float get_f32(reader *r)
{
    uint32_t u = get_u32(r);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double get_f64(reader *r)
{
    uint64_t u = get_u64(r);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* The caller has checked that n floats are there. */
static void get_f32_array(reader *r, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = get_f32(r);
}

/* One parse: the file's name for messages and where each section is. */
typedef struct parse {
    const char          *name;
    char                *err;
    const unsigned char *payload[N_SECTIONS];
    size_t               length[N_SECTIONS];
} parse;

/* "<file>: section PARM: <what>" */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int section_fail(parse *ps, int s, const char *fmt, ...)
{
    char what[EMBER_ERR_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ember_fail(ps->err, "%s: section %s: %s", ps->name, section_names[s], what);
}

static reader section_reader(const parse *ps, int s)
{
    return (reader){ps->payload[s], ps->length[s], false};
}

/* A payload read in full must have been exactly the right length. */
static int section_done(parse *ps, int s, const reader *r)
{
    if (r->past_end)
        return section_fail(ps, s, "the payload is shorter than its fields (%zu bytes): the file is damaged",
                            ps->length[s]);
    if (r->left)
        return section_fail(ps, s, "%zu unexpected bytes at the end of the payload: the file is damaged", r->left);
    return 0;
}

/* A tag as text, whatever bytes it holds. */
static void tag_text(const unsigned char *tag, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = tag[i] >= 0x20 && tag[i] < 0x7f ? (char)tag[i] : '?';
    out[4] = 0;
    if (out[3] == ' ')
        out[3] = 0;
}

/* ---- reading: framing --------------------------------------------------- */

static int read_frames(parse *ps, const unsigned char *buf, size_t len)
{
    if (len < sizeof magic || memcmp(buf, magic, sizeof magic) != 0)
        return ember_fail(ps->err, "%s: not an ember checkpoint (it does not start with \"EMBERCKP\")", ps->name);
    if (len < HEADER_SIZE)
        return ember_fail(ps->err, "%s: the file ends inside its header: the file is truncated", ps->name);
    reader r = {buf + sizeof magic, 4, false};
    uint32_t version = get_u32(&r);
    if (version != CHECKPOINT_VERSION)
        return ember_fail(ps->err, "%s: checkpoint format version %u is not supported (this ember reads version %d): "
                                   "it was written by %s ember", ps->name, version, CHECKPOINT_VERSION,
                          version > CHECKPOINT_VERSION ? "a newer" : "another");
    size_t pos = HEADER_SIZE;
    for (int s = 0; s < N_SECTIONS; s++) {
        if (pos == len) {
            if (s == 0)
                return ember_fail(ps->err, "%s: the file ends after its header: every section is missing "
                                           "(the file is truncated)", ps->name);
            return ember_fail(ps->err, "%s: the file ends after section %s: section %s%s is missing "
                                       "(the file is truncated)", ps->name, section_names[s - 1],
                              section_names[s], s + 1 < N_SECTIONS ? " and those after it" : "");
        }
        const unsigned char *at = buf + pos;
        size_t left = len - pos;
        if (left < 12)
            return ember_fail(ps->err, "%s: the file ends inside the header of section %s: the file is truncated",
                              ps->name, section_names[s]);
        char tag[5];
        tag_text(at, tag);
        reader lr = {at + 4, 8, false};
        uint64_t length = get_u64(&lr);
        if (length > left - 12 || left - 12 - length < 4)
            return ember_fail(ps->err, "%s: section %s: the file ends inside it (%llu bytes of payload declared, "
                                       "%zu left): the file is truncated", ps->name, tag,
                              (unsigned long long)length, left - 12 < 4 ? (size_t)0 : left - 12 - 4);
        reader cr = {at + 12 + length, 4, false};
        uint32_t stored = get_u32(&cr);
        uint32_t computed = (uint32_t)crc32_z(0L, at, 12 + (size_t)length);
        if (stored != computed)
            return ember_fail(ps->err, "%s: section %s: CRC mismatch (stored 0x%08x, computed 0x%08x): "
                                       "the file is damaged", ps->name, tag, stored, computed);
        if (memcmp(at, section_tags[s], 4) != 0)
            return ember_fail(ps->err, "%s: found section '%s' where section %s was expected: the file is not a "
                                       "version %d checkpoint or is damaged", ps->name, tag, section_names[s],
                              CHECKPOINT_VERSION);
        ps->payload[s] = at + 12;
        ps->length[s] = (size_t)length;
        pos += FRAME_SIZE + (size_t)length;
    }
    if (pos != len)
        return ember_fail(ps->err, "%s: %zu bytes follow the END section: the file is damaged", ps->name, len - pos);
    if (ps->length[SEC_END] != 0)
        return section_fail(ps, SEC_END, "must be empty (holds %zu bytes)", ps->length[SEC_END]);
    return 0;
}

/* ---- reading: payloads -------------------------------------------------- */

typedef struct layer_desc {
    uint32_t kind, units, act;
    float    rate;
} layer_desc;

/* Everything decoded and checked, before anything is built. */
typedef struct decoded {
    int               rank;
    int               shape[3];
    int               n_layers;
    layer_desc        layers[CHECKPOINT_MAX_LAYERS];
    uint64_t          n_params;
    bool              compiled;
    loss              loss;
    optimizer_spec    spec;
    checkpoint_extras extras;
    uint64_t          iterations;
    bool              has_m, has_v;
    reader            params, moments;   /* positioned at the arrays */
    rng               rng;
    train_cursor      cursor;            /* order not yet read */
    bool              has_order;
    reader            order;
} decoded;

static const char *const kind_names[] = {"dense", "flatten", "dropout"};

static int decode_arch(parse *ps, decoded *d)
{
    reader r = section_reader(ps, SEC_ARCH);
    uint32_t rank = get_u32(&r);
    if (r.past_end)
        return section_done(ps, SEC_ARCH, &r);
    if (rank < 1 || rank > 3)
        return section_fail(ps, SEC_ARCH, "the input has %u dimensions (1 to 3 are possible)", rank);
    d->rank = (int)rank;
    uint64_t features = 1;
    for (uint32_t i = 0; i < rank; i++) {
        uint32_t dim = get_u32(&r);
        if (r.past_end)
            return section_done(ps, SEC_ARCH, &r);
        if (dim < 1 || dim > CHECKPOINT_MAX_UNITS)
            return section_fail(ps, SEC_ARCH, "input dimension %u is %u (1 to %d are possible)", i + 1, dim,
                                CHECKPOINT_MAX_UNITS);
        d->shape[i] = (int)dim;
        features *= dim;
    }
    if (features > INT32_MAX)
        return section_fail(ps, SEC_ARCH, "the input has %llu features per sample (at most %d)",
                            (unsigned long long)features, INT32_MAX);
    uint32_t n = get_u32(&r);
    if (r.past_end)
        return section_done(ps, SEC_ARCH, &r);
    if (n < 1 || n > CHECKPOINT_MAX_LAYERS)
        return section_fail(ps, SEC_ARCH, "%u layers (1 to %d are possible)", n, CHECKPOINT_MAX_LAYERS);
    /* The exact length is known now: check it before reading n records. */
    size_t want = 4 + 4 * (size_t)rank + 4 + 16 * (size_t)n + 8;
    if (ps->length[SEC_ARCH] != want)
        return section_fail(ps, SEC_ARCH, "%zu bytes for %u layers on a %u-dimensional input (%zu expected): "
                                          "the file is damaged", ps->length[SEC_ARCH], n, rank, want);
    d->n_layers = (int)n;
    uint64_t width = features, params = 0;
    int in_rank = d->rank;
    for (uint32_t i = 0; i < n; i++) {
        layer_desc *l = &d->layers[i];
        l->kind = get_u32(&r);
        l->units = get_u32(&r);
        l->act = get_u32(&r);
        l->rate = get_f32(&r);
        if (l->kind > LAYER_DROPOUT)
            return section_fail(ps, SEC_ARCH, "layer %u has kind %u (0 dense, 1 flatten, 2 dropout)", i + 1, l->kind);
        const char *kind = kind_names[l->kind];
        if (l->kind == LAYER_DENSE) {
            if (l->units < 1 || l->units > CHECKPOINT_MAX_UNITS)
                return section_fail(ps, SEC_ARCH, "layer %u (dense) has %u units (1 to %d are possible)", i + 1,
                                    l->units, CHECKPOINT_MAX_UNITS);
            if (l->act >= ACT_COUNT)
                return section_fail(ps, SEC_ARCH, "layer %u (dense) has activation %u (0 to %d are known)", i + 1,
                                    l->act, ACT_COUNT - 1);
            if (in_rank != 1)
                return section_fail(ps, SEC_ARCH, "layer %u (dense) gets a %d-dimensional input: no flatten before it",
                                    i + 1, in_rank);
            params += width * l->units + l->units;   /* < 2^31 * 2^24 + 2^24: no overflow */
            if (params > MAX_PARAMS)
                return section_fail(ps, SEC_ARCH, "the layers would make more than %llu parameters: impossible",
                                    (unsigned long long)MAX_PARAMS);
            width = l->units;
            if (l->rate != 0.0f)
                return section_fail(ps, SEC_ARCH, "layer %u (dense) has a dropout rate: the file is damaged", i + 1);
        } else {
            if (l->units != 0 || l->act != 0)
                return section_fail(ps, SEC_ARCH, "layer %u (%s) has units or an activation: the file is damaged",
                                    i + 1, kind);
            if (l->kind == LAYER_FLATTEN) {
                in_rank = 1;
                if (l->rate != 0.0f)
                    return section_fail(ps, SEC_ARCH, "layer %u (flatten) has a dropout rate: the file is damaged",
                                        i + 1);
            } else if (!(l->rate >= 0.0f && l->rate < 1.0f)) {
                return section_fail(ps, SEC_ARCH, "layer %u (dropout) has rate %g (it must be in [0, 1))", i + 1,
                                    (double)l->rate);
            }
        }
    }
    if (d->layers[n - 1].kind != LAYER_DENSE)
        return section_fail(ps, SEC_ARCH, "the last layer is %s (it must be dense)", kind_names[d->layers[n - 1].kind]);
    d->n_params = get_u64(&r);
    if (section_done(ps, SEC_ARCH, &r) < 0)
        return -1;
    if (d->n_params != params)
        return section_fail(ps, SEC_ARCH, "the file says %llu parameters but its layers make %llu: the file is damaged",
                            (unsigned long long)d->n_params, (unsigned long long)params);
    return 0;
}

static int decode_comp(parse *ps, decoded *d)
{
    reader r = section_reader(ps, SEC_COMP);
    uint8_t compiled = get_u8(&r);
    uint32_t loss_code = get_u32(&r);
    uint8_t from_logits = get_u8(&r);
    optimizer_spec s = {0};
    uint32_t opt_kind = get_u32(&r);
    s.learning_rate = get_f32(&r);
    s.momentum = get_f32(&r);
    uint8_t nesterov = get_u8(&r);
    s.beta_1 = get_f32(&r);
    s.beta_2 = get_f32(&r);
    s.rho = get_f32(&r);
    s.epsilon = get_f32(&r);
    uint32_t batch_size = get_u32(&r);
    uint8_t accuracy = get_u8(&r);
    if (section_done(ps, SEC_COMP, &r) < 0)
        return -1;
    if (compiled > 1 || from_logits > 1 || nesterov > 1 || accuracy > 1)
        return section_fail(ps, SEC_COMP, "a flag is neither 0 nor 1: the file is damaged");
    if (batch_size < 1 || batch_size > INT32_MAX)
        return section_fail(ps, SEC_COMP, "batch size %u (1 to %d are possible)", batch_size, INT32_MAX);
    d->compiled = compiled;
    d->extras = (checkpoint_extras){.batch_size = (int)batch_size, .accuracy = accuracy};
    if (!compiled)
        return 0;
    if (loss_code >= LOSS_COUNT)
        return section_fail(ps, SEC_COMP, "loss %u unknown (0 to %d are known)", loss_code, LOSS_COUNT - 1);
    if (opt_kind >= OPT_COUNT)
        return section_fail(ps, SEC_COMP, "optimizer %u unknown (0 to %d are known)", opt_kind, OPT_COUNT - 1);
    s.kind = (optimizer_kind)opt_kind;
    s.nesterov = nesterov;
    char why[EMBER_ERR_SIZE];
    if (optimizer_check(&s, why) < 0)
        return section_fail(ps, SEC_COMP, "%s", why);
    d->loss = (loss){(loss_kind)loss_code, from_logits};
    d->spec = s;
    return 0;
}

static int decode_state(parse *ps, decoded *d)
{
    /* PARM: exactly the parameters the architecture makes. */
    if (ps->length[SEC_PARM] / 4 != d->n_params || ps->length[SEC_PARM] % 4)
        return section_fail(ps, SEC_PARM, "%zu bytes, but the architecture's %llu parameters take %llu: "
                                          "the file is damaged", ps->length[SEC_PARM],
                            (unsigned long long)d->n_params, (unsigned long long)d->n_params * 4);
    d->params = section_reader(ps, SEC_PARM);

    /* OPTS: the moments the optimizer keeps, no more, no fewer. */
    reader r = section_reader(ps, SEC_OPTS);
    d->iterations = get_u64(&r);
    uint8_t has_m = get_u8(&r), has_v = get_u8(&r);
    if (r.past_end)
        return section_done(ps, SEC_OPTS, &r);
    if (has_m > 1 || has_v > 1)
        return section_fail(ps, SEC_OPTS, "a flag is neither 0 nor 1: the file is damaged");
    if (d->iterations > INT64_MAX)
        return section_fail(ps, SEC_OPTS, "%llu iterations: impossible", (unsigned long long)d->iterations);
    bool need_m = d->compiled && (d->spec.kind == OPT_ADAM || (d->spec.kind == OPT_SGD && d->spec.momentum > 0.0f));
    bool need_v = d->compiled && (d->spec.kind == OPT_ADAM || d->spec.kind == OPT_RMSPROP);
    if (has_m != need_m || has_v != need_v)
        return section_fail(ps, SEC_OPTS, "holds %s moment arrays, but %s keeps %s: the file is damaged",
                            has_m + has_v == 2 ? "two" : has_m + has_v == 1 ? "one of the" : "no",
                            d->compiled ? optimizer_name(d->spec.kind) : "an uncompiled model",
                            need_m + need_v == 2 ? "two" : need_m + need_v == 1 ? "one" : "none");
    if (!d->compiled && d->iterations)
        return section_fail(ps, SEC_OPTS, "iterations counted for an uncompiled model: the file is damaged");
    uint64_t arrays = (uint64_t)has_m + has_v;
    if (r.left / 4 != arrays * d->n_params || r.left % 4)
        return section_fail(ps, SEC_OPTS, "%zu bytes of moments, but %llu array%s of %llu parameters take %llu: "
                                          "the file is damaged", r.left, (unsigned long long)arrays,
                            arrays == 1 ? "" : "s", (unsigned long long)d->n_params,
                            (unsigned long long)(arrays * d->n_params * 4));
    d->has_m = has_m;
    d->has_v = has_v;
    d->moments = r;

    /* RNGS */
    r = section_reader(ps, SEC_RNGS);
    d->rng.state = get_u64(&r);
    d->rng.inc = get_u64(&r);
    if (section_done(ps, SEC_RNGS, &r) < 0)
        return -1;
    if (!(d->rng.inc & 1))
        return section_fail(ps, SEC_RNGS, "the generator's stream is even (PCG32 needs it odd): the file is damaged");

    /* CURS: a position train_steps can continue from. */
    r = section_reader(ps, SEC_CURS);
    train_cursor *c = &d->cursor;
    uint64_t epoch = get_u64(&r), batch = get_u64(&r), seen = get_u64(&r);
    uint32_t batch_size = get_u32(&r);
    uint64_t count = get_u64(&r);
    c->loss_sum = get_f64(&r);
    c->correct_sum = get_f64(&r);
    uint64_t samples = get_u64(&r);
    uint8_t has_order = get_u8(&r);
    if (r.past_end)
        return section_done(ps, SEC_CURS, &r);
    if (epoch > INT64_MAX || batch > INT64_MAX || seen > INT64_MAX || samples > INT64_MAX)
        return section_fail(ps, SEC_CURS, "a negative count: the file is damaged");
    if (batch_size > INT32_MAX || count > UINT32_MAX || has_order > 1)
        return section_fail(ps, SEC_CURS, "batch size %u, %llu samples: impossible", batch_size,
                            (unsigned long long)count);
    if (batch > 0) {
        /* Mid-epoch: the next batch starts at batch * batch_size, which
         * must be inside the epoch's samples, and the order is needed. */
        if (batch_size < 1 || count < 1 || batch >= (count + batch_size - 1) / batch_size)
            return section_fail(ps, SEC_CURS, "batch %llu of batch size %u is past the end of an epoch of %llu "
                                              "samples: the file is damaged", (unsigned long long)batch, batch_size,
                                (unsigned long long)count);
        if (!has_order)
            return section_fail(ps, SEC_CURS, "an epoch is under way but its sample order is missing: "
                                              "the file is damaged");
    } else if (has_order) {
        return section_fail(ps, SEC_CURS, "a sample order without an epoch under way: the file is damaged");
    }
    if (r.left / 4 != (has_order ? count : 0) || r.left % 4)
        return section_fail(ps, SEC_CURS, "%zu bytes of sample order for %llu samples: the file is damaged", r.left,
                            (unsigned long long)(has_order ? count : 0));
    c->epoch = (int64_t)epoch;
    c->batch = (int64_t)batch;
    c->seen = (int64_t)seen;
    c->batch_size = (int)batch_size;
    c->count = (size_t)count;
    c->samples = (int64_t)samples;
    d->has_order = has_order;
    d->order = r;
    return 0;
}

/* HIST, checked in full before anything is allocated; with out set, the
 * second pass fills it (the first has proved every read in bounds). */
static int decode_history(parse *ps, checkpoint_history *out)
{
    reader r = section_reader(ps, SEC_HIST);
    uint32_t n = get_u32(&r);
    if (r.past_end)
        return section_done(ps, SEC_HIST, &r);
    if (n > CHECKPOINT_MAX_LISTS)
        return section_fail(ps, SEC_HIST, "%u lists (at most %d)", n, CHECKPOINT_MAX_LISTS);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t name_len = get_u32(&r);
        if (r.past_end)
            return section_done(ps, SEC_HIST, &r);
        if (name_len < 1 || name_len > CHECKPOINT_MAX_NAME || name_len > r.left)
            return section_fail(ps, SEC_HIST, "list %u has a name of %u bytes (1 to %d are possible)", i + 1, name_len,
                                CHECKPOINT_MAX_NAME);
        char name[CHECKPOINT_MAX_NAME + 1];
        memcpy(name, r.p, name_len);
        name[name_len] = 0;
        r.p += name_len;
        r.left -= name_len;
        if (strlen(name) != name_len)
            return section_fail(ps, SEC_HIST, "list %u has a NUL byte in its name: the file is damaged", i + 1);
        uint8_t integers = get_u8(&r);
        uint64_t count = get_u64(&r);
        if (r.past_end)
            return section_done(ps, SEC_HIST, &r);
        if (integers > 1)
            return section_fail(ps, SEC_HIST, "list \"%s\": a flag is neither 0 nor 1: the file is damaged", name);
        if (count > r.left / 8)
            return section_fail(ps, SEC_HIST, "list \"%s\" claims %llu values but %zu bytes are left: "
                                              "the file is damaged", name, (unsigned long long)count, r.left);
        if (out) {
            checkpoint_list *l = &out->lists[i];
            memcpy(l->name, name, name_len + 1);
            l->integers = integers;
            l->n = (size_t)count;
            l->values = malloc((count ? count : 1) * sizeof *l->values);
            if (!l->values)
                return ember_fail(ps->err, "%s: out of memory for the history", ps->name);
            out->n = i + 1;
            for (uint64_t k = 0; k < count; k++)
                l->values[k] = get_f64(&r);
            continue;
        }
        /* Integer lists become Lua integers: each value must be one that
         * converts exactly (casting NaN or 1e300 would be undefined). */
        for (uint64_t k = 0; k < count; k++) {
            double x = get_f64(&r);
            if (integers && !(x == floor(x) && fabs(x) <= 9007199254740992.0))
                return section_fail(ps, SEC_HIST, "list \"%s\" holds integers, but value %llu is %g: "
                                                  "the file is damaged", name, (unsigned long long)k + 1, x);
        }
    }
    return section_done(ps, SEC_HIST, &r);
}

/* Duplicate list names: a file no writer makes. */
static int check_history_names(parse *ps, const checkpoint_history *h)
{
    for (size_t i = 0; i < h->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(h->lists[i].name, h->lists[j].name) == 0)
                return section_fail(ps, SEC_HIST, "list \"%s\" appears twice: the file is damaged", h->lists[i].name);
    return 0;
}

/* ---- reading: building -------------------------------------------------- */

void checkpoint_history_free(checkpoint_history *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->lists[i].values);
    free(h->lists);
    h->lists = NULL;
    h->n = 0;
}

void checkpoint_free(checkpoint *c)
{
    model_free(&c->model);
    checkpoint_history_free(&c->history);
}

/* The order must be a permutation of 0..count-1: anything else would make
 * a batch gather out of bounds, or skip and repeat samples. */
static int read_order(parse *ps, decoded *d, uint32_t **out)
{
    size_t count = d->cursor.count;
    uint32_t *order = malloc(count * sizeof *order);
    unsigned char *seen = calloc((count + 7) / 8, 1);
    if (!order || !seen) {
        free(order);
        free(seen);
        return ember_fail(ps->err, "%s: out of memory for the order of %zu samples", ps->name, count);
    }
    for (size_t i = 0; i < count; i++) {
        uint32_t k = get_u32(&d->order);
        if (k >= count || (seen[k / 8] >> (k % 8)) & 1) {
            free(order);
            free(seen);
            return section_fail(ps, SEC_CURS, "the sample order is not a permutation of the epoch's %zu samples "
                                              "(entry %zu is %u%s): the file is damaged", count, i + 1, k,
                                k >= count ? ", out of range" : ", a repeat");
        }
        seen[k / 8] |= (unsigned char)(1u << (k % 8));
        order[i] = k;
    }
    free(seen);
    *out = order;
    return 0;
}

static int build(parse *ps, decoded *d, checkpoint *c)
{
    char why[EMBER_ERR_SIZE];
    model *m = &c->model;
    model_init(m, 0);
    for (int i = 0; i < d->n_layers; i++) {
        const layer_desc *l = &d->layers[i];
        int status = l->kind == LAYER_DENSE   ? model_add_dense(m, (int)l->units, (activation)l->act, why)
                     : l->kind == LAYER_FLATTEN ? model_add_flatten(m, why)
                                                : model_add_dropout(m, l->rate, why);
        if (status < 0)
            return section_fail(ps, SEC_ARCH, "layer %d: %s", i + 1, why);
    }
    if (model_build(m, d->rank, d->shape, why) < 0)
        return section_fail(ps, SEC_ARCH, "%s", why);
    if (d->compiled && model_compile(m, d->loss, d->spec, why) < 0)
        return section_fail(ps, SEC_COMP, "%s", why);
    get_f32_array(&d->params, m->params, m->n_params);
    m->opt.iterations = (int64_t)d->iterations;
    if (d->has_m)
        get_f32_array(&d->moments, m->opt.m, m->n_params);
    if (d->has_v)
        get_f32_array(&d->moments, m->opt.v, m->n_params);
    m->rng = d->rng;
    uint32_t *order = NULL;
    if (d->has_order && read_order(ps, d, &order) < 0)
        return -1;
    m->cursor = d->cursor;
    m->cursor.order = order;

    checkpoint_history *h = &c->history;
    reader r = section_reader(ps, SEC_HIST);
    size_t lists = get_u32(&r);
    if (lists) {
        h->lists = calloc(lists, sizeof *h->lists);
        if (!h->lists)
            return ember_fail(ps->err, "%s: out of memory for the history", ps->name);
        if (decode_history(ps, h) < 0 || check_history_names(ps, h) < 0)
            return -1;
    }
    c->extras = d->extras;
    return 0;
}

int checkpoint_parse(const void *buf, size_t len, const char *name, checkpoint *out, char *err)
{
    parse ps = {.name = name ? name : "checkpoint", .err = err};
    if (read_frames(&ps, buf, len) < 0)
        return -1;
    decoded *d = calloc(1, sizeof *d);   /* 16 KB of layer records: not on the stack */
    if (!d)
        return ember_fail(err, "%s: out of memory", ps.name);
    checkpoint c;
    memset(&c, 0, sizeof c);
    int status = -1;
    if (decode_arch(&ps, d) == 0 && decode_comp(&ps, d) == 0 && decode_state(&ps, d) == 0 &&
        decode_history(&ps, NULL) == 0)
        status = build(&ps, d, &c);
    free(d);
    if (status < 0) {
        checkpoint_free(&c);
        return -1;
    }
    *out = c;
    return 0;
}

int checkpoint_load(const char *path, checkpoint *out, char *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ember_fail(err, "cannot read '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(fd);
        return ember_fail(err, "cannot read '%s': %s", path, strerror(e));
    }
    /* The size is a hint (st_size is 0 for a pipe): read to the end. */
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 65536, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            close(fd);
            return ember_fail(err, "cannot read '%s': out of memory for %zu bytes", path, cap);
        }
        if (len == cap) {
            unsigned char *grown = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!grown)
                free(buf);
            buf = grown;
            cap *= 2;
            continue;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return ember_fail(err, "cannot read '%s': %s", path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    int status = checkpoint_parse(buf, len, path, out, err);
    free(buf);
    return status;
}

/* ---- restoring into a live model ---------------------------------------- */

static void layer_text(char *buf, size_t size, const layer *l)
{
    if (l->kind == LAYER_DENSE)
        snprintf(buf, size, "dense(%d, %s)", l->units, activation_name(l->act));
    else if (l->kind == LAYER_DROPOUT)
        snprintf(buf, size, "dropout(%g)", (double)l->rate);
    else
        snprintf(buf, size, "flatten");
}

int checkpoint_restore(model *dst, checkpoint *src, char *err)
{
    model *s = &src->model;
    if (dst->n_layers != s->n_layers)
        return ember_fail(err, "it is of another architecture: %d layers, this model has %d", s->n_layers,
                          dst->n_layers);
    for (int i = 0; i < dst->n_layers; i++) {
        const layer *a = &dst->layers[i], *b = &s->layers[i];
        if (a->kind != b->kind || a->units != b->units || a->act != b->act || a->rate != b->rate) {
            char here[64], there[64];
            layer_text(here, sizeof here, a);
            layer_text(there, sizeof there, b);
            return ember_fail(err, "it is of another architecture: layer %d is %s there, %s in this model", i + 1,
                              there, here);
        }
    }
    if (dst->built && (dst->input_rank != s->input_rank ||
                       memcmp(dst->input_shape, s->input_shape, (size_t)s->input_rank * sizeof(int)) != 0)) {
        char here[48], there[48];
        ember_shape_text(here, sizeof here, dst->input_rank, dst->input_shape);
        ember_shape_text(there, sizeof there, s->input_rank, s->input_shape);
        return ember_fail(err, "it is of another architecture: input %s there, %s in this model", there, here);
    }
    if (!dst->built && model_build(dst, s->input_rank, s->input_shape, err) < 0)
        return -1;
    /* Nothing below can fail: copy into dst's own arrays (Lua views of
     * its weights point there), move the rest. */
    memcpy(dst->params, s->params, s->n_params * sizeof *dst->params);
    memset(dst->grads, 0, dst->n_params * sizeof *dst->grads);
    dst->grads_zero = true;   /* as after any training step */
    optimizer_free(&dst->opt);
    dst->opt = s->opt;
    memset(&s->opt, 0, sizeof s->opt);
    dst->loss = s->loss;
    dst->compiled = s->compiled;
    dst->rng = s->rng;
    free(dst->cursor.order);
    dst->cursor = s->cursor;
    s->cursor.order = NULL;
    return 0;
}
