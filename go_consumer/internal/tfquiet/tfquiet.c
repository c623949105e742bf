// Silences TensorFlow's own logging for the whole process (tests/CONTRACT.md: stderr carries
// only the consumer's messages). POLYGLOT_NATIVE_LOG=1 turns this off.
//
// TensorFlow 2.21 logs from static initializers of libtensorflow_framework.so.2 (the oneDNN
// notice from port.cc) and caches TF_CPP_MIN_LOG_LEVEL there, before any Go code runs, so
// neither os.Setenv nor an ordinary constructor is early enough. This file uses the
// executable's .preinit_array, which the dynamic loader runs before the initializers of any
// shared library:
//   1. If TF_CPP_MIN_LOG_LEVEL=3 is not in the environment, or TF_ENABLE_ONEDNN_OPTS is not
//      set at all, re-execute /proc/self/exe with TF_CPP_MIN_LOG_LEVEL=3 and
//      TF_ENABLE_ONEDNN_OPTS=0 added (setenv here would be undone by libc's own initializer,
//      which runs later). oneDNN off is the contract's numeric configuration (CONTRACT.md,
//      "Runtime"); a value the user set explicitly is kept.
//   2. Point fd 2 at /dev/null while the libraries initialize, keeping a copy of the real
//      stderr; a constructor of the executable, which runs after all library initializers and
//      before the Go runtime starts, puts it back.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char tfquiet_env[] = "TF_CPP_MIN_LOG_LEVEL=3";
static const char tfquiet_onednn_env[] = "TF_ENABLE_ONEDNN_OPTS=0";
static int tfquiet_saved_stderr = -1;

static void tfquiet_preinit(int argc, char **argv, char **envp) {
	(void)argc;
	int n = 0, has_log_level = 0, has_onednn = 0, native_log = 0;
	for (; envp != NULL && envp[n] != NULL; n++) {
		if (strcmp(envp[n], tfquiet_env) == 0) has_log_level = 1;
		if (strncmp(envp[n], "TF_ENABLE_ONEDNN_OPTS=", 22) == 0) has_onednn = 1;
		// POLYGLOT_NATIVE_LOG=1 keeps TensorFlow's native log lines (README, CONTRACT.md).
		if (strcmp(envp[n], "POLYGLOT_NATIVE_LOG=1") == 0) native_log = 1;
	}
	int add_log_level = !native_log && !has_log_level;
	if ((add_log_level || !has_onednn) && argv != NULL) {
		char **env = calloc((size_t)n + 3, sizeof(char *));
		if (env != NULL) {
			int k = 0;
			for (int i = 0; i < n; i++) {
				if (add_log_level && strncmp(envp[i], "TF_CPP_MIN_LOG_LEVEL=", 21) == 0) continue;
				env[k++] = envp[i];
			}
			if (add_log_level) env[k++] = (char *)tfquiet_env;
			if (!has_onednn) env[k++] = (char *)tfquiet_onednn_env;
			env[k] = NULL;
			execve("/proc/self/exe", argv, env);
			free(env); // exec failed: carry on with TensorFlow's defaults
		}
	}
	if (native_log) return;
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
