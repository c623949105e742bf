package shareddata

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestPlaceholders: {name}s in order of first appearance, each once; any other brace is an
// error.
func TestPlaceholders(t *testing.T) {
	for template, want := range map[string][]string{
		"":                        nil,
		"no placeholder":          nil,
		"{a} and {b_2}, {a}":      {"a", "b_2"},
		`op {op} (node "{node}")`: {"op", "node"},
	} {
		if got, err := Placeholders(template); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Placeholders(%q) = %q, %v; want %q", template, got, err, want)
		}
	}
	for _, bad := range []string{"{", "}", "a } b", "{}", "{A}", "{a b}", "{{a}}", "{a"} {
		if _, err := Placeholders(bad); err == nil {
			t.Errorf("Placeholders(%q) accepted", bad)
		}
	}
}

// TestGoName: snake case to exported Go names, initialisms in capitals; parameters in lower
// camel case, suffixed when they would shadow a keyword or a predeclared identifier.
func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"INVALID_ARGUMENT":    "InvalidArgument",
		"signature_not_found": "SignatureNotFound",
		"manifest_not_json":   "ManifestNotJSON",
		"file_sha256_differs": "FileSHA256Differs",
		"invalid_dtype":       "InvalidDType",
	} {
		if got := GoName(in); got != want {
			t.Errorf("GoName(%q) = %q; want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"path": "path", "sha256": "sha256", "file_name": "fileName", "type": "type_", "string": "string_"} {
		if got := paramName(in); got != want {
			t.Errorf("paramName(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestParseMessagesRefuses: data the generator cannot turn into the table and the catalog.
func TestParseMessagesRefuses(t *testing.T) {
	const row = `{"exit_status": 2, "http_status": 400, "grpc_code": 3}`
	for what, doc := range map[string]string{
		"not JSON":            `{`,
		"no codes":            `{"codes": {}, "messages": {}}`,
		"OK as a code":        `{"codes": {"OK": ` + row + `}}`,
		"lower-case code":     `{"codes": {"bad": ` + row + `}}`,
		"a missing status":    `{"codes": {"X": {"exit_status": 2, "http_status": 400}}}`,
		"an unknown code":     `{"codes": {"X": ` + row + `}, "messages": {"m": {"code": "Y", "template": "t"}}}`,
		"an upper-case id":    `{"codes": {"X": ` + row + `}, "messages": {"M": {"code": "X", "template": "t"}}}`,
		"a stray brace":       `{"codes": {"X": ` + row + `}, "messages": {"m": {"code": "X", "template": "a {b"}}}`,
		"a duplicate Go name": `{"codes": {"NOT_FOUND": ` + row + `}, "messages": {"not_found": {"code": "NOT_FOUND", "template": "t"}}}`,
	} {
		if _, err := MessagesSource("status", []byte(doc)); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

// TestMessagesSource: the shared file generates Go source that parses, with the codes in the
// order of the file.
func TestMessagesSource(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", MessagesFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessages(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Codes[0] != "INVALID_ARGUMENT" || m.Edges["RESOURCE_EXHAUSTED"].HTTPStatus != 413 {
		t.Errorf("codes %v, edges %v", m.Codes, m.Edges)
	}
	src, err := MessagesSource("status", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "catalog_gen.go", src, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "func SignatureNotFound(signature, available string) *Error {") {
		t.Errorf("no SignatureNotFound in\n%s", src)
	}
}
