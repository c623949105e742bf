package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

// TestRunCases checks the protocol of run-cases (tests/CONTRACT.md, "Case runner"): one JSON
// answer per case line with the case's own status, code and streams, blank lines skipped, a
// line that is no case answered with an error object, serve refused.
func TestRunCases(t *testing.T) {
	input := strings.Join([]string{
		`{"argv": ["version"]}`,
		``,
		`{"argv": ["predict", "--no-such-flag"], "stdin": "e30="}`,
		`{"argv": ["serve"]}`,
		`not json`,
		`{"argv": ["version"], "more": 1}`,
	}, "\n")
	var out bytes.Buffer
	if err := cmdRunCases(nil, strings.NewReader(input), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("want 5 answers, got %d: %q", len(lines), out.String())
	}
	var answers [3]caseAnswer
	for i := range answers {
		if err := json.Unmarshal([]byte(lines[i]), &answers[i]); err != nil {
			t.Fatalf("answer %d: %v: %s", i, err, lines[i])
		}
	}
	if a := answers[0]; a.Status != 0 || a.Code != status.OK || !strings.HasPrefix(string(a.Stdout), "go_consumer ") || len(a.Stderr) != 0 {
		t.Errorf("version: %+v", a)
	}
	if a := answers[1]; a.Status != 2 || a.Code != status.InvalidArgument || len(a.Stdout) != 0 || !strings.HasPrefix(string(a.Stderr), "go_consumer: error: ") ||
		strings.Count(string(a.Stderr), "\n") != 1 {
		t.Errorf("bad flag: status %d code %s stdout %q stderr %q", a.Status, a.Code, a.Stdout, a.Stderr)
	}
	if a := answers[2]; a.Status != 2 || a.Code != status.InvalidArgument || string(a.Stderr) != "go_consumer: error: serve cannot run as a case; start the program\n" {
		t.Errorf("serve: status %d code %s stderr %q", a.Status, a.Code, a.Stderr)
	}
	if !strings.Contains(lines[1], `"stdout":""`) {
		t.Errorf("no bytes must be written as \"\", not null: %s", lines[1])
	}
	if !strings.HasPrefix(lines[0], `{"status":0,"code":"OK","stdout":"`) || !strings.HasPrefix(lines[2], `{"status":2,"code":"INVALID_ARGUMENT","stdout":"",`) {
		t.Errorf("the members are status, code, stdout, stderr: %s / %s", lines[0], lines[2])
	}
	for _, i := range []int{3, 4} {
		var e map[string]string
		if err := json.Unmarshal([]byte(lines[i]), &e); err != nil || e["error"] == "" || len(e) != 1 {
			t.Errorf("line %d: want an error object, got %s", i, lines[i])
		}
	}
}
