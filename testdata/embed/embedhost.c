/* A program that embeds CPython the way applications do: it loads the shared libpython at run
 * time and hands it a script. Its own name does not contain "python", it is a position-
 * independent executable, and the interpreter's runtime lives in libpython3.X.so — the layout
 * aioscope must also find.
 *
 * usage: embedhost /path/to/libpython3.X.so.1.0 script.py [args...]
 */
#include <dlfcn.h>
#include <stdio.h>

typedef int (*bytes_main_fn)(int, char **);

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s LIBPYTHON SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        fprintf(stderr, "embedhost: %s\n", dlerror());
        return 1;
    }
    bytes_main_fn bytes_main = (bytes_main_fn)dlsym(lib, "Py_BytesMain");
    if (!bytes_main) {
        fprintf(stderr, "embedhost: %s\n", dlerror());
        return 1;
    }
    /* Py_BytesMain takes a command line: argv[0] then the script and its arguments. */
    argv[1] = argv[0];
    return bytes_main(argc - 1, argv + 1);
}
