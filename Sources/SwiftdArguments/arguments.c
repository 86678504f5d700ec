// The command line as `CommandLine.arguments` sees it, for the swiftd command.
//
// On Linux the Swift runtime finds argv with a static constructor that opens
// /proc/self/maps and parses it with sscanf, to locate the stack and walk back
// from `environ` to argc: 49,000 instructions and five system calls before
// `main`, in every swiftd command (callgrind: `swiftd --version` runs 138,963
// instructions in all). glibc already passes argc and argv to every function
// in .init_array, so this file keeps them from there instead.
//
// Defining the runtime's two entry points here (they are all its CommandLine
// object defines) keeps that object out of the static link, and with it the
// constructor. Should a Swift release move them, the link fails with a
// duplicate symbol rather than running two definitions. Only the swiftd
// executable links this target: the Daemonize library leaves the runtime as
// it is for the programs that use it.
#include "swiftdarguments.h"

#include <stddef.h>

static char **grabbed_argv;
static int grabbed_argc;
static char **override_argv;
static int override_argc;
static char *empty_argv[] = { NULL };

// Runs before any Swift code: objects come before the runtime's archive on the
// link line, so this entry precedes the runtime's own in .init_array.
__attribute__((constructor))
static void swiftd_grab_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc > 0 && argv != NULL) {
        grabbed_argc = argc;
        grabbed_argv = argv;
    }
}

// The runtime's interface, in Swift's calling convention as it declares it.
// Hidden: the static link resolves the runtime's calls to these, while a
// debug build, linked against libswiftCore.so, keeps the library's own and
// exports nothing that could stand in for them.
__attribute__((swiftcall, used, visibility("hidden")))
char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    if (override_argv != NULL) {
        *outArgLen = override_argc;
        return override_argv;
    }
    if (grabbed_argv != NULL) {
        *outArgLen = grabbed_argc;
        return grabbed_argv;
    }
    *outArgLen = 0;
    return empty_argv;
}

__attribute__((swiftcall, used, visibility("hidden")))
void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    override_argv = argv;
    override_argc = argc;
}
