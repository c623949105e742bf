package shareddata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"go/token"
	"go/types"
	"regexp"
	"sort"
	"strings"
)

// MessagesFile is the path of the error taxonomy and the message catalog, relative to the
// repository root (tests/CONTRACT.md, "Errors").
const MessagesFile = "tests/cases/messages.json"

// Edges are what the edges of a consumer derive from one canonical code ("codes" of
// tests/cases/messages.json).
type Edges struct {
	// ExitStatus is the command line's exit status.
	ExitStatus int `json:"exit_status"`
	// HTTPStatus is the REST API's HTTP status.
	HTTPStatus int `json:"http_status"`
	// GRPCCode is the gRPC status code number.
	GRPCCode int `json:"grpc_code"`
}

// Message is one entry of the catalog ("messages" of tests/cases/messages.json).
type Message struct {
	// ID is the message id (the key of "messages").
	ID string
	// Code is the canonical code the message is refused with.
	Code string `json:"code"`
	// Template is the text; each {name} is replaced by a value.
	Template string `json:"template"`
	// Placeholders are the names of Template's {name}s in order of first appearance.
	Placeholders []string `json:"-"`
}

// Messages is the content of tests/cases/messages.json.
type Messages struct {
	// Codes are the canonical code names in the order of the data file.
	Codes []string
	// Edges maps each code to its statuses.
	Edges map[string]Edges
	// Messages are the catalog's entries sorted by id.
	Messages []Message
}

var (
	codeName    = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
	messageID   = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	placeholder = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// ParseMessages decodes tests/cases/messages.json. It returns an error when the JSON is
// malformed; when "codes" is empty, names "OK" (the code of success, not an error), has a
// name that is not UPPER_SNAKE_CASE or a row without exit_status, http_status and grpc_code;
// when a message id is not lower_snake_case, names a code that "codes" does not define, or
// has a template with a brace that is not part of a {name} placeholder.
func ParseMessages(data []byte) (*Messages, error) {
	var doc struct {
		Codes    json.RawMessage            `json:"codes"`
		Messages map[string]json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", MessagesFile, err)
	}
	names, err := objectKeys(doc.Codes)
	if err != nil {
		return nil, fmt.Errorf("%s: codes: %v", MessagesFile, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: codes must not be empty", MessagesFile)
	}
	var rows map[string]map[string]*int
	if err := json.Unmarshal(doc.Codes, &rows); err != nil {
		return nil, fmt.Errorf("%s: codes: %v", MessagesFile, err)
	}
	out := &Messages{Codes: names, Edges: make(map[string]Edges, len(names))}
	for _, name := range names {
		if !codeName.MatchString(name) || name == "OK" {
			return nil, fmt.Errorf("%s: code %q: expected an UPPER_SNAKE_CASE error code other than OK", MessagesFile, name)
		}
		row := rows[name]
		for _, field := range []string{"exit_status", "http_status", "grpc_code"} {
			if row[field] == nil {
				return nil, fmt.Errorf("%s: code %s has no %s", MessagesFile, name, field)
			}
		}
		out.Edges[name] = Edges{ExitStatus: *row["exit_status"], HTTPStatus: *row["http_status"], GRPCCode: *row["grpc_code"]}
	}
	for id, raw := range doc.Messages {
		m := Message{ID: id}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: message %s: %v", MessagesFile, id, err)
		}
		if !messageID.MatchString(id) {
			return nil, fmt.Errorf("%s: message id %q: expected lower_snake_case", MessagesFile, id)
		}
		if _, ok := out.Edges[m.Code]; !ok {
			return nil, fmt.Errorf("%s: message %s has code %q, which codes does not define", MessagesFile, id, m.Code)
		}
		if m.Placeholders, err = Placeholders(m.Template); err != nil {
			return nil, fmt.Errorf("%s: message %s: %v", MessagesFile, id, err)
		}
		out.Messages = append(out.Messages, m)
	}
	sort.Slice(out.Messages, func(i, j int) bool { return out.Messages[i].ID < out.Messages[j].ID })
	return out, nil
}

// Placeholders returns the names of the {name} placeholders of template in order of first
// appearance, each once. A brace that does not open or close a placeholder whose name is
// lower_snake_case is an error.
func Placeholders(template string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	for rest := template; ; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			return names, nil
		}
		end := strings.IndexByte(rest[open:], '}')
		if rest[open] == '}' || end < 0 {
			return nil, fmt.Errorf("template %q: a brace outside a {name} placeholder", template)
		}
		name := rest[open+1 : open+end]
		if !placeholder.MatchString(name) {
			return nil, fmt.Errorf("template %q: placeholder {%s}: expected a lower_snake_case name", template, name)
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
		rest = rest[open+end+1:]
	}
}

// objectKeys returns the member names of a JSON object in the order they are written.
func objectKeys(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("expected an object")
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// initialisms are the parts GoName writes in capitals, as Go names spell them.
var initialisms = map[string]string{"dtype": "DType", "grpc": "GRPC", "http": "HTTP", "id": "ID", "json": "JSON", "sha256": "SHA256", "url": "URL", "utf8": "UTF8"}

// GoName turns a lower_snake_case or UPPER_SNAKE_CASE name into an exported Go identifier:
// "signature_not_found" -> "SignatureNotFound", "INVALID_ARGUMENT" -> "InvalidArgument",
// "manifest_not_json" -> "ManifestNotJSON" (initialisms in capitals).
func GoName(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(strings.ToLower(name), "_") {
		if up, ok := initialisms[part]; ok {
			b.WriteString(up)
		} else if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// paramName is a placeholder's name as a Go parameter: lowerCamelCase, with "_" appended
// when that is a keyword or a predeclared identifier (which the generated body uses).
func paramName(name string) string {
	first, rest, _ := strings.Cut(name, "_")
	p := first + GoName(rest)
	if token.IsKeyword(p) || types.Universe.Lookup(p) != nil {
		p += "_"
	}
	return p
}

// MessagesSource returns the gofmt-formatted Go source of package pkg (package status) that
// declares, from data (tests/cases/messages.json): one Code constant per code (GoName of its
// name), the table the Code methods read, the catalog Message reads, and one function per
// message id (GoName of the id) taking the template's placeholders as string parameters in
// order of first appearance. Errors are those of [ParseMessages], and an error when two
// codes or two messages give the same Go name.
func MessagesSource(pkg string, data []byte) ([]byte, error) {
	m, err := ParseMessages(data)
	if err != nil {
		return nil, err
	}
	used := map[string]string{}
	claim := func(goName, what string) error {
		if other, dup := used[goName]; dup {
			return fmt.Errorf("%s: %s and %s both become the Go name %s", MessagesFile, other, what, goName)
		}
		used[goName] = what
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go generate from %s; DO NOT EDIT.\n\n", MessagesFile)
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	b.WriteString("import \"google.golang.org/grpc/codes\"\n\n")

	b.WriteString("// The canonical codes of the table (\"codes\"), in the order of the data file.\n")
	b.WriteString("const (\n")
	for _, name := range m.Codes {
		if err := claim(GoName(name), "code "+name); err != nil {
			return nil, err
		}
		e := m.Edges[name]
		fmt.Fprintf(&b, "\t// %s is %s: exit status %d, HTTP %d, gRPC %d.\n", GoName(name), name, e.ExitStatus, e.HTTPStatus, e.GRPCCode)
		fmt.Fprintf(&b, "\t%s Code = %q\n", GoName(name), name)
	}
	b.WriteString(")\n\n")

	b.WriteString("// codeOrder lists the codes of the table in the order of the data file.\n")
	b.WriteString("var codeOrder = []Code{")
	for i, name := range m.Codes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(GoName(name))
	}
	b.WriteString("}\n\n")

	b.WriteString("// table is what the edges derive from each code.\n")
	b.WriteString("var table = map[Code]edges{\n")
	for _, name := range m.Codes {
		e := m.Edges[name]
		fmt.Fprintf(&b, "\t%s: {exitStatus: %d, httpStatus: %d, grpcCode: codes.Code(%d)},\n", GoName(name), e.ExitStatus, e.HTTPStatus, e.GRPCCode)
	}
	b.WriteString("}\n\n")

	b.WriteString("// catalog is the message catalog (\"messages\"), by id.\n")
	b.WriteString("var catalog = map[string]entry{\n")
	for _, msg := range m.Messages {
		fmt.Fprintf(&b, "\t%q: {code: %s, template: %q},\n", msg.ID, GoName(msg.Code), msg.Template)
	}
	b.WriteString("}\n")

	for _, msg := range m.Messages {
		if err := claim(GoName(msg.ID), "message "+msg.ID); err != nil {
			return nil, err
		}
		params := make([]string, len(msg.Placeholders))
		values := make([]string, len(msg.Placeholders))
		for i, p := range msg.Placeholders {
			params[i] = paramName(p)
			values[i] = fmt.Sprintf("%q: %s", p, params[i])
		}
		fmt.Fprintf(&b, "\n// %s returns the message %s (%s), each value bounded ([Bound]):\n//\n//\t%s\n",
			GoName(msg.ID), msg.ID, msg.Code, msg.Template)
		sig := ""
		if len(params) > 0 {
			sig = strings.Join(params, ", ") + " string"
		}
		fmt.Fprintf(&b, "func %s(%s) *Error {\n", GoName(msg.ID), sig)
		fmt.Fprintf(&b, "\treturn Message(%q, map[string]string{%s})\n}\n", msg.ID, strings.Join(values, ", "))
	}
	return format.Source(b.Bytes())
}
