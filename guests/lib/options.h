/* Options of the form name=VALUE on a guest's command line, shared by the guests that take them (blk, net). */
#ifndef OPTIONS_H
#define OPTIONS_H

#include "guest.h"

/* Whether two strings are equal. */
int str_eq(const char *a, const char *b);

/* Whether a contains '=' (an option rather than a command word). */
int has_eq(const char *a);

/* The VALUE of the last name=VALUE among argv[0..n), or 0. */
const char *opt_in(int n, char **argv, const char *name);

/* Parses a decimal u64 (digits only, at least one) into *v; 0 when s is not one. */
int parse_u64(const char *s, u64 *v);

/* Prints "WHO: bad WHAT 'VALUE'" on the console and sets *flag (the guest refuses to run on bad arguments). */
void opt_report_bad(const char *who, const char *what, const char *value, int *flag);

/* The number given as name=N among argv[0..n), or fallback when absent; a value that is no number is reported with
 * opt_report_bad and gives fallback. */
u64 opt_u64_in(int n, char **argv, const char *name, u64 fallback, const char *who, int *flag);

#endif
