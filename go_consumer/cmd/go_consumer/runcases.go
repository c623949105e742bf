package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

// refusedCases are the commands a case may not run: serve never ends on its own, and
// run-cases would nest the runner.
var refusedCases = map[string]bool{"serve": true, "run-cases": true}

// runCase is one line of run-cases input (tests/CONTRACT.md, "Case runner").
type runCase struct {
	Argv  []string `json:"argv"`
	Stdin []byte   `json:"stdin"` // base64 in JSON
}

// caseAnswer is one line of run-cases output: the exit status, the canonical code ("OK"
// after success) and both streams of the case.
type caseAnswer struct {
	Status int         `json:"status"`
	Code   status.Code `json:"code"`
	Stdout []byte      `json:"stdout"` // base64 in JSON
	Stderr []byte      `json:"stderr"` // base64 in JSON
}

// cmdRunCases is the long-lived test mode (tests/CONTRACT.md, "Case runner"), after
// protobuf's conformance testees: one JSON case {"argv": [...], "stdin": "<base64>"} per line
// of stdin, each run through run (the entry point of the real command line) with its own
// stdin and fresh stdout and stderr buffers, answered by one JSON line
// {"status": N, "code": C, "stdout": "<base64>", "stderr": "<base64>"} on stdout, flushed (C:
// the canonical code of the case's error, "OK" after success; see runCode). A line that
// is not a case is answered {"error": "<message>"}; the command ends with status 0 at end of
// input. When stdout is the process's file descriptor 1, the answers go to a duplicate of it
// and descriptor 1 is pointed at descriptor 2, so that native code writing to standard output
// cannot corrupt the stream.
func cmdRunCases(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("run-cases")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f, ok := stdout.(*os.File); ok && f.Fd() == 1 {
		dup, err := syscall.Dup(1)
		if err != nil {
			return fmt.Errorf("run-cases: duplicate stdout: %w", err)
		}
		if err := syscall.Dup3(2, 1, 0); err != nil {
			return fmt.Errorf("run-cases: redirect stdout: %w", err)
		}
		stdout = os.NewFile(uintptr(dup), "run-cases answers")
	}
	in := bufio.NewReaderSize(stdin, 1<<20)
	out := bufio.NewWriter(stdout)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			answer, encErr := json.Marshal(answerCase(line))
			if encErr != nil {
				return encErr
			}
			out.Write(answer)
			out.WriteByte('\n')
			if err := out.Flush(); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// answerCase runs one case line and returns its answer (a caseAnswer, or an error object).
func answerCase(line []byte) any {
	var c runCase
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return map[string]string{"error": "bad case: " + oneLine(err.Error()) + "; expected {\"argv\": [...], \"stdin\": \"<base64>\"}"}
	}
	if len(c.Argv) > 0 && refusedCases[c.Argv[0]] {
		refused := usagef("%s cannot run as a case; start the program", c.Argv[0])
		msg := fmt.Sprintf("%s: error: %s\n", consumerName, refused)
		code := status.CodeOf(refused)
		return caseAnswer{Status: code.ExitStatus(), Code: code, Stdout: []byte{}, Stderr: []byte(msg)}
	}
	var stdout, stderr bytes.Buffer
	code := runCode(c.Argv, bytes.NewReader(c.Stdin), &stdout, &stderr)
	// Never nil: encoding/json writes a nil slice as null, the contract wants "" for no bytes.
	return caseAnswer{Status: code.ExitStatus(), Code: code, Stdout: append([]byte{}, stdout.Bytes()...), Stderr: append([]byte{}, stderr.Bytes()...)}
}
