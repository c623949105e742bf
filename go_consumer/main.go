// Command go_consumer is the Go consumer of the model-interchange monorepo: it serves
// TensorFlow Serving REST predict requests against a SavedModel (or its frozen GraphDef)
// with the TensorFlow C library, and describes models, exactly as tests/CONTRACT.md says.
//
//	go_consumer predict --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
//	                    [--input FILE|-] [--output FILE|-]
//	go_consumer inspect --model PATH [--version N] [--json]
//	go_consumer serve-stdio --model PATH [--version N] [--format saved_model|frozen]
//	go_consumer version
//
// Refusals (bad flags, model or request) print one line "go_consumer: error: <message>" on
// stderr and exit with status 2; TensorFlow failing to run a valid request exits with 1.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/polyglot-tf/go_consumer/internal/model"
	"github.com/polyglot-tf/go_consumer/internal/tfjson"
)

const (
	consumerName    = "go_consumer"
	consumerVersion = "0.1.0"
)

const usage = `usage:
  go_consumer predict --model PATH [--version N] [--signature KEY] [--format saved_model|frozen]
                      [--input FILE|-] [--output FILE|-]
  go_consumer inspect --model PATH [--version N] [--json]
  go_consumer serve-stdio --model PATH [--version N] [--format saved_model|frozen]
  go_consumer version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is a refusal of the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp asks for the usage text on stdout and exit status 0.
var errHelp = errors.New("help requested")

// run executes one command line and returns the exit status. Every failure is reported as
// exactly one line on stderr; a panic is reported the same way rather than crashing.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "%s: error: internal error: %s\n", consumerName, oneLine(fmt.Sprint(r)))
			code = 1
		}
	}()
	err := dispatch(args, stdin, stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "%s: error: %s\n", consumerName, oneLine(err.Error()))
	return exitStatus(err)
}

// exitStatus maps an error to the contract's exit status: 2 for refusals, 1 otherwise.
func exitStatus(err error) int {
	var (
		ue *usageError
		re *tfjson.RequestError
		me *model.Error
	)
	if errors.As(err, &ue) || errors.As(err, &re) || errors.As(err, &me) {
		return 2
	}
	return 1
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func dispatch(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("missing command; expected predict, inspect, serve-stdio or version")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "predict":
		return cmdPredict(rest, stdin, stdout)
	case "inspect":
		return cmdInspect(rest, stdout)
	case "serve-stdio":
		return cmdServeStdio(rest, stdin, stdout)
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
		return usagef("unknown command %q; expected predict, inspect, serve-stdio or version", cmd)
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
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// modelFlags are the flags every model command has.
type modelFlags struct {
	fs      *flag.FlagSet
	path    *string
	version *string
}

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	return &modelFlags{
		fs:      fs,
		path:    fs.String("model", "", "model folder models/<name> or version folder"),
		version: fs.String("version", "", "version number (default: the highest complete version)"),
	}
}

// load resolves --model and --version and reads the version's signatures and manifest.
func (m *modelFlags) load() (*model.Info, error) {
	var version int64
	set := false
	m.fs.Visit(func(f *flag.Flag) { set = set || f.Name == "version" })
	if set {
		v, ok := model.ParseVersion(*m.version)
		if !ok {
			return nil, usagef("%s: invalid --version %q: expected a positive integer", m.fs.Name(), *m.version)
		}
		version = v
	}
	if *m.path == "" {
		return nil, usagef("%s: --model PATH is required", m.fs.Name())
	}
	dir, err := model.ResolveVersionDir(*m.path, version)
	if err != nil {
		return nil, err
	}
	return model.ReadInfo(dir)
}

// --- predict and serve-stdio ------------------------------------------------------------

func cmdPredict(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("predict")
	mf := addModelFlags(fs)
	signature := fs.String("signature", model.DefaultSignature, "signature key")
	formatFlag := fs.String("format", string(model.FormatSavedModel), "saved_model or frozen")
	input := fs.String("input", "-", "request file, - for stdin")
	output := fs.String("output", "-", "response file, - for stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	format, err := model.ParseFormat(*formatFlag)
	if err != nil {
		return err
	}
	info, err := mf.load()
	if err != nil {
		return err
	}
	var body []byte
	if *input == "-" {
		body, err = io.ReadAll(stdin)
	} else {
		body, err = os.ReadFile(*input)
	}
	if err != nil {
		return usagef("cannot read the request from --input %s: %v", *input, err)
	}
	var runner *model.Runner
	defer func() {
		if runner != nil {
			runner.Close()
		}
	}()
	open := func() (*model.Runner, error) {
		if runner == nil {
			r, err := model.Open(info, format)
			if err != nil {
				return nil, err
			}
			runner = r
		}
		return runner, nil
	}
	resp, err := handle(info, open, body, *signature, format)
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

// handle answers one predict request body. Every check against the signature happens
// before the model is opened (lazily, through open) and run.
func handle(info *model.Info, open func() (*model.Runner, error), body []byte, signature string, format model.Format) ([]byte, error) {
	req, err := tfjson.ParseRequest(body)
	if err != nil {
		return nil, err
	}
	if req.SignatureName != "" { // an empty signature_name means the default, as in the reference
		signature = req.SignatureName
	}
	plan, err := info.Plan(signature, format)
	if err != nil {
		return nil, err
	}
	inputs, err := tfjson.DecodeInputs(req, plan.Inputs, plan.Key)
	if err != nil {
		return nil, err
	}
	runner, err := open()
	if err != nil {
		return nil, err
	}
	outputs, err := runner.Run(plan, inputs)
	if err != nil {
		return nil, err
	}
	return tfjson.EncodeResponse(outputs, req.RowFormat)
}

// maxLine bounds one serve-stdio request line.
const maxLine = 1 << 30

func cmdServeStdio(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("serve-stdio")
	mf := addModelFlags(fs)
	formatFlag := fs.String("format", string(model.FormatSavedModel), "saved_model or frozen")
	// Not in the contract's synopsis, but the Python reference accepts it too.
	signature := fs.String("signature", model.DefaultSignature, "default signature key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	format, err := model.ParseFormat(*formatFlag)
	if err != nil {
		return err
	}
	info, err := mf.load()
	if err != nil {
		return err
	}
	runner, err := model.Open(info, format)
	if err != nil {
		return err
	}
	defer runner.Close()
	open := func() (*model.Runner, error) { return runner, nil }

	in := bufio.NewReaderSize(stdin, 1<<20)
	out := bufio.NewWriterSize(stdout, 1<<16)
	for {
		line, readErr := readLine(in)
		if len(bytes.TrimSpace(line)) > 0 { // blank lines are skipped, as in the reference
			resp := serveOne(info, open, line, *signature, format)
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

// readLine returns the next line without its line ending ("\n" or "\r\n").
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("request line longer than %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = trimEOL(line)
		return line, err
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
			resp = tfjson.ErrorBody("internal error: " + oneLine(fmt.Sprint(r)))
		}
	}()
	resp, err := handle(info, open, line, signature, format)
	if err != nil {
		return tfjson.ErrorBody(oneLine(err.Error()))
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
	info, err := mf.load()
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
