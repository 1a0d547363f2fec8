package ocitest

import (
	"net/http"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
)

// quirkError is an error answer a quirk prescribes, noted on the call.
type quirkError struct {
	resp quirks.ErrorResponse
}

func (e *quirkError) Error() string { return e.resp.Code + ": " + e.resp.Message }

// refuse notes the quirk that set s and returns its error answer.
func refuse(c *call, s quirks.Setting[quirks.ErrorResponse]) error {
	c.note(s.By)
	return &quirkError{resp: s.Value}
}

// writeQuirkError writes a quirk's error answer: the spec's JSON error body
// with the quirk's code and message, or the quirk's raw body (HTML, XML or
// plain text, as proxies and object stores answer).
func writeQuirkError(w http.ResponseWriter, r *http.Request, e quirks.ErrorResponse) {
	if e.Body == "" {
		writeError(w, &apiError{Status: e.Status, Err: &memstore.Error{Code: memstore.Code(e.Code), Message: e.Message}})
		return
	}
	h := w.Header()
	h.Del("Docker-Content-Digest")
	ct := e.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", itoa(len(e.Body)))
	closeOnTooLarge(h, e.Status)
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write([]byte(e.Body))
	}
}
