/* testutil.h: the assert helpers shared by the C unit tests.
 *
 * A failed check prints file:line and what failed to stderr and is counted;
 * the test goes on, so one run shows every failure. main ends with
 * `return test_report();`, which is the process's exit status. Only for
 * tests: the counters are file-static, one set per test program. */
#ifndef EMBER_TESTUTIL_H
#define EMBER_TESTUTIL_H

#include <stdio.h>
#include <string.h>

static int test_checks;
static int test_failures;

#define CHECK(cond)                                                        \
    do {                                                                   \
        test_checks++;                                                     \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                      \
            test_failures++;                                               \
        }                                                                  \
    } while (0)

/* Also fails when either string is NULL. */
#define CHECK_STR_CONTAINS(haystack, needle)                               \
    do {                                                                   \
        const char *test_h_ = (haystack), *test_n_ = (needle);             \
        test_checks++;                                                     \
        if (!test_h_ || !test_n_ || !strstr(test_h_, test_n_)) {           \
            fprintf(stderr, "%s:%d: CHECK_STR_CONTAINS failed: %s\n"       \
                    "  text:     \"%s\"\n  expected: \"%s\"\n",            \
                    __FILE__, __LINE__, #haystack,                         \
                    test_h_ ? test_h_ : "(null)",                          \
                    test_n_ ? test_n_ : "(null)");                         \
            test_failures++;                                               \
        }                                                                  \
    } while (0)

static inline int test_report(void)
{
    if (test_failures) {
        fprintf(stderr, "%d of %d checks failed\n", test_failures, test_checks);
        return 1;
    }
    fprintf(stderr, "all %d checks passed\n", test_checks);
    return 0;
}

#endif
