/* test_progress.c: the Keras-style progress line, as plain text. */
#include <string.h>

#include "term/progress.h"
#include "testutil.h"

int main(void)
{
    char buf[256];
    progress_metric metrics[] = {{"loss", 0.48123}, {"accuracy", 0.82}};

    /* Finished epoch: total time, time per step, metrics to 4 places. */
    term_progress(buf, sizeof buf, &(progress_line){.done = 1875, .total = 1875, .elapsed = 3.2,
                                                    .finished = 1, .bar_width = 30, .metrics = metrics, .n_metrics = 2});
    CHECK(strcmp(buf, "1875/1875 [==============================] - 3s 2ms/step"
                      " - loss: 0.4812 - accuracy: 0.8200") == 0);

    /* Running: the head '>' and the dots, count right-aligned, an ETA. */
    term_progress(buf, sizeof buf, &(progress_line){.done = 10, .total = 100, .elapsed = 1.0,
                                                    .bar_width = 10, .metrics = metrics, .n_metrics = 1});
    CHECK(strcmp(buf, " 10/100 [>.........] - ETA: 9s - loss: 0.4812") == 0);
    term_progress(buf, sizeof buf, &(progress_line){.done = 50, .total = 100, .elapsed = 1.0, .bar_width = 10});
    CHECK(strcmp(buf, " 50/100 [====>.....] - ETA: 1s") == 0);

    /* No bar (verbose 2), and durations below a second. */
    term_progress(buf, sizeof buf, &(progress_line){.done = 188, .total = 188, .elapsed = 0.45,
                                                    .finished = 1, .metrics = metrics, .n_metrics = 2});
    CHECK(strcmp(buf, "188/188 - 450ms 2ms/step - loss: 0.4812 - accuracy: 0.8200") == 0);
    /* An epoch resumed at step 900: the time covers 975 steps, not 1875. */
    term_progress(buf, sizeof buf, &(progress_line){.done = 1875, .total = 1875, .timed = 975, .elapsed = 3.9,
                                                    .finished = 1});
    CHECK(strcmp(buf, "1875/1875 - 4s 4ms/step") == 0);
    term_progress(buf, sizeof buf, &(progress_line){.done = 1000, .total = 1875, .timed = 100, .elapsed = 1.0});
    CHECK(strcmp(buf, "1000/1875 - ETA: 9s") == 0);
    term_duration(buf, sizeof buf, 12e-6);
    CHECK(strcmp(buf, "12us") == 0);

    /* A small buffer truncates like snprintf and stays terminated. */
    char small[12];
    size_t n = term_progress(small, sizeof small, &(progress_line){.done = 1875, .total = 1875, .elapsed = 3.2,
                                                                   .finished = 1, .bar_width = 30, .metrics = metrics, .n_metrics = 2});
    CHECK(n == sizeof small - 1 && strlen(small) == sizeof small - 1);
    CHECK(strncmp(small, "1875/1875 [", 11) == 0);
    return test_report();
}
