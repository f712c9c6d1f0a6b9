/* train.c: training from the model's cursor, and evaluation (see train.h).
 *
 * Owns the cursor's arithmetic: which samples the next batch holds, when an
 * epoch ends and the next one's order is drawn. Allocates only when an
 * epoch's sample count changes (the order array) and once per evaluation. */
#include "core/train.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/fp.h"

/* Builds the model for the source's samples if needed, then checks that
 * the two agree: same features per sample, labels the outputs can name. */
static int check_source(model *m, const sample_source *src, char *err)
{
    if (src->count == 0)
        return ember_fail(err, "the data holds no samples");
    if (src->count > UINT32_MAX)
        return ember_fail(err, "the data holds %zu samples: at most %u are supported", src->count, UINT32_MAX);
    if (!m->compiled)
        return ember_fail(err, "the model is not compiled: choose a loss and an optimizer first");
    /* Labels first: a refusal must leave even an unbuilt model unbuilt. */
    if (model_check_max_label(m, src->max_label, err) < 0)
        return -1;
    if (!m->built && model_build(m, src->rank, src->shape, err) < 0)
        return -1;
    if ((size_t)m->input_size != source_features(src)) {
        char want[48], got[48];
        ember_shape_text(want, sizeof want, m->input_rank, m->input_shape);
        ember_shape_text(got, sizeof got, src->rank, src->shape);
        return ember_fail(err, "the model takes samples of shape %s (%d values) but the data has samples of shape %s (%zu values)",
                          want, m->input_size, got, source_features(src));
    }
    return 0;
}

/* Starts an epoch: the order of its samples, and empty running sums. */
static int start_epoch(model *m, const sample_source *src, int batch_size, bool shuffle, char *err)
{
    train_cursor *c = &m->cursor;
    if (c->count != src->count || !c->order) {
        uint32_t *order = realloc(c->order, src->count * sizeof *order);
        if (!order)
            return ember_fail(err, "out of memory for the order of %zu samples", src->count);
        c->order = order;
        c->count = src->count;
    }
    for (size_t i = 0; i < c->count; i++)
        c->order[i] = (uint32_t)i;
    if (shuffle)
        rng_shuffle(&m->rng, c->order, c->count);
    c->batch_size = batch_size;
    c->loss_sum = c->correct_sum = 0.0;
    c->samples = 0;
    return 0;
}

static train_logs epoch_logs(const train_cursor *c)
{
    return (train_logs){
        .loss = c->samples ? c->loss_sum / c->samples : 0.0,
        .accuracy = c->samples ? c->correct_sum / c->samples : 0.0,
        .samples = c->samples,
        .batches = c->batch,
    };
}

int train_steps(model *m, const sample_source *src, const train_options *o,
                int64_t max_batches, bool to_epoch_end, train_logs *out,
                bool *stopped, char *err)
{
    int batch_size = o && o->batch_size ? o->batch_size : 32;
    if (stopped)
        *stopped = false;
    if (batch_size < 1)
        return ember_fail(err, "batch size must be a positive integer (got %d)", batch_size);
    if (check_source(m, src, err) < 0 || model_reserve(m, batch_size, err) < 0)
        return -1;

    train_cursor *c = &m->cursor;
    /* Other data or another batch size cannot continue this epoch. */
    if (c->batch > 0 && (c->count != src->count || c->batch_size != batch_size)) {
        c->epoch++;
        c->batch = 0;
    }
    int64_t per_epoch = (int64_t)((src->count + batch_size - 1) / batch_size);
    double loss_sum = 0.0, correct_sum = 0.0;
    int64_t samples = 0, batches = 0;
    int status = 0;

    while (max_batches < 0 || batches < max_batches) {
        /* A refused batch (non-finite loss, say) must leave the model as
         * before it, so the shuffle start_epoch draws is put back too
         * (with the cursor's figures; its order array, which the next
         * epoch refills anyway, stays as reallocated). */
        rng rng_before = m->rng;
        train_cursor before = *c;
        if (c->batch == 0 && start_epoch(m, src, batch_size, !(o && o->no_shuffle), err) < 0) {
            status = -1;
            break;
        }
        size_t first = (size_t)c->batch * batch_size;
        int rows = (int)(c->count - first < (size_t)batch_size ? c->count - first : (size_t)batch_size);
        src->gather(src->ctx, c->order + first, (size_t)rows, m->x, m->labels);

        batch_stats st;
        if (model_train_batch(m, m->x, m->labels, NULL, rows, &st, err) < 0) {
            m->rng = rng_before;
            before.order = c->order;
            before.count = c->count;
            *c = before;
            if (err) {   /* where training stopped, as people count: from 1 */
                char why[EMBER_ERR_SIZE];
                snprintf(why, sizeof why, "%s", err);
                ember_fail(err, "epoch %lld, batch %lld: %s", (long long)c->epoch + 1, (long long)c->batch + 1, why);
            }
            status = -1;
            break;
        }
        c->batch++;
        c->seen += rows;
        c->loss_sum += st.loss * rows;
        c->correct_sum += st.correct;
        c->samples += rows;
        loss_sum += st.loss * rows;
        correct_sum += st.correct;
        samples += rows;
        batches++;

        train_event ev = {.epoch = c->epoch, .batch = c->batch,
                          .batches_per_epoch = per_epoch,
                          .epoch_end = first + (size_t)rows == c->count,
                          .epoch_logs = epoch_logs(c)};
        if (ev.epoch_end) {
            c->epoch++;
            c->batch = 0;
        }
        if (o && o->observe && o->observe(o->observer_data, m, &ev)) {
            if (stopped)
                *stopped = true;
            break;
        }
        if (ev.epoch_end && to_epoch_end)
            break;
    }
    if (out)
        *out = (train_logs){.loss = samples ? loss_sum / samples : 0.0,
                            .accuracy = samples ? correct_sum / samples : 0.0,
                            .samples = samples, .batches = batches};
    return status;
}

int train_epoch(model *m, const sample_source *src, const train_options *o,
                train_logs *out, bool *stopped, char *err)
{
    return train_steps(m, src, o, -1, true, out, stopped, err);
}

int model_evaluate(model *m, const sample_source *src, int batch_size,
                   train_logs *out, char *err)
{
    if (batch_size == 0)
        batch_size = 32;
    if (batch_size < 1)
        return ember_fail(err, "batch size must be a positive integer (got %d)", batch_size);
    if (!m->built)
        return ember_fail(err, "the model is not built yet: train it, or build it for an input shape");
    if (check_source(m, src, err) < 0 || model_reserve(m, batch_size, err) < 0)
        return -1;
    uint32_t *index = malloc((size_t)batch_size * sizeof *index);
    if (!index)
        return ember_fail(err, "out of memory");

    const layer *last = &m->layers[m->n_layers - 1];
    bool sparse = loss_takes_labels(m->loss.kind);
    double loss_sum = 0.0, correct_sum = 0.0;
    int64_t batches = 0;
    fp_mode mode = fp_enter();
    for (size_t first = 0; first < src->count; first += (size_t)batch_size) {
        int rows = (int)(src->count - first < (size_t)batch_size ? src->count - first : (size_t)batch_size);
        for (int i = 0; i < rows; i++)
            index[i] = (uint32_t)(first + (size_t)i);
        src->gather(src->ctx, index, (size_t)rows, m->x, m->labels);
        /* The source's max_label was checked; these are the labels read. */
        if (model_check_labels(m, m->labels, rows, err) < 0) {
            fp_leave(mode);
            free(index);
            return -1;
        }
        const float *targets = NULL;
        if (!sparse) {
            model_label_targets(m, m->labels, rows, m->targets);
            targets = m->targets;
        }
        const float *y = model_forward(m, m->x, rows, false);
        loss_sum += rows * loss_compute(m->loss, last->act, last->z, y, rows, last->out,
                                        m->labels, targets, NULL);
        correct_sum += accuracy_sum(m->loss, y, rows, last->out, m->labels, targets);
        batches++;
    }
    fp_leave(mode);
    free(index);
    *out = (train_logs){.loss = loss_sum / src->count, .accuracy = correct_sum / src->count,
                        .samples = (int64_t)src->count, .batches = batches};
    return 0;
}
