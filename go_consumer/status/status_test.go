package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/shareddata"
	"google.golang.org/grpc/codes"
)

// sharedCatalog reads tests/cases/messages.json itself (not through the generator).
func sharedCatalog(t *testing.T) (names []string, rows map[string]map[string]int, messages map[string]map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", shareddata.MessagesFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Codes    map[string]map[string]int    `json:"codes"`
		Messages map[string]map[string]string `json:"messages"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	parsed, err := shareddata.ParseMessages(data)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Codes, doc.Codes, doc.Messages
}

// TestEveryCodeFromTheTable: each code's exit status, HTTP status and gRPC code are those of
// its row of tests/cases/messages.json "codes", Codes lists exactly the table's codes in its
// order, and each gRPC code is the one grpc-go names as the code does.
func TestEveryCodeFromTheTable(t *testing.T) {
	names, rows, _ := sharedCatalog(t)
	got := Codes()
	if len(got) != len(names) {
		t.Fatalf("Codes() = %v; the table has %v", got, names)
	}
	for i, name := range names {
		c := got[i]
		if string(c) != name || c.String() != name {
			t.Errorf("Codes()[%d] = %s; want %s", i, c, name)
		}
		row := rows[name]
		if c.ExitStatus() != row["exit_status"] || c.HTTPStatus() != row["http_status"] || int(c.GRPCCode()) != row["grpc_code"] {
			t.Errorf("%s: exit %d, HTTP %d, gRPC %d; the table says %v", c, c.ExitStatus(), c.HTTPStatus(), int(c.GRPCCode()), row)
		}
		if want := shareddata.GoName(name); c.GRPCCode().String() != want {
			t.Errorf("%s: gRPC code %d is grpc-go's %s", c, c.GRPCCode(), c.GRPCCode())
		}
	}
	if OK.ExitStatus() != 0 || OK.HTTPStatus() != 200 || OK.GRPCCode() != codes.OK {
		t.Errorf("OK: exit %d, HTTP %d, gRPC %v", OK.ExitStatus(), OK.HTTPStatus(), OK.GRPCCode())
	}
	if unknown := Code("NO_SUCH_CODE"); unknown.ExitStatus() != Internal.ExitStatus() || unknown.HTTPStatus() != Internal.HTTPStatus() || unknown.GRPCCode() != Internal.GRPCCode() {
		t.Errorf("a code the table does not have is not INTERNAL's row")
	}
	// The contract's table (tests/CONTRACT.md, "Errors"), spelled out once here as a check
	// of the data file itself.
	for _, c := range []struct {
		code             Code
		exit, http, grpc int
	}{
		{InvalidArgument, 2, 400, 3}, {NotFound, 2, 404, 5}, {FailedPrecondition, 2, 400, 9},
		{ResourceExhausted, 2, 413, 8}, {DeadlineExceeded, 1, 504, 4}, {Unavailable, 1, 503, 14},
		{Internal, 1, 500, 13},
	} {
		if c.code.ExitStatus() != c.exit || c.code.HTTPStatus() != c.http || int(c.code.GRPCCode()) != c.grpc {
			t.Errorf("%s: exit %d, HTTP %d, gRPC %d; want %d, %d, %d", c.code, c.code.ExitStatus(), c.code.HTTPStatus(), int(c.code.GRPCCode()), c.exit, c.http, c.grpc)
		}
	}
}

// TestCodeOf: the code of an *Error, also through wrapping; OK for nil; INTERNAL otherwise.
func TestCodeOf(t *testing.T) {
	nf := New(NotFound, "no %s", "thing")
	for _, c := range []struct {
		err  error
		want Code
	}{
		{nil, OK},
		{nf, NotFound},
		{fmt.Errorf("context: %w", nf), NotFound},
		{fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", New(Unavailable, "full"))), Unavailable},
		{errors.New("plain"), Internal},
		{fmt.Errorf("not wrapped: %v", nf), Internal},
	} {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("CodeOf(%v) = %s; want %s", c.err, got, c.want)
		}
	}
	if nf.Error() != "no thing" || nf.Code != NotFound {
		t.Errorf("New = %#v", nf)
	}
}

// TestMessage: every message of the catalog takes its code and its template, each
// placeholder replaced by its value, bounded; a value is never read again as a template.
func TestMessage(t *testing.T) {
	_, _, messages := sharedCatalog(t)
	for id, m := range messages {
		names, err := shareddata.Placeholders(m["template"])
		if err != nil {
			t.Fatal(err)
		}
		values, want := map[string]string{}, m["template"]
		for _, name := range names {
			values[name] = "<" + name + ">"
			want = strings.ReplaceAll(want, "{"+name+"}", "<"+name+">")
		}
		e := Message(id, values)
		if e.Code != Code(m["code"]) || e.Message != want {
			t.Errorf("Message(%s) = %s %q; want %s %q", id, e.Code, e.Message, m["code"], want)
		}
	}

	e := SignatureNotFound(strings.Repeat("s", 1_000_000), "{available}")
	want := `signature "` + strings.Repeat("s", 200) + `... (1000000 characters)" not found; available signatures: {available}`
	if e.Code != NotFound || e.Message != want {
		t.Errorf("SignatureNotFound = %s %.400q", e.Code, e.Message)
	}
	if e := RequestTooLarge("16"); e.Code != ResourceExhausted || e.Message != "request is larger than the limit of 16 bytes (--max-request-bytes)" {
		t.Errorf("RequestTooLarge = %s %q", e.Code, e.Message)
	}
	for _, bad := range []func(){
		func() { Message("no_such_message", nil) },
		func() { Message("signature_not_found", map[string]string{"signature": "x"}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic for a caller's bug")
				}
			}()
			bad()
		}()
	}
}

// TestBound: a value over MaxEcho code points is cut to its first MaxEcho followed by
// "... (N characters)"; invalid UTF-8 bytes count one each.
func TestBound(t *testing.T) {
	long := strings.Repeat("é", 1_000_000)
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{strings.Repeat("a", 200), strings.Repeat("a", 200)},
		{strings.Repeat("é", 200), strings.Repeat("é", 200)},
		{strings.Repeat("a", 201), strings.Repeat("a", 200) + "... (201 characters)"},
		{long, strings.Repeat("é", 200) + "... (1000000 characters)"},
		{strings.Repeat("\xff", 300), strings.Repeat("\xff", 200) + "... (300 characters)"},
	} {
		if got := Bound(c.in); got != c.want {
			t.Errorf("Bound(%d bytes) = %q; want %q", len(c.in), got, c.want)
		}
	}
}
