// floor: the C floor of `make bench` (tests/CONTRACT.md, "Benchmark (`bench`)").
//
// It times a signature's predict call through the TensorFlow C API with nothing in between:
// the model is loaded once, each input tensor is allocated and filled once per batch size,
// and every timed call is one TF_SessionRun plus one memcpy of each output's buffer (and its
// TF_DeleteTensor). No consumer can call TensorFlow with less overhead, so the other
// runtimes are measured against it.
//
//   floor --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
//         [--input NAME:DTYPE:SHAPE ...] --output NAME [--output NAME ...]
//         [--batch-sizes 1,8,64,512,4096] [--seconds S] [--intra-op-threads N]
//         [--inter-op-threads N] [--constant-folding off|on] [--label TEXT]
//   floor --print-config [--intra-op-threads N] [--inter-op-threads N] [--constant-folding off|on]
//
// To stay free of a protobuf parser, floor does not read the SignatureDef: the caller (the
// bench harness) passes the signature's tensors as the manifest gives them, e.g.
//   --input serving_default_x:0:DT_DOUBLE:-1,-1 --output StatefulPartitionedCall:0
// (for --format frozen the manifest's frozen names). SHAPE is the comma-separated dims, -1
// for an unknown dim, empty for a scalar (serving_default_n:0:DT_INT64:). --signature only
// names the frozen graph (frozen/<KEY>.pb) and the "signature" field of the output.
//
// PATH is a version folder (contains saved_model.pb) or a model folder models/<name>, of
// which the highest complete version (or --version N) is used, as for the consumers.
//
// The session's ConfigProto is the contract's ("Numeric configuration"): Grappler's constant
// folding off (graph_options.rewrite_options.constant_folding = OFF) and the thread counts
// given. --constant-folding on leaves RewriterConfig unset (TensorFlow's default, folding on),
// so that the cost of the contract's configuration can be measured on the same loop.
// --print-config prints the serialized ConfigProto in lowercase hex (an empty line for an
// empty message) and exits without loading a model.
//
// Inputs, warm-up, timing loop, statistics and the JSON line on stdout follow the contract,
// with "runtime": "c_floor" (or "c_floor_folding_on" with --constant-folding on), then
// "label": TEXT when --label is given, and "constant_folding": "off" or "on" after "format".
// Errors are one line "floor: error: ..." on stderr: exit status 2 for bad flags or a missing
// model, 1 when TensorFlow fails to load or run it.
//
// TensorFlow's logging is silenced (TF_CPP_MIN_LOG_LEVEL=3) and oneDNN's fused kernels are
// off (TF_ENABLE_ONEDNN_OPTS=0) unless the user set those variables, as in the consumers.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tensorflow/c/c_api.h"

#define WARMUP_CALLS 10
#define WARMUP_NS 200000000LL
#define MIN_CALLS 5

// --- environment, before TensorFlow's libraries initialize ------------------------------

// TensorFlow reads TF_CPP_MIN_LOG_LEVEL (and logs) in static initializers of its shared
// libraries, before main. The executable's .preinit_array runs before those initializers;
// setenv there would be undone by libc's own initialization, so when a variable is missing
// the program re-executes itself once with it added.
static void floor_preinit(int argc, char **argv, char **envp) {
	(void)argc;
	int n = 0, has_log = 0, has_onednn = 0;
	for (; envp != NULL && envp[n] != NULL; n++) {
		if (strncmp(envp[n], "TF_CPP_MIN_LOG_LEVEL=", 21) == 0) has_log = 1;
		if (strncmp(envp[n], "TF_ENABLE_ONEDNN_OPTS=", 22) == 0) has_onednn = 1;
	}
	if ((has_log && has_onednn) || argv == NULL) return;
	char **env = calloc((size_t)n + 3, sizeof(char *));
	if (env == NULL) return;
	int k = 0;
	for (int i = 0; i < n; i++) env[k++] = envp[i];
	if (!has_log) env[k++] = "TF_CPP_MIN_LOG_LEVEL=3";
	if (!has_onednn) env[k++] = "TF_ENABLE_ONEDNN_OPTS=0";
	env[k] = NULL;
	execve("/proc/self/exe", argv, env);
	free(env); // exec failed: carry on with TensorFlow's defaults
}

__attribute__((section(".preinit_array"), used))
static void (*const floor_preinit_entry)(int, char **, char **) = floor_preinit;

// --- errors -----------------------------------------------------------------------------

enum { EXIT_TF = 1, EXIT_USAGE = 2 };

// die prints one line "floor: error: MESSAGE" (newlines in MESSAGE folded) and exits.
__attribute__((noreturn, format(printf, 2, 3)))
static void die(int status, const char *fmt, ...) {
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
	}
	fprintf(stderr, "floor: error: %s\n", msg);
	exit(status);
}

static void *xrealloc(void *p, size_t n) {
	void *q = realloc(p, n ? n : 1);
	if (q == NULL) die(EXIT_TF, "out of memory (%zu bytes)", n);
	return q;
}

// --- dtypes -----------------------------------------------------------------------------

typedef enum { KIND_FLOAT, KIND_INT, KIND_BOOL } Kind;

typedef struct {
	const char *name;
	TF_DataType dtype;
	size_t size;
	Kind kind;
} DTypeInfo;

// The numeric and bool dtypes the consumers support (tfjson's, less DT_STRING).
static const DTypeInfo dtypes[] = {
	{"DT_FLOAT", TF_FLOAT, 4, KIND_FLOAT},   {"DT_DOUBLE", TF_DOUBLE, 8, KIND_FLOAT},
	{"DT_HALF", TF_HALF, 2, KIND_FLOAT},     {"DT_INT8", TF_INT8, 1, KIND_INT},
	{"DT_INT16", TF_INT16, 2, KIND_INT},     {"DT_INT32", TF_INT32, 4, KIND_INT},
	{"DT_INT64", TF_INT64, 8, KIND_INT},     {"DT_UINT8", TF_UINT8, 1, KIND_INT},
	{"DT_UINT16", TF_UINT16, 2, KIND_INT},   {"DT_UINT32", TF_UINT32, 4, KIND_INT},
	{"DT_UINT64", TF_UINT64, 8, KIND_INT},   {"DT_BOOL", TF_BOOL, 1, KIND_BOOL},
};

static const DTypeInfo *find_dtype(const char *name) {
	for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
		if (strcmp(dtypes[i].name, name) == 0) return &dtypes[i];
	}
	return NULL;
}

// fill writes element k of the contract's input: (k % 1000) / 1000 for floating dtypes
// (computed in double, then rounded once to the dtype), k % 100 for integers, k % 2 == 1
// for bool.
static void fill(const DTypeInfo *dt, void *data, int64_t n) {
	for (int64_t k = 0; k < n; k++) {
		double f = (double)(k % 1000) / 1000.0;
		int64_t i = k % 100;
		switch (dt->dtype) {
		case TF_FLOAT: ((float *)data)[k] = (float)f; break;
		case TF_DOUBLE: ((double *)data)[k] = f; break;
		case TF_HALF: ((_Float16 *)data)[k] = (_Float16)f; break;
		case TF_INT8: ((int8_t *)data)[k] = (int8_t)i; break;
		case TF_INT16: ((int16_t *)data)[k] = (int16_t)i; break;
		case TF_INT32: ((int32_t *)data)[k] = (int32_t)i; break;
		case TF_INT64: ((int64_t *)data)[k] = i; break;
		case TF_UINT8: ((uint8_t *)data)[k] = (uint8_t)i; break;
		case TF_UINT16: ((uint16_t *)data)[k] = (uint16_t)i; break;
		case TF_UINT32: ((uint32_t *)data)[k] = (uint32_t)i; break;
		case TF_UINT64: ((uint64_t *)data)[k] = (uint64_t)i; break;
		case TF_BOOL: ((uint8_t *)data)[k] = (uint8_t)(k % 2 == 1); break;
		default: die(EXIT_USAGE, "unsupported dtype %s", dt->name);
		}
	}
}

// --- flags ------------------------------------------------------------------------------

typedef struct {
	const char *arg; // as given, for messages
	char *name;      // graph tensor name "op:index"
	const DTypeInfo *dtype;
	int64_t dims[64];
	int rank;
} InputSpec;

typedef struct {
	const char *model, *version, *signature, *format, *label;
	InputSpec *inputs;
	int n_inputs;
	const char **outputs;
	int n_outputs;
	int64_t *batch_sizes;
	int n_batch_sizes;
	double seconds;
	int64_t intra, inter;
	int constant_folding; // 0: off (the contract's configuration, the default); 1: on
	int print_config;
} Options;

static const char usage[] =
	"usage: floor --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]\n"
	"             [--input NAME:DTYPE:SHAPE ...] --output NAME [--output NAME ...]\n"
	"             [--batch-sizes 1,8,64,512,4096] [--seconds S] [--intra-op-threads N]\n"
	"             [--inter-op-threads N] [--constant-folding off|on] [--label TEXT]\n"
	"       floor --print-config [--intra-op-threads N] [--inter-op-threads N]\n"
	"             [--constant-folding off|on]\n";

// parse_int64 parses a whole decimal integer; 0 on failure.
static int parse_int64(const char *s, int64_t *out) {
	if (*s == '\0' || *s == ' ' || *s == '+') return 0;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0') return 0;
	*out = v;
	return 1;
}

// parse_tensor_name splits "op:index" (index 0 when absent) into a fresh op name.
static char *parse_tensor_name(const char *name, int *index) {
	const char *colon = strrchr(name, ':');
	int64_t idx = 0;
	size_t len = strlen(name);
	if (colon != NULL) {
		if (!parse_int64(colon + 1, &idx) || idx < 0 || idx > INT_MAX || colon[1] == '-') {
			die(EXIT_USAGE, "invalid tensor name \"%s\": expected op:index", name);
		}
		len = (size_t)(colon - name);
	}
	if (len == 0) die(EXIT_USAGE, "invalid tensor name \"%s\": expected op:index", name);
	*index = (int)idx;
	char *op = xrealloc(NULL, len + 1);
	memcpy(op, name, len);
	op[len] = '\0';
	return op;
}

// parse_input parses NAME:DTYPE:SHAPE, splitting at the last two colons (NAME has its own).
static void parse_input(const char *arg, InputSpec *in) {
	in->arg = arg;
	const char *c2 = strrchr(arg, ':');
	const char *c1 = NULL;
	for (const char *p = arg; c2 != NULL && p < c2; p++) {
		if (*p == ':') c1 = p;
	}
	if (c1 == NULL || c1 == arg) {
		die(EXIT_USAGE, "--input \"%s\": expected NAME:DTYPE:SHAPE, e.g. serving_default_x:0:DT_FLOAT:-1,1", arg);
	}
	size_t nlen = (size_t)(c1 - arg), dlen = (size_t)(c2 - c1 - 1);
	in->name = xrealloc(NULL, nlen + 1);
	memcpy(in->name, arg, nlen);
	in->name[nlen] = '\0';
	char dname[64];
	if (dlen >= sizeof dname) dlen = sizeof dname - 1;
	memcpy(dname, c1 + 1, dlen);
	dname[dlen] = '\0';
	in->dtype = find_dtype(dname);
	if (in->dtype == NULL) {
		die(EXIT_USAGE, "--input \"%s\": bench needs a numeric or bool dtype (DT_FLOAT, DT_DOUBLE, DT_HALF, DT_INT8/16/32/64, DT_UINT8/16/32/64, DT_BOOL), got \"%s\"", arg, dname);
	}
	in->rank = 0;
	const char *s = c2 + 1;
	if (*s == '\0') return; // a scalar
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		char buf[32];
		int64_t d;
		if (len == 0 || len >= sizeof buf) die(EXIT_USAGE, "--input \"%s\": SHAPE must be dims like -1,3 (empty for a scalar)", arg);
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (!parse_int64(buf, &d) || d < -1) die(EXIT_USAGE, "--input \"%s\": SHAPE must be dims like -1,3 (empty for a scalar); bench needs a known rank", arg);
		if (in->rank == (int)(sizeof in->dims / sizeof in->dims[0])) die(EXIT_USAGE, "--input \"%s\": rank too large", arg);
		in->dims[in->rank++] = d;
		if (comma == NULL) break;
		s = comma + 1;
	}
}

static void parse_batch_sizes(const char *text, Options *o) {
	o->n_batch_sizes = 0;
	const char *s = text;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		char buf[32];
		int64_t v = 0;
		int ok = len > 0 && len < sizeof buf;
		if (ok) {
			memcpy(buf, s, len);
			buf[len] = '\0';
			ok = parse_int64(buf, &v) && v >= 1;
		}
		if (!ok) die(EXIT_USAGE, "--batch-sizes \"%s\": expected positive integers such as 1,8,64", text);
		o->batch_sizes = xrealloc(o->batch_sizes, (size_t)(o->n_batch_sizes + 1) * sizeof(int64_t));
		o->batch_sizes[o->n_batch_sizes++] = v;
		if (comma == NULL) break;
		s = comma + 1;
	}
}

static int64_t parse_threads(const char *flag, const char *value) {
	int64_t v;
	if (!parse_int64(value, &v) || v < 0 || v > INT32_MAX) {
		die(EXIT_USAGE, "%s \"%s\": must be 0 or more (0: TensorFlow's choice)", flag, value);
	}
	return v;
}

static void parse_flags(int argc, char **argv, Options *o) {
	memset(o, 0, sizeof *o);
	o->signature = "serving_default";
	o->format = "saved_model";
	o->seconds = 2;
	parse_batch_sizes("1,8,64,512,4096", o);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(usage, stdout);
			exit(0);
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') die(EXIT_USAGE, "unexpected argument \"%s\"", arg);
		if (strcmp(arg, "--print-config") == 0) { // the one flag without a value
			o->print_config = 1;
			continue;
		}
		// --flag=value or --flag value
		char flag[64];
		const char *value;
		const char *eq = strchr(arg, '=');
		if (eq != NULL) {
			size_t len = (size_t)(eq - arg);
			if (len >= sizeof flag) len = sizeof flag - 1;
			memcpy(flag, arg, len);
			flag[len] = '\0';
			value = eq + 1;
		} else {
			snprintf(flag, sizeof flag, "%s", arg);
			value = NULL;
		}
		if (strcmp(flag, "--print-config") == 0) die(EXIT_USAGE, "--print-config takes no value");
		static const char *const known[] = {"--model", "--version", "--signature", "--format", "--input", "--output", "--batch-sizes", "--seconds", "--intra-op-threads", "--inter-op-threads", "--constant-folding", "--label"};
		int found = 0;
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) found |= strcmp(flag, known[k]) == 0;
		if (!found) die(EXIT_USAGE, "unknown flag %s; flags: --model, --version, --signature, --format, --input, --output, --batch-sizes, --seconds, --intra-op-threads, --inter-op-threads, --constant-folding, --label, --print-config", flag);
		if (value == NULL) {
			if (i + 1 >= argc) die(EXIT_USAGE, "flag %s needs a value", flag);
			value = argv[++i];
		}
		if (strcmp(flag, "--model") == 0) {
			o->model = value;
		} else if (strcmp(flag, "--version") == 0) {
			o->version = value;
		} else if (strcmp(flag, "--signature") == 0) {
			o->signature = value;
		} else if (strcmp(flag, "--format") == 0) {
			if (strcmp(value, "saved_model") != 0 && strcmp(value, "frozen") != 0) die(EXIT_USAGE, "unknown --format \"%s\"; expected saved_model or frozen", value);
			o->format = value;
		} else if (strcmp(flag, "--input") == 0) {
			o->inputs = xrealloc(o->inputs, (size_t)(o->n_inputs + 1) * sizeof(InputSpec));
			parse_input(value, &o->inputs[o->n_inputs++]);
		} else if (strcmp(flag, "--output") == 0) {
			o->outputs = xrealloc(o->outputs, (size_t)(o->n_outputs + 1) * sizeof(char *));
			o->outputs[o->n_outputs++] = value;
		} else if (strcmp(flag, "--batch-sizes") == 0) {
			parse_batch_sizes(value, o);
		} else if (strcmp(flag, "--seconds") == 0) {
			char *end;
			errno = 0;
			o->seconds = strtod(value, &end);
			if (*value == '\0' || *end != '\0' || errno != 0 || !(o->seconds > 0) || !isfinite(o->seconds)) {
				die(EXIT_USAGE, "--seconds must be a number > 0, got \"%s\"", value);
			}
		} else if (strcmp(flag, "--intra-op-threads") == 0) {
			o->intra = parse_threads(flag, value);
		} else if (strcmp(flag, "--inter-op-threads") == 0) {
			o->inter = parse_threads(flag, value);
		} else if (strcmp(flag, "--constant-folding") == 0) {
			if (strcmp(value, "off") == 0) o->constant_folding = 0;
			else if (strcmp(value, "on") == 0) o->constant_folding = 1;
			else die(EXIT_USAGE, "--constant-folding \"%s\": expected off (the contract's configuration) or on (TensorFlow's default)", value);
		} else if (strcmp(flag, "--label") == 0) {
			o->label = value;
		}
	}
	if (o->print_config) return; // needs no model
	if (o->model == NULL || *o->model == '\0') die(EXIT_USAGE, "--model PATH is required");
	if (o->n_outputs == 0) die(EXIT_USAGE, "at least one --output NAME is required (the signature's output tensors)");
	if (o->version != NULL) {
		int64_t v;
		if (!parse_int64(o->version, &v) || v < 1 || o->version[0] == '-') die(EXIT_USAGE, "invalid --version \"%s\": expected a positive integer", o->version);
	}
}

// --- the model folder -------------------------------------------------------------------

static int has_saved_model(const char *dir) {
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof path, "%s/saved_model.pb", dir) >= (int)sizeof path) return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// is_version_name reports whether name is a decimal integer > 0 (^[0-9]+$), and its value.
static int is_version_name(const char *name, int64_t *v) {
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9') return 0;
	}
	return parse_int64(name, v) && *v > 0;
}

// resolve_version_dir returns the absolute version folder for --model and --version.
static char *resolve_version_dir(const char *model, const char *version) {
	struct stat st;
	if (stat(model, &st) != 0 || !S_ISDIR(st.st_mode)) die(EXIT_USAGE, "model path %s does not exist or is not a folder", model);
	char *abs = realpath(model, NULL);
	if (abs == NULL) die(EXIT_USAGE, "cannot resolve model path %s: %s", model, strerror(errno));
	int64_t want = 0;
	if (version != NULL) parse_int64(version, &want);
	if (has_saved_model(abs)) {
		const char *base = strrchr(abs, '/');
		base = base ? base + 1 : abs;
		int64_t v;
		if (version != NULL && !(is_version_name(base, &v) && v == want)) {
			die(EXIT_USAGE, "--version %s does not match the version folder %s", version, abs);
		}
		return abs;
	}
	DIR *d = opendir(abs);
	if (d == NULL) die(EXIT_USAGE, "cannot read model folder %s: %s", abs, strerror(errno));
	int64_t best = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int64_t v;
		char sub[PATH_MAX];
		if (!is_version_name(e->d_name, &v)) continue;
		if (snprintf(sub, sizeof sub, "%s/%s", abs, e->d_name) >= (int)sizeof sub || !has_saved_model(sub)) continue;
		if (version != NULL ? v == want : v > best) best = v;
	}
	closedir(d);
	if (best == 0) {
		if (version != NULL) die(EXIT_USAGE, "version %s not found in %s", version, abs);
		die(EXIT_USAGE, "%s is not a model: no saved_model.pb and no version folder with one", abs);
	}
	char *dir = xrealloc(NULL, strlen(abs) + 32);
	sprintf(dir, "%s/%lld", abs, (long long)best);
	free(abs);
	char *real = realpath(dir, NULL);
	if (real == NULL) die(EXIT_USAGE, "cannot resolve %s: %s", dir, strerror(errno));
	free(dir);
	return real;
}

// --- TensorFlow -------------------------------------------------------------------------

static void check(TF_Status *st, const char *what) {
	if (TF_GetCode(st) != TF_OK) die(EXIT_TF, "%s: %s", what, TF_Message(st));
}

// append_varint appends a protobuf varint.
static size_t append_varint(unsigned char *buf, size_t n, uint64_t v) {
	while (v >= 0x80) {
		buf[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (unsigned char)v;
	return n;
}

// config_proto serializes the session's ConfigProto (tensorflow/core/protobuf/config.proto)
// into buf (at least CONFIG_MAX bytes) and returns its length. Fields in field-number order,
// zero fields left out, as a proto3 serializer writes them (so the bytes equal Python's
// ConfigProto(...).SerializeToString(); tests/test_bench.py checks that):
//   2  intra_op_parallelism_threads  varint
//   5  inter_op_parallelism_threads  varint
//   10 graph_options (GraphOptions), unless --constant-folding on:
//        10 rewrite_options (RewriterConfig, rewriter_config.proto):
//             3 constant_folding (enum Toggle) = OFF (2)
// With --constant-folding on and both thread counts 0 the message is empty (TensorFlow's
// defaults).
#define CONFIG_MAX 32
static size_t config_proto(const Options *o, unsigned char *buf) {
	size_t n = 0;
	if (o->intra > 0) {
		buf[n++] = (2 << 3) | 0;
		n = append_varint(buf, n, (uint64_t)o->intra);
	}
	if (o->inter > 0) {
		buf[n++] = (5 << 3) | 0;
		n = append_varint(buf, n, (uint64_t)o->inter);
	}
	if (!o->constant_folding) {
		static const unsigned char graph_options[] = {
			(10 << 3) | 2, 4,     // ConfigProto.graph_options, 4 bytes
			(10 << 3) | 2, 2,     // GraphOptions.rewrite_options, 2 bytes
			(3 << 3) | 0, 2,      // RewriterConfig.constant_folding = Toggle.OFF
		};
		memcpy(buf + n, graph_options, sizeof graph_options);
		n += sizeof graph_options;
	}
	return n;
}

// session_options returns session options carrying config_proto's ConfigProto (none at all
// when it is empty).
static TF_SessionOptions *session_options(const Options *o, TF_Status *st) {
	TF_SessionOptions *opts = TF_NewSessionOptions();
	unsigned char config[CONFIG_MAX];
	size_t n = config_proto(o, config);
	if (n > 0) {
		TF_SetConfig(opts, config, n, st);
		check(st, "invalid ConfigProto");
	}
	return opts;
}

static TF_Output lookup(TF_Graph *graph, const char *name, const char *what) {
	int index;
	char *op = parse_tensor_name(name, &index);
	TF_Operation *oper = TF_GraphOperationByName(graph, op);
	if (oper == NULL || index >= TF_OperationNumOutputs(oper)) die(EXIT_USAGE, "%s tensor \"%s\" is not in the graph", what, name);
	free(op);
	return (TF_Output){oper, index};
}

static TF_Session *load(const Options *o, const char *dir, TF_Graph *graph, TF_Status *st) {
	TF_SessionOptions *opts = session_options(o, st);
	TF_Session *session;
	if (strcmp(o->format, "saved_model") == 0) {
		const char *tags[] = {"serve"};
		session = TF_LoadSessionFromSavedModel(opts, NULL, dir, tags, 1, graph, NULL, st);
		if (TF_GetCode(st) != TF_OK) die(EXIT_TF, "cannot load the SavedModel in %s: %s", dir, TF_Message(st));
	} else {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/frozen/%s.pb", dir, o->signature);
		FILE *f = fopen(path, "rb");
		if (f == NULL) die(EXIT_USAGE, "cannot read the frozen graph %s: %s", path, strerror(errno));
		char *data = NULL;
		size_t len = 0, cap = 0, got;
		do {
			if (len == cap) data = xrealloc(data, cap = cap ? 2 * cap : 1 << 20);
			got = fread(data + len, 1, cap - len, f);
			len += got;
		} while (got > 0);
		if (ferror(f)) die(EXIT_USAGE, "cannot read the frozen graph %s", path);
		fclose(f);
		TF_Buffer *def = TF_NewBufferFromString(data, len);
		free(data);
		TF_ImportGraphDefOptions *imp = TF_NewImportGraphDefOptions();
		TF_GraphImportGraphDef(graph, def, imp, st);
		TF_DeleteImportGraphDefOptions(imp);
		TF_DeleteBuffer(def);
		if (TF_GetCode(st) != TF_OK) die(EXIT_TF, "cannot import the frozen graph %s: %s", path, TF_Message(st));
		session = TF_NewSession(graph, opts, st);
		check(st, "cannot create a TensorFlow session");
	}
	TF_DeleteSessionOptions(opts);
	return session;
}

// --- timing -----------------------------------------------------------------------------

static inline int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct {
	TF_Session *session;
	TF_Status *status;
	TF_Output *feeds, *fetches;
	TF_Tensor **feed_tensors, **fetch_tensors;
	int n_feeds, n_fetches;
	void **bufs; // one reusable buffer per output, for reading it in one piece
	size_t *caps;
} Call;

// call runs the signature once and reads every output's buffer in one piece.
static inline void call(Call *c) {
	TF_SessionRun(c->session, NULL, c->feeds, c->feed_tensors, c->n_feeds, c->fetches, c->fetch_tensors, c->n_fetches, NULL, 0, NULL, c->status);
	if (TF_GetCode(c->status) != TF_OK) die(EXIT_TF, "TensorFlow failed to run the signature: %s", TF_Message(c->status));
	for (int i = 0; i < c->n_fetches; i++) {
		TF_Tensor *t = c->fetch_tensors[i];
		size_t n = TF_TensorByteSize(t);
		if (n > c->caps[i]) c->bufs[i] = xrealloc(c->bufs[i], c->caps[i] = n);
		if (n > 0) memcpy(c->bufs[i], TF_TensorData(t), n);
		TF_DeleteTensor(t);
		c->fetch_tensors[i] = NULL;
	}
}

static int cmp_int64(const void *a, const void *b) {
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

typedef struct {
	int64_t batch_size, calls;
	double median_us, p99_us, mean_us, rows_per_second;
} Result;

// summarize sorts the call times (ns): median (mean of the two middle ones for an even
// count), nearest-rank p99 (the ceil(0.99 n)-th smallest), mean, and rows per second over
// the total measured time.
static Result summarize(int64_t batch_size, int64_t *t, int64_t n) {
	qsort(t, (size_t)n, sizeof *t, cmp_int64);
	double total = 0;
	for (int64_t i = 0; i < n; i++) total += (double)t[i];
	int64_t rank = (int64_t)ceil(0.99 * (double)n);
	if (rank < 1) rank = 1;
	Result r = {batch_size, n, 0, 0, 0, 0};
	r.median_us = n % 2 ? (double)t[n / 2] / 1e3 : ((double)t[n / 2 - 1] + (double)t[n / 2]) / 2e3;
	r.p99_us = (double)t[rank - 1] / 1e3;
	r.mean_us = total / (double)n / 1e3;
	r.rows_per_second = (double)batch_size * (double)n / (total / 1e9);
	return r;
}

static Result bench_one(Call *c, int64_t batch_size, double seconds) {
	int64_t start = now_ns(), done = 0;
	while (done < WARMUP_CALLS || now_ns() - start < WARMUP_NS) {
		call(c);
		done++;
	}
	int64_t cap = 1 << 16, n = 0;
	int64_t *times = xrealloc(NULL, (size_t)cap * sizeof *times);
	int64_t deadline = now_ns() + (int64_t)(seconds * 1e9), t1 = 0;
	while (n < MIN_CALLS || t1 < deadline) {
		int64_t t0 = now_ns();
		call(c);
		t1 = now_ns();
		if (n == cap) times = xrealloc(times, (size_t)(cap *= 2) * sizeof *times);
		times[n++] = t1 - t0;
	}
	Result r = summarize(batch_size, times, n);
	free(times);
	return r;
}

// --- output -----------------------------------------------------------------------------

static void put_json_string(const char *s) {
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') printf("\\%c", *p);
		else if (*p < 0x20) printf("\\u%04x", *p);
		else putchar(*p);
	}
	putchar('"');
}

// put_number writes the shortest of %.15g..%.17g that reads back as the same double.
static void put_number(double v) {
	char buf[64];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v) break;
	}
	if (strpbrk(buf, ".eEni") == NULL) strcat(buf, ".0"); // a float, as Python's json writes it
	fputs(buf, stdout);
}

int main(int argc, char **argv) {
	Options o;
	parse_flags(argc, argv, &o);
	if (o.print_config) {
		unsigned char config[CONFIG_MAX];
		size_t n = config_proto(&o, config);
		for (size_t i = 0; i < n; i++) printf("%02x", config[i]);
		putchar('\n');
		return fflush(stdout) == 0 ? 0 : EXIT_TF;
	}
	char *dir = resolve_version_dir(o.model, o.version);

	TF_Status *st = TF_NewStatus();
	TF_Graph *graph = TF_NewGraph();
	TF_Session *session = load(&o, dir, graph, st);

	Call c = {0};
	c.session = session;
	c.status = st;
	c.n_feeds = o.n_inputs;
	c.n_fetches = o.n_outputs;
	c.feeds = xrealloc(NULL, (size_t)o.n_inputs * sizeof(TF_Output));
	c.feed_tensors = xrealloc(NULL, (size_t)o.n_inputs * sizeof(TF_Tensor *));
	c.fetches = xrealloc(NULL, (size_t)o.n_outputs * sizeof(TF_Output));
	c.fetch_tensors = xrealloc(NULL, (size_t)o.n_outputs * sizeof(TF_Tensor *));
	c.bufs = xrealloc(NULL, (size_t)o.n_outputs * sizeof(void *));
	c.caps = xrealloc(NULL, (size_t)o.n_outputs * sizeof(size_t));
	for (int i = 0; i < o.n_inputs; i++) {
		c.feeds[i] = lookup(graph, o.inputs[i].name, "input");
		if (TF_OperationOutputType(c.feeds[i]) != o.inputs[i].dtype->dtype) {
			die(EXIT_USAGE, "--input \"%s\": the graph's tensor has another dtype (TF_DataType %d)", o.inputs[i].arg, (int)TF_OperationOutputType(c.feeds[i]));
		}
	}
	for (int i = 0; i < o.n_outputs; i++) {
		c.fetches[i] = lookup(graph, o.outputs[i], "output");
		c.bufs[i] = NULL;
		c.caps[i] = 0;
	}

	Result *results = xrealloc(NULL, (size_t)o.n_batch_sizes * sizeof(Result));
	for (int b = 0; b < o.n_batch_sizes; b++) {
		int64_t batch = o.batch_sizes[b];
		for (int i = 0; i < o.n_inputs; i++) {
			const InputSpec *in = &o.inputs[i];
			int64_t dims[64], n = 1;
			for (int d = 0; d < in->rank; d++) {
				dims[d] = d == 0 ? batch : (in->dims[d] < 0 ? 1 : in->dims[d]);
				n *= dims[d];
			}
			TF_Tensor *t = TF_AllocateTensor(in->dtype->dtype, dims, in->rank, (size_t)n * in->dtype->size);
			if (t == NULL) die(EXIT_TF, "cannot allocate the input %s", in->arg);
			fill(in->dtype, TF_TensorData(t), n);
			c.feed_tensors[i] = t;
		}
		results[b] = bench_one(&c, batch, o.seconds);
		for (int i = 0; i < o.n_inputs; i++) TF_DeleteTensor(c.feed_tensors[i]);
	}

	printf("{\"runtime\": \"%s\", ", o.constant_folding ? "c_floor_folding_on" : "c_floor");
	if (o.label != NULL) {
		printf("\"label\": ");
		put_json_string(o.label);
		printf(", ");
	}
	printf("\"tensorflow_version\": ");
	put_json_string(TF_Version());
	printf(", \"model\": ");
	put_json_string(dir);
	printf(", \"signature\": ");
	put_json_string(o.signature);
	printf(", \"format\": ");
	put_json_string(o.format);
	printf(", \"constant_folding\": \"%s\"", o.constant_folding ? "on" : "off");
	printf(", \"intra_op_threads\": %lld, \"inter_op_threads\": %lld, \"results\": [", (long long)o.intra, (long long)o.inter);
	for (int b = 0; b < o.n_batch_sizes; b++) {
		const Result *r = &results[b];
		printf("%s{\"batch_size\": %lld, \"calls\": %lld, \"median_us\": ", b ? ", " : "", (long long)r->batch_size, (long long)r->calls);
		put_number(r->median_us);
		printf(", \"p99_us\": ");
		put_number(r->p99_us);
		printf(", \"mean_us\": ");
		put_number(r->mean_us);
		printf(", \"rows_per_second\": ");
		put_number(r->rows_per_second);
		printf("}");
	}
	printf("]}\n");
	if (fflush(stdout) != 0) die(EXIT_TF, "cannot write the result: %s", strerror(errno));

	TF_CloseSession(session, st);
	TF_DeleteSession(session, st);
	TF_DeleteGraph(graph);
	TF_DeleteStatus(st);
	return 0;
}
