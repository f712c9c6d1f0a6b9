/* test_progress.c: the Keras-style progress line, as plain text. */
#include <string.h>

#include "term/progress.h"
#include "testutil.h"

int main(void)
{
    char buf[256];
    progress_metric metrics[] = {{"loss", 0.48123}, {"accuracy", 0.82}};

    /* Finished epoch: total time, time per step, metrics to 4 places. */
    term_progress(buf, sizeof buf, 1875, 1875, 3.2, 1, 30, metrics, 2);
    CHECK(strcmp(buf, "1875/1875 [==============================] - 3s 2ms/step"
                      " - loss: 0.4812 - accuracy: 0.8200") == 0);

    /* Running: the head '>' and the dots, count right-aligned, an ETA. */
    term_progress(buf, sizeof buf, 10, 100, 1.0, 0, 10, metrics, 1);
    CHECK(strcmp(buf, " 10/100 [>.........] - ETA: 9s - loss: 0.4812") == 0);
    term_progress(buf, sizeof buf, 50, 100, 1.0, 0, 10, NULL, 0);
    CHECK(strcmp(buf, " 50/100 [====>.....] - ETA: 1s") == 0);

    /* No bar (verbose 2), and durations below a second. */
    term_progress(buf, sizeof buf, 188, 188, 0.45, 1, 0, metrics, 2);
    CHECK(strcmp(buf, "188/188 - 450ms 2ms/step - loss: 0.4812 - accuracy: 0.8200") == 0);
    term_duration(buf, sizeof buf, 12e-6);
    CHECK(strcmp(buf, "12us") == 0);

    /* A small buffer truncates like snprintf and stays terminated. */
    char small[12];
    size_t n = term_progress(small, sizeof small, 1875, 1875, 3.2, 1, 30, metrics, 2);
    CHECK(n == sizeof small - 1 && strlen(small) == sizeof small - 1);
    CHECK(strncmp(small, "1875/1875 [", 11) == 0);
    return test_report();
}
