/* check.h: the assertion helpers of the C unit tests. */
#ifndef VSW_UNIT_CHECK_H
#define VSW_UNIT_CHECK_H
#include <stdio.h>

static int check_failures;
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)
#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);     \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (0x%llx != 0x%llx)\n",   \
				__FILE__, __LINE__, #a, #b, a_, b_);                               \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)
#define CHECK_DONE()                                                                               \
	(check_failures ? (fprintf(stderr, "%d check(s) failed\n", check_failures), 1)            \
			: (printf("all checks passed\n"), 0))
#endif
