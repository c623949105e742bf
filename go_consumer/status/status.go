// Package status is the Go consumer's one error type (tests/CONTRACT.md, "Errors"): an error
// carrying one of TensorFlow's canonical codes (tensorflow/core/protobuf/error_codes.proto)
// and a one-line message. Every error the libraries return for something the user gave
// (flags, requests, model folders, data) is an *Error or wraps one; any other error counts as
// INTERNAL. What the edges make of a code (the command line's exit status, the REST API's
// HTTP status, the gRPC status code) is the table "codes" of tests/cases/messages.json, and
// the texts that more than one language writes are its "messages" (see Message).
//
// The table and the catalog are compiled in from tests/cases/messages.json (catalog_gen.go,
// written by `go generate ./status`; TestGeneratedCatalogIsCurrent fails when it is
// stale), so that the binary runs without the repository.
package status

//go:generate go run ../internal/shareddata/generate -root ../.. -from messages -out catalog_gen.go -pkg status

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
)

// Code is a canonical error code: one of the constants of catalog_gen.go (InvalidArgument,
// NotFound, ...), named as in tests/cases/messages.json, or OK.
type Code string

// OK is the code of success (what run-cases answers for a command that succeeded). It is no
// error code and has no row in the table: exit status 0, HTTP 200, gRPC OK.
const OK Code = "OK"

// String returns the code's name, such as "NOT_FOUND".
func (c Code) String() string { return string(c) }

// edges are what the edges derive from one code (a row of the table).
type edges struct {
	exitStatus int
	httpStatus int
	grpcCode   codes.Code
}

// okEdges are the statuses of success.
var okEdges = edges{exitStatus: 0, httpStatus: 200, grpcCode: codes.OK}

// row returns the code's row of the table: okEdges for OK, INTERNAL's row for a code the
// table does not have.
func (c Code) row() edges {
	if c == OK {
		return okEdges
	}
	if e, ok := table[c]; ok {
		return e
	}
	return table[Internal]
}

// ExitStatus is the command line's exit status for the code (the table's exit_status).
func (c Code) ExitStatus() int { return c.row().exitStatus }

// HTTPStatus is the REST API's HTTP status for the code (the table's http_status).
func (c Code) HTTPStatus() int { return c.row().httpStatus }

// GRPCCode is the gRPC status code for the code (the table's grpc_code).
func (c Code) GRPCCode() codes.Code { return c.row().grpcCode }

// Codes returns every code of the table, in the order of tests/cases/messages.json (OK is
// not one of them).
func Codes() []Code { return append([]Code(nil), codeOrder...) }

// Error is an error with a canonical code and a one-line message naming what was wrong (and,
// for a request, what the signature expects).
type Error struct {
	// Code is the canonical code; the edges derive their statuses from it alone.
	Code Code
	// Message is the text the edges write (after "go_consumer: error: " on the command line,
	// as {"error": ...} over REST, as the status message over gRPC).
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// New returns an *Error with code and the message fmt.Sprintf(format, args...).
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err: OK for nil, the Code of the first *Error in err's chain
// (errors.As, through wrapping), INTERNAL for any other error.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// entry is one message of the catalog.
type entry struct {
	code     Code
	template string
}

// Message returns the catalog's message id (tests/cases/messages.json "messages") with the
// message's code and its template's {name} placeholders replaced by values[name], each
// bounded ([Bound]). The generated functions of catalog_gen.go (SignatureNotFound, ...) call
// it with their arguments. It panics when id is not in the catalog or a placeholder has no
// value: both are bugs of the caller, never of the input.
func Message(id string, values map[string]string) *Error {
	e, ok := catalog[id]
	if !ok {
		panic(fmt.Sprintf("status.Message: no message %q in tests/cases/messages.json", id))
	}
	var b strings.Builder
	for rest := e.template; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			break
		}
		end := open + strings.IndexByte(rest[open:], '}') // the generator checked the braces
		name := rest[open+1 : end]
		value, ok := values[name]
		if !ok {
			panic(fmt.Sprintf("status.Message: message %q has no value for {%s}", id, name))
		}
		b.WriteString(rest[:open])
		b.WriteString(Bound(value))
		rest = rest[end+1:]
	}
	return &Error{Code: e.code, Message: b.String()}
}

// MaxEcho is the most characters (code points) of a value that a message quotes from the
// request, the command line or the model (see Bound).
const MaxEcho = 200

// Bound returns s cut for a message: unchanged when it has at most MaxEcho code points
// (invalid UTF-8 bytes count one each), else its first MaxEcho followed by
// "... (N characters)", N its full length. A value is bounded before it is quoted or
// escaped, so that no message is longer than a few kilobytes whatever the input.
func Bound(s string) string {
	if len(s) <= MaxEcho { // at most len(s) code points
		return s
	}
	n, cut := 0, 0
	for i := range s {
		if n == MaxEcho {
			cut = i
		}
		n++
	}
	if n <= MaxEcho {
		return s
	}
	return fmt.Sprintf("%s... (%d characters)", s[:cut], n)
}
