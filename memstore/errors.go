package memstore

import (
	"errors"
	"fmt"
)

// Code is an error code from the OCI distribution spec's error table.
type Code string

// The error codes of the distribution spec (code-1 … code-14).
const (
	CodeBlobUnknown         Code = "BLOB_UNKNOWN"
	CodeBlobUploadInvalid   Code = "BLOB_UPLOAD_INVALID"
	CodeBlobUploadUnknown   Code = "BLOB_UPLOAD_UNKNOWN"
	CodeDigestInvalid       Code = "DIGEST_INVALID"
	CodeManifestBlobUnknown Code = "MANIFEST_BLOB_UNKNOWN"
	CodeManifestInvalid     Code = "MANIFEST_INVALID"
	CodeManifestUnknown     Code = "MANIFEST_UNKNOWN"
	CodeNameInvalid         Code = "NAME_INVALID"
	CodeNameUnknown         Code = "NAME_UNKNOWN"
	CodeSizeInvalid         Code = "SIZE_INVALID"
	CodeUnauthorized        Code = "UNAUTHORIZED"
	CodeDenied              Code = "DENIED"
	CodeUnsupported         Code = "UNSUPPORTED"
	CodeTooManyRequests     Code = "TOOMANYREQUESTS"
)

// Error is an error carrying an OCI error code. The store returns errors
// derived from the Err* sentinels below: errors.Is(err, ErrBlobUnknown)
// reports whether err is (or wraps) that kind of failure, and errors.As
// yields the *Error with its code and message.
type Error struct {
	// Code is the OCI error code.
	Code Code
	// Message describes this occurrence for a human reader.
	Message string
	// Detail is optional structured data for the error body's "detail".
	Detail any

	kind *Error // the sentinel this error was derived from; nil for sentinels
}

// Sentinel errors. Several share a code but differ in the HTTP status a
// server should use (for example ErrRangeInvalid is a 416, ErrBlobUploadInvalid
// a 400), which is why they are distinct values rather than bare codes.
var (
	ErrBlobUnknown         = &Error{Code: CodeBlobUnknown, Message: "blob unknown to registry"}
	ErrBlobUploadInvalid   = &Error{Code: CodeBlobUploadInvalid, Message: "blob upload invalid"}
	ErrBlobUploadUnknown   = &Error{Code: CodeBlobUploadUnknown, Message: "blob upload unknown to registry"}
	ErrDigestInvalid       = &Error{Code: CodeDigestInvalid, Message: "provided digest did not match uploaded content"}
	ErrManifestBlobUnknown = &Error{Code: CodeManifestBlobUnknown, Message: "manifest references a manifest or blob unknown to registry"}
	ErrManifestInvalid     = &Error{Code: CodeManifestInvalid, Message: "manifest invalid"}
	ErrManifestUnknown     = &Error{Code: CodeManifestUnknown, Message: "manifest unknown to registry"}
	ErrNameInvalid         = &Error{Code: CodeNameInvalid, Message: "invalid repository name"}
	ErrNameUnknown         = &Error{Code: CodeNameUnknown, Message: "repository name not known to registry"}
	ErrSizeInvalid         = &Error{Code: CodeSizeInvalid, Message: "provided length did not match content length"}
	ErrUnsupported         = &Error{Code: CodeUnsupported, Message: "the operation is unsupported"}

	// ErrRangeInvalid reports a chunk that does not start where the upload
	// currently ends (an out-of-order chunk). Servers answer 416.
	ErrRangeInvalid = &Error{Code: CodeBlobUploadInvalid, Message: "chunk out of order"}
	// ErrTooLarge reports content over the store's size limit. Servers answer 413.
	ErrTooLarge = &Error{Code: CodeSizeInvalid, Message: "content exceeds the size limit"}
	// ErrTagInvalid reports a tag that does not match the spec's tag grammar.
	ErrTagInvalid = &Error{Code: CodeManifestInvalid, Message: "invalid tag"}
	// ErrStoreFull reports a push that would take the store past its total
	// byte limit (WithMaxStoreBytes). Nothing is stored. Servers answer 413.
	ErrStoreFull = &Error{Code: CodeSizeInvalid, Message: "the store is full"}
	// ErrTooManyUploads reports an upload session refused because the store
	// already has its limit of open sessions (WithMaxUploads). Sessions
	// already open are unaffected. Servers answer 429.
	ErrTooManyUploads = &Error{Code: CodeTooManyRequests, Message: "too many open upload sessions"}
)

// Error implements the error interface as "CODE: message".
func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Message
}

// Is reports whether target is e itself or the sentinel e was derived from.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t == e || (e.kind != nil && t == e.kind)
}

// Kind returns the sentinel e was derived from, or e if it is a sentinel.
func (e *Error) Kind() *Error {
	if e.kind != nil {
		return e.kind
	}
	return e
}

// errorf derives an error from the sentinel kind with a specific message.
func errorf(kind *Error, format string, args ...any) *Error {
	return &Error{Code: kind.Code, Message: fmt.Sprintf(format, args...), kind: kind}
}

// withDetail derives an error from kind carrying a message and a detail value.
func withDetail(kind *Error, detail any, format string, args ...any) *Error {
	e := errorf(kind, format, args...)
	e.Detail = detail
	return e
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
