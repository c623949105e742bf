// Command go_consumer is the Go consumer of the model-interchange monorepo: it serves
// TensorFlow Serving REST predict requests against a SavedModel (or its frozen GraphDef)
// with the TensorFlow C library, and describes models, exactly as tests/CONTRACT.md says.
//
//	go_consumer predict --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
//	                    [--input FILE|-] [--output FILE|-] [--max-request-bytes N]
//	                    [--skip-verification] [--allow-op OP]...
//	go_consumer inspect --model PATH [--version N] [--json]
//	go_consumer serve-stdio --model PATH [--version N] [--format saved_model|frozen]
//	                        [--max-request-bytes N] [--skip-verification] [--allow-op OP]...
//	go_consumer classify --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
//	                     [--skip-verification] [--allow-op OP]... IMAGE [IMAGE ...]
//	go_consumer generate --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
//	                     --prefix TEXT [--length N] [--skip-verification] [--allow-op OP]...
//	go_consumer train --model PATH [--version N] --data PATH --steps N [--batch-size B]
//	                  [--learning-rate R] [--checkpoint-every K] [--checkpoint-dir DIR] [--resume]
//	                  [--log-every L] [--skip-verification] [--allow-op OP]...
//	go_consumer bench --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
//	                  [--batch-sizes 1,8,64,512,4096] [--seconds S] [--intra-op-threads N]
//	                  [--inter-op-threads N] [--skip-verification] [--allow-op OP]...
//	go_consumer soak --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
//	                 [--input FILE|-] [--predictions N] [--load-cycles M]
//	                 [--skip-verification] [--allow-op OP]...
//	go_consumer serve --model-base-path DIR [--model-name NAME]... [--rest-port 8501] [--grpc-port 8500]
//	                  [--rest-host 127.0.0.1] [--model-version-policy latest|all|specific]
//	                  [--versions 1,2] [--max-request-bytes N] [--request-timeout 30s]
//	                  [--poll-interval 1s] [--skip-verification] [--allow-op OP]...
//	go_consumer version
//	go_consumer run-cases
//
// predict reads at most --max-request-bytes (default 64 MiB) plus one byte of its request,
// and serve-stdio as much of each line, and refuses a longer body without reading the rest.
//
// soak answers one request many times through the predict path, then opens and closes the
// version many times, and prints the resident set size before and after each phase as one
// JSON object, to show that neither leaks (see soak.go).
//
// serve answers TensorFlow Serving's REST API (predict, model status, metadata) for every
// model folder under a base path, loading new versions as they appear (see serve.go).
//
// bench times the predict call of a signature in-process on generated inputs and prints
// one JSON object of call-time statistics per batch size (see bench.go).
//
// train runs the training loop of a model exported with a train signature (such as affine)
// on CSV data, through the SavedModel's own signatures and saver, and publishes the trained
// variables as the next version (see train.go).
//
// classify and generate build one columnar predict request (from image files, or from a
// prefix and a length) for a signature of the right shape, answer it through the same code
// path as predict and print a summary of the outputs.
//
// Every command that loads a version to run it (all but inspect and version) first checks
// the version folder against its manifest.json (sizes and SHA-256 of every file, no file
// unlisted; see model.VerifyVersion) and refuses it on any difference; --skip-verification
// loads a version unchecked, such as a bare SavedModel without a manifest. They then list
// the ops reachable from the signatures they will run and refuse any op that can read or
// write files or reach outside the process (opscan.UnsafeOps, see model.CheckOps) before a
// TensorFlow session is created; --allow-op OP (repeatable) accepts one such op.
//
// run-cases is the test harness's long-lived mode: one JSON case (argv, stdin) per line in,
// one JSON answer (exit status, canonical code, stdout, stderr) per line out, each case run
// in-process through the same entry point as the command line (see runcases.go).
//
// Every error carries a canonical code (package status; tests/CONTRACT.md, "Errors"), and the
// exit status is the code's (tests/cases/messages.json): refusals (bad flags, model or
// request) print one line "go_consumer: error: <message>" on stderr and exit with status 2;
// TensorFlow failing to run a valid request (INTERNAL) exits with 1.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/serving"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
)

const (
	consumerName    = "go_consumer"
	consumerVersion = "0.1.0"
)

const usage = `usage:
  go_consumer predict --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
                      [--input FILE|-] [--output FILE|-] [--max-request-bytes N]
                      [--skip-verification] [--allow-op OP]...
  go_consumer inspect --model PATH [--version N] [--json]
  go_consumer serve-stdio --model PATH [--version N] [--format saved_model|frozen]
                          [--max-request-bytes N] [--skip-verification] [--allow-op OP]...
  go_consumer classify --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
                       [--skip-verification] [--allow-op OP]... IMAGE [IMAGE ...]
  go_consumer generate --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
                       --prefix TEXT [--length N] [--skip-verification] [--allow-op OP]...
  go_consumer train --model PATH [--version N] --data PATH --steps N [--batch-size B]
                    [--learning-rate R] [--checkpoint-every K] [--checkpoint-dir DIR] [--resume]
                    [--log-every L] [--skip-verification] [--allow-op OP]...
  go_consumer bench --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
                    [--batch-sizes 1,8,64,512,4096] [--seconds S] [--intra-op-threads N]
                    [--inter-op-threads N] [--skip-verification] [--allow-op OP]...
  go_consumer soak --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
                   [--input FILE|-] [--predictions N] [--load-cycles M]
                   [--skip-verification] [--allow-op OP]...
  go_consumer serve --model-base-path DIR [--model-name NAME]... [--rest-host 127.0.0.1]
                    [--rest-port 8501|0|off] [--grpc-host 127.0.0.1] [--grpc-port 8500|0|off]
                    [--model-version-policy latest|all|specific] [--versions 1,2]
                    [--max-request-bytes N] [--request-timeout 30s] [--poll-interval 1s]
                    [--skip-verification] [--allow-op OP]...
                    [--enable-batching [--max-batch-size 32] [--batch-timeout-micros 1000]
                     [--num-batch-threads NCPU] [--max-enqueued-batches 100]
                     | --enable-batching --batching-parameters-file FILE]
                    [--monitoring-config-file FILE] [--enable-cors]
  go_consumer serve --model-config-file FILE [--model-config-file-poll-wait-seconds 0]
                    [--allow-version-labels-for-unavailable-models] [the flags above but
                    --model-base-path, --model-name, --model-version-policy and --versions]
                    TensorFlow Serving's own flags, with its meanings (0: none):
                    [--port 8500] [--rest_api_port 0] [--model_name default]
                    [--model_base_path DIR] [--file_system_poll_wait_seconds 1]
                    [--rest_api_timeout_in_ms 30000] [--enable_batching]
                    [--rest_api_enable_cors_support] [--monitoring_config_file FILE]
                    [--model_config_file FILE] [--model_config_file_poll_wait_seconds 0]
                    [--allow_version_labels_for_unavailable_models]
                    [--batching_parameters_file FILE]
  go_consumer version
  go_consumer run-cases    (test mode: one JSON case per line; tests/CONTRACT.md, "Case runner")

--max-request-bytes N: refuse a request body (for serve-stdio, a line) longer than N bytes
(a positive integer; default 67108864).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usagef is a refusal of the command line: a bad flag, argument or option
// (INVALID_ARGUMENT).
func usagef(format string, args ...any) error {
	return status.New(status.InvalidArgument, format, args...)
}

// fileCode is the code of a file that a flag or argument names and that cannot be read:
// NOT_FOUND when it does not exist, INVALID_ARGUMENT otherwise (tests/CONTRACT.md, "Errors").
func fileCode(err error) status.Code {
	if errors.Is(err, fs.ErrNotExist) {
		return status.NotFound
	}
	return status.InvalidArgument
}

// errHelp asks for the usage text on stdout and exit status 0.
var errHelp = errors.New("help requested")

// run executes one command line and returns its exit status, the exit status of its code
// (runCode).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runCode(args, stdin, stdout, stderr).ExitStatus()
}

// runCode executes one command line and returns the canonical code of its outcome: OK after
// success, else the code of its error (status.CodeOf: INTERNAL for an error without one, and
// for a panic). This is the command line's edge (tests/CONTRACT.md, "Errors"): every failure
// is reported as exactly one line on stderr, a panic the same way rather than crashing, and
// the exit status is the code's alone.
func runCode(args []string, stdin io.Reader, stdout, stderr io.Writer) (code status.Code) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "%s: error: internal error: %s\n", consumerName, oneLine(fmt.Sprint(r)))
			code = status.Internal
		}
	}()
	err := dispatch(args, stdin, stdout, stderr)
	switch {
	case err == nil:
		return status.OK
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, usage)
		return status.OK
	}
	fmt.Fprintf(stderr, "%s: error: %s\n", consumerName, oneLine(err.Error()))
	return status.CodeOf(err)
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

const commandList = "predict, inspect, serve-stdio, serve, classify, generate, train, bench, soak or version"

// dispatch runs one command; stderr takes the progress lines of train (errors are
// reported by run).
func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("missing command; expected " + commandList)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "predict":
		return cmdPredict(rest, stdin, stdout)
	case "inspect":
		return cmdInspect(rest, stdout)
	case "serve-stdio":
		return cmdServeStdio(rest, stdin, stdout)
	case "classify":
		return cmdClassify(rest, stdout)
	case "generate":
		return cmdGenerate(rest, stdout)
	case "train":
		return cmdTrain(rest, stdout, stderr)
	case "bench":
		return cmdBench(rest, stdout)
	case "soak":
		return cmdSoak(rest, stdin, stdout)
	case "serve":
		return cmdServe(rest, stderr)
	case "run-cases":
		return cmdRunCases(rest, stdin, stdout)
	case "version":
		fs := newFlagSet("version")
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "%s %s TensorFlow %s\n", consumerName, consumerVersion, model.TFVersion())
		return err
	case "-h", "--help", "help":
		return errHelp
	default:
		return usagef("unknown command %q; expected %s", status.Bound(cmd), commandList)
	}
}

// --- flags ------------------------------------------------------------------------------

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

var singleDashFlag = regexp.MustCompile(`(^|[\s:])-([A-Za-z][\w-]*)`)

// parseFlags parses a subcommand's flags, turning the flag package's errors into one-line
// usage errors that spell flags the way the contract does (--name).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		msg := err.Error()
		const undefined = "flag provided but not defined: -"
		const needsValue = "flag needs an argument: -"
		switch {
		case strings.HasPrefix(msg, undefined):
			var known []string
			fs.VisitAll(func(f *flag.Flag) { known = append(known, "--"+f.Name) })
			sort.Strings(known)
			list := strings.Join(known, ", ")
			if list == "" {
				list = "none"
			}
			return usagef("%s: unknown flag --%s; flags: %s", fs.Name(), strings.TrimPrefix(msg, undefined), list)
		case strings.HasPrefix(msg, needsValue):
			return usagef("%s: flag --%s needs a value", fs.Name(), strings.TrimPrefix(msg, needsValue))
		}
		return usagef("%s: %s", fs.Name(), singleDashFlag.ReplaceAllString(msg, "$1--$2"))
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), status.Bound(fs.Arg(0)))
	}
	return nil
}

// parseFlagsAndArgs parses a subcommand that takes positional arguments. As with Python's
// argparse, flags may come before, between or after them, and "--" ends the flags (the
// flag package alone stops at the first positional argument).
func parseFlagsAndArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case len(arg) > 1 && arg[0] == '-':
			flags = append(flags, arg)
			name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
			if strings.Contains(name, "=") {
				continue
			}
			if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
				i++
				flags = append(flags, args[i]) // the flag's value, whatever it looks like
			}
		default:
			positional = append(positional, arg)
		}
	}
	if err := parseFlags(fs, flags); err != nil {
		return nil, err
	}
	return positional, nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// modelFlags are the flags every model command has (--model, --version), for the commands
// that run a signature --signature and --format, and for the commands that load a version
// to run it --skip-verification.
type modelFlags struct {
	fs        *flag.FlagSet
	path      *string
	version   *string
	signature *string // nil without addRunFlags
	format    *string // nil without addRunFlags
	// skipVerification is nil for commands that do not verify the version (inspect), which
	// then have no --skip-verification flag.
	skipVerification *bool
	// allowOps are the --allow-op values of the commands that run signatures (added with
	// --skip-verification): unsafe ops the user accepts.
	allowOps opList
}

// opList is a repeatable flag: each use appends its value.
type opList []string

func (l *opList) String() string { return strings.Join(*l, ",") }

// Set appends one op name.
func (l *opList) Set(op string) error {
	*l = append(*l, op)
	return nil
}

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	return &modelFlags{
		fs:      fs,
		path:    fs.String("model", "", "model folder models/<name> or version folder"),
		version: fs.String("version", "", "version number (default: the highest complete version)"),
	}
}

// addRunFlags adds the model flags plus --signature (with the command's default key),
// --format and --skip-verification.
func addRunFlags(fs *flag.FlagSet, defaultSignature string) *modelFlags {
	m := addModelFlags(fs)
	m.signature = fs.String("signature", defaultSignature, "signature key")
	m.format = fs.String("format", string(model.FormatSavedModel), "saved_model or frozen")
	m.addVerificationFlag()
	return m
}

// addVerificationFlag adds the flags of the commands that load a version to run it:
// --skip-verification (load verifies the version folder against its manifest.json, see
// model.VerifyVersion, unless it is given) and --allow-op (repeatable: unsafe ops that
// checkOps accepts).
func (m *modelFlags) addVerificationFlag() {
	m.skipVerification = m.fs.Bool(strings.TrimPrefix(model.SkipVerificationFlag, "--"), false,
		"load the version without checking its files against manifest.json")
	m.fs.Var(&m.allowOps, strings.TrimPrefix(model.AllowOpFlag, "--"),
		"accept this op although it can read or write files or reach outside the process (repeatable)")
}

// checkOps refuses the first unsafe op reachable from the signatures keys in format (and,
// for a SavedModel, from its init op), unless --allow-op names it (model.CheckOps). It
// comes after load and before any TensorFlow session is created.
func (m *modelFlags) checkOps(info *model.Info, format model.Format, keys ...string) error {
	return model.CheckOps(info, format, keys, m.allowOps)
}

// loadRun validates --format, then resolves, verifies and reads the model (see load).
func (m *modelFlags) loadRun(checkAll bool) (*model.Info, model.Format, error) {
	format, err := model.ParseFormat(*m.format)
	if err != nil {
		return nil, "", err
	}
	info, err := m.load(format, checkAll)
	if err != nil {
		return nil, "", err
	}
	return info, format, nil
}

// load resolves --model and --version, verifies the version folder against its
// manifest.json (for the commands with --skip-verification, unless it is given) and reads
// the version's signatures and manifest: model.Load, the library's one loading path.
// Verification comes before anything of the folder is parsed or reaches TensorFlow. With
// checkAll, every signature a request may name in format is checked for unsafe ops (the
// --allow-op values accepted); otherwise the command calls checkOps itself once it knows
// the signatures it runs.
func (m *modelFlags) load(format model.Format, checkAll bool) (*model.Info, error) {
	var version int64
	if isSet(m.fs, "version") {
		v, ok := model.ParseVersion(*m.version)
		if !ok {
			return nil, usagef("%s: invalid --version %q: expected a positive integer", m.fs.Name(), status.Bound(*m.version))
		}
		version = v
	}
	if *m.path == "" {
		return nil, usagef("%s: --model PATH is required", m.fs.Name())
	}
	opts := model.Options{
		Version:          version,
		Format:           format,
		SkipVerification: m.skipVerification == nil || *m.skipVerification,
		AllowOps:         m.allowOps,
		Signatures:       []string{},
	}
	if checkAll {
		opts.Signatures = nil
	}
	info, _, err := model.Load(*m.path, opts)
	return info, err
}

// --- predict and serve-stdio ------------------------------------------------------------

func cmdPredict(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("predict")
	mf := addRunFlags(fs, model.DefaultSignature)
	input := fs.String("input", "-", "request file, - for stdin")
	output := fs.String("output", "-", "response file, - for stdout")
	maxBytes := addMaxRequestBytes(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	limit, err := maxBytes.value(fs)
	if err != nil {
		return err
	}
	// A request may name any signature, so every one it could run is checked.
	info, format, err := mf.loadRun(true)
	if err != nil {
		return err
	}
	body, err := readInput(*input, stdin, limit)
	if err != nil {
		return err
	}
	open, closeRunner := lazyRunner(info, format)
	defer closeRunner()
	resp, err := handle(info, open, body, *mf.signature, format)
	if err != nil {
		return err
	}
	resp = append(resp, '\n')
	if *output == "-" {
		_, err = stdout.Write(resp)
		return err
	}
	if err := os.WriteFile(*output, resp, 0o644); err != nil {
		return usagef("cannot write the response to --output %s: %v", *output, err)
	}
	return nil
}

// defaultMaxRequestBytes is the default of --max-request-bytes: 64 MiB.
const defaultMaxRequestBytes = 64 << 20

// maxRequestBytesFlag is the --max-request-bytes flag, kept as text so that any value that
// is not a positive integer is refused with a message naming the flag.
type maxRequestBytesFlag struct{ text *string }

func addMaxRequestBytes(fs *flag.FlagSet) maxRequestBytesFlag {
	return maxRequestBytesFlag{fs.String("max-request-bytes", strconv.Itoa(defaultMaxRequestBytes),
		"refuse a request body (for serve-stdio, a line) longer than this many bytes")}
}

// value returns the flag's limit in bytes: a positive integer.
func (f maxRequestBytesFlag) value(fs *flag.FlagSet) (int64, error) {
	n, err := strconv.ParseInt(*f.text, 10, 64)
	if err != nil || n <= 0 {
		return 0, usagef("%s: invalid --max-request-bytes %q: expected a positive integer", fs.Name(), status.Bound(*f.text))
	}
	return n, nil
}

// readInput reads the request body of --input (a file, or stdin for "-"), refusing one
// larger than limit bytes (restjson.TooLarge) after reading at most limit+1 bytes.
func readInput(input string, stdin io.Reader, limit int64) ([]byte, error) {
	r := stdin
	if input != "-" {
		f, err := os.Open(input)
		if err != nil {
			return nil, status.New(fileCode(err), "cannot read the request from --input %s: %v", input, err)
		}
		defer f.Close()
		r = f
	}
	body, err := readLimited(r, limit)
	if se := (*status.Error)(nil); err != nil && !errors.As(err, &se) {
		return nil, usagef("cannot read the request from --input %s: %v", input, err)
	}
	return body, err
}

// readLimited reads r to its end, but never more than limit+1 bytes: a longer input is
// refused with restjson.TooLarge(limit).
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	n := limit
	if n < math.MaxInt64 {
		n++
	}
	body, err := io.ReadAll(io.LimitReader(r, n))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, restjson.TooLarge(limit)
	}
	return body, nil
}

// lazyRunner returns an open function for handle that loads the model on its first call,
// and a function that closes it if it was loaded.
func lazyRunner(info *model.Info, format model.Format) (open func() (*model.Runner, error), closeRunner func()) {
	var runner *model.Runner
	open = func() (*model.Runner, error) {
		if runner == nil {
			r, err := model.NewRunner(info, format, model.Options{})
			if err != nil {
				return nil, err
			}
			runner = r
		}
		return runner, nil
	}
	closeRunner = func() {
		if runner != nil {
			runner.Close()
			runner = nil
		}
	}
	return open, closeRunner
}

// handle answers one predict request body with its JSON response (see predictTensors).
func handle(info *model.Info, open func() (*model.Runner, error), body []byte, signature string, format model.Format) ([]byte, error) {
	outputs, req, err := predictTensors(info, open, body, signature, format)
	if err != nil {
		return nil, err
	}
	return restjson.EncodeResponse(outputs, req.RowFormat)
}

// predictTensors is the generic predict path shared by every command: it parses a request
// body, checks it against the signature (the request's signature_name, else signature),
// runs it and returns the output tensors by alias with the parsed request. Every check
// against the signature happens before the model is opened (lazily, through open) and run.
func predictTensors(info *model.Info, open func() (*model.Runner, error), body []byte, signature string, format model.Format) (map[string]*tensor.Tensor, *restjson.Request, error) {
	run := func(plan *model.Plan, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
		runner, err := open()
		if err != nil {
			return nil, err
		}
		return runner.Run(plan, inputs)
	}
	return serving.PredictJSON(info, format, body, signature, run)
}

func cmdServeStdio(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("serve-stdio")
	// --signature (the default key) is not in the contract's synopsis, but the Python
	// reference accepts it too.
	mf := addRunFlags(fs, model.DefaultSignature)
	maxBytes := addMaxRequestBytes(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	limit, err := maxBytes.value(fs)
	if err != nil {
		return err
	}
	info, format, err := mf.loadRun(true)
	if err != nil {
		return err
	}
	runner, err := model.NewRunner(info, format, model.Options{})
	if err != nil {
		return err
	}
	defer runner.Close()
	open := func() (*model.Runner, error) { return runner, nil }

	in := bufio.NewReaderSize(stdin, 1<<20)
	out := bufio.NewWriterSize(stdout, 1<<16)
	for {
		line, tooLong, readErr := readLine(in, limit)
		var resp []byte
		switch {
		case tooLong:
			resp = restjson.ErrorBody(restjson.TooLarge(limit).Error())
		case len(bytes.TrimSpace(line)) > 0: // blank lines are skipped, as in the reference
			resp = serveOne(info, open, line, *mf.signature, format)
		}
		if resp != nil {
			out.Write(resp)
			out.WriteByte('\n')
			if err := out.Flush(); err != nil {
				return fmt.Errorf("cannot write the response: %v", err)
			}
		}
		if readErr == io.EOF {
			return nil
		}
		if readErr != nil {
			return fmt.Errorf("cannot read requests: %v", readErr)
		}
	}
}

// readLine returns the next line without its line ending ("\n" or "\r\n"). A line longer
// than limit bytes is read to its end but not kept: it comes back as tooLong with no bytes,
// so that memory stays bounded by the limit (plus the reader's buffer) however long the line.
func readLine(r *bufio.Reader, limit int64) (line []byte, tooLong bool, err error) {
	keep := int64(math.MaxInt64) // limit bytes, then at most "\r\n"
	if limit < keep-2 {
		keep = limit + 2
	}
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong && int64(len(line))+int64(len(chunk)) > keep {
			tooLong, line = true, nil
		}
		if !tooLong {
			line = append(line, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if line = trimEOL(line); tooLong || int64(len(line)) > limit {
			return nil, true, err
		}
		return line, false, err
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// serveOne answers one serve-stdio line: the response, or {"error": "..."}.
func serveOne(info *model.Info, open func() (*model.Runner, error), line []byte, signature string, format model.Format) (resp []byte) {
	defer func() {
		if r := recover(); r != nil {
			resp = restjson.ErrorBody("internal error: " + oneLine(fmt.Sprint(r)))
		}
	}()
	resp, err := handle(info, open, line, signature, format)
	if err != nil {
		return restjson.ErrorBody(oneLine(err.Error()))
	}
	return resp
}

// --- inspect ----------------------------------------------------------------------------

func cmdInspect(args []string, stdout io.Writer) error {
	fs := newFlagSet("inspect")
	mf := addModelFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info, err := mf.load(model.FormatSavedModel, false)
	if err != nil {
		return err
	}
	text := inspectText(info, model.TFVersion())
	if *asJSON {
		if text, err = inspectJSON(info, model.TFVersion()); err != nil {
			return err
		}
	}
	_, err = io.WriteString(stdout, text)
	return err
}
