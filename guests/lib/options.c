#include "options.h"

int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int has_eq(const char *a)
{
    for (; *a; a++)
        if (*a == '=')
            return 1;
    return 0;
}

const char *opt_in(int n, char **argv, const char *name)
{
    const char *found = 0;
    for (int i = 0; i < n; i++) {
        const char *a = argv[i], *p = name;
        while (*p && *a == *p)
            a++, p++;
        if (!*p && *a == '=')
            found = a + 1;
    }
    return found;
}

int parse_u64(const char *s, u64 *v)
{
    if (!s || !*s)
        return 0;
    u64 x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        x = x * 10 + (u64)(*s - '0');
    }
    *v = x;
    return 1;
}

void opt_report_bad(const char *who, const char *what, const char *value, int *flag)
{
    put_str(who);
    put_str(": bad ");
    put_str(what);
    put_str(" '");
    put_str(value ? value : "");
    put_str("'\n");
    *flag = 1;
}

u64 opt_u64_in(int n, char **argv, const char *name, u64 fallback, const char *who, int *flag)
{
    const char *s = opt_in(n, argv, name);
    u64 v;
    if (!s)
        return fallback;
    if (!parse_u64(s, &v)) {
        opt_report_bad(who, name, s, flag);
        return fallback;
    }
    return v;
}
