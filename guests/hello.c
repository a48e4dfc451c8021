/* hello [ARGS...]: greets, echoes its arguments, and exits with status N when an argument is exit=N. */
#include "guest.h"

int guest_main(int argc, char **argv)
{
    int status = 0;
    put_str("Hello from the guest!\n");
    put_str("argc=");
    put_u64((u64)argc);
    put_char('\n');
    for (int i = 0; i < argc; i++) {
        put_str("argv[");
        put_u64((u64)i);
        put_str("]=");
        put_str(argv[i]);
        put_char('\n');
        const char *a = argv[i];
        if (a[0] == 'e' && a[1] == 'x' && a[2] == 'i' && a[3] == 't' && a[4] == '=') {
            char *rest = (char *)a + 5;
            status = (int)arg_u64(1, &rest, 0, 0);
        }
    }
    return status;
}
