// Silences TensorFlow's own logging for the whole process (tests/CONTRACT.md: stderr carries
// only the consumer's messages). POLYGLOT_NATIVE_LOG=1 turns this off.
//
// TensorFlow 2.21 logs from static initializers of libtensorflow_framework.so.2 (the oneDNN
// notice from port.cc) and caches TF_CPP_MIN_LOG_LEVEL there, before any Go code runs, so
// neither os.Setenv nor an ordinary constructor is early enough. This file uses the
// executable's .preinit_array, which the dynamic loader runs before the initializers of any
// shared library:
//   1. If TF_CPP_MIN_LOG_LEVEL=3 is not in the environment, re-execute /proc/self/exe with it
//      added (setenv here would be undone by libc's own initializer, which runs later).
//   2. Point fd 2 at /dev/null while the libraries initialize, keeping a copy of the real
//      stderr; a constructor of the executable, which runs after all library initializers and
//      before the Go runtime starts, puts it back.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char tfquiet_env[] = "TF_CPP_MIN_LOG_LEVEL=3";
static int tfquiet_saved_stderr = -1;

static void tfquiet_preinit(int argc, char **argv, char **envp) {
	(void)argc;
	int n = 0, found = 0;
	for (; envp != NULL && envp[n] != NULL; n++) {
		if (strcmp(envp[n], tfquiet_env) == 0) found = 1;
		// POLYGLOT_NATIVE_LOG=1 keeps TensorFlow's native log lines (README, CONTRACT.md).
		if (strcmp(envp[n], "POLYGLOT_NATIVE_LOG=1") == 0) return;
	}
	if (!found && argv != NULL) {
		char **env = calloc((size_t)n + 2, sizeof(char *));
		if (env != NULL) {
			int k = 0;
			for (int i = 0; i < n; i++) {
				if (strncmp(envp[i], "TF_CPP_MIN_LOG_LEVEL=", 21) != 0) env[k++] = envp[i];
			}
			env[k++] = (char *)tfquiet_env;
			env[k] = NULL;
			execve("/proc/self/exe", argv, env);
			free(env); // exec failed: carry on, TensorFlow may log
		}
	}
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0) return;
	tfquiet_saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (tfquiet_saved_stderr >= 0) dup2(devnull, 2);
	close(devnull);
}

__attribute__((section(".preinit_array"), used))
static void (*const tfquiet_preinit_entry)(int, char **, char **) = tfquiet_preinit;

__attribute__((constructor))
static void tfquiet_restore(void) {
	if (tfquiet_saved_stderr < 0) return;
	dup2(tfquiet_saved_stderr, 2);
	close(tfquiet_saved_stderr);
	tfquiet_saved_stderr = -1;
}
