package ocitest

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ocifixture/ocifixture/memstore"
)

// apiError is an error response: a status, the spec's error body and any
// headers that belong with it (Allow on a 405, Range on a 416).
type apiError struct {
	Status int
	Err    *memstore.Error
	Header http.Header
}

func (e *apiError) Error() string { return e.Err.Error() }
func (e *apiError) Unwrap() error { return e.Err }

// newAPIError builds an error response from a memstore sentinel with its
// own message.
func newAPIError(status int, kind *memstore.Error, message string) *apiError {
	return &apiError{Status: status, Err: &memstore.Error{Code: kind.Code, Message: message}}
}

// statusOf is the one table from store errors to HTTP statuses.
func statusOf(e *memstore.Error) int {
	switch e.Kind() {
	case memstore.ErrBlobUnknown, memstore.ErrBlobUploadUnknown, memstore.ErrManifestUnknown, memstore.ErrNameUnknown:
		return http.StatusNotFound
	case memstore.ErrRangeInvalid:
		return http.StatusRequestedRangeNotSatisfiable
	case memstore.ErrTooLarge, memstore.ErrStoreFull:
		return http.StatusRequestEntityTooLarge
	case memstore.ErrTooManyUploads:
		// The test's own open sessions are the cause, and ending them is the
		// remedy: a client-side condition (4xx, not 503), the spec's
		// TOOMANYREQUESTS code, whose status is 429.
		return http.StatusTooManyRequests
	case memstore.ErrUnsupported:
		return http.StatusMethodNotAllowed
	}
	switch e.Code {
	case memstore.CodeUnauthorized:
		return http.StatusUnauthorized
	case memstore.CodeDenied:
		return http.StatusForbidden
	case memstore.CodeTooManyRequests:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// errorBody is the spec's error document.
type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    memstore.Code `json:"code"`
	Message string        `json:"message"`
	Detail  any           `json:"detail,omitempty"`
}

// writeError writes err as the spec's JSON error response. Errors that do
// not come from the store or the handlers are the server's own fault: 500.
func writeError(w http.ResponseWriter, err error) {
	h := w.Header()
	// Headers a handler set for a success that did not happen must go.
	h.Del("Content-Range")
	h.Del("Docker-Content-Digest")
	status := http.StatusInternalServerError
	entry := errorEntry{Code: memstore.CodeUnsupported, Message: err.Error()}
	var ae *apiError
	var se *memstore.Error
	switch {
	case errors.As(err, &ae):
		status = ae.Status
		entry = errorEntry{Code: ae.Err.Code, Message: ae.Err.Message, Detail: ae.Err.Detail}
		copyHeader(h, ae.Header)
	case errors.As(err, &se):
		status = statusOf(se)
		entry = errorEntry{Code: se.Code, Message: se.Message, Detail: se.Detail}
	}
	closeOnTooLarge(h, status)
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{entry}})
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// closeOnTooLarge marks a 413 answer to close the connection. A body
// refused for its size is mostly unread, and net/http drains up to 256 KiB
// of an unread body before it answers on a connection it keeps: a client
// that declared a body over a small limit and waited for the answer before
// sending it never got one. Closing the connection, as RFC 9110 allows for
// a 413, sends the answer at once. Every error writer calls it.
func closeOnTooLarge(h http.Header, status int) {
	if status == http.StatusRequestEntityTooLarge {
		h.Set("Connection", "close")
	}
}

// copyHeader sets every field of from in to, replacing earlier values,
// with canonical names and copied value slices.
func copyHeader(to, from http.Header) {
	for k, v := range from {
		to[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
}
