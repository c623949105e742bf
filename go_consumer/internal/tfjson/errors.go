package tfjson

import "fmt"

// RequestError is a refusal of a request or response body: invalid JSON, a body that does
// not follow the TF Serving predict format, or values that do not fit the signature. Its
// message is one line naming what was wrong and what the signature expects.
type RequestError struct {
	Msg string
}

func (e *RequestError) Error() string { return e.Msg }

// errorf builds a *RequestError.
func errorf(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}

// TooLarge is the refusal of a request body longer than limit bytes (--max-request-bytes).
func TooLarge(limit int64) error {
	return errorf("request is larger than the limit of %d bytes (--max-request-bytes)", limit)
}
