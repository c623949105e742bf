package restjson

import (
	"strconv"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

// errorf is a refusal of a request or response body (INVALID_ARGUMENT): invalid JSON, a body
// that does not follow the TF Serving predict format, or values that do not fit the
// signature. Its message is one line naming what was wrong and what the signature expects.
func errorf(format string, args ...any) error {
	return status.New(status.InvalidArgument, format, args...)
}

// TooLarge is the refusal of a request body longer than limit bytes (--max-request-bytes):
// the catalog's request_too_large (RESOURCE_EXHAUSTED).
func TooLarge(limit int64) error {
	return status.RequestTooLarge(strconv.FormatInt(limit, 10))
}
