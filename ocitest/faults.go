package ocitest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
)

// Fault is a scripted misbehaviour for the requests its Match selects.
// Faults are count-based, so tests stay deterministic. With Status set the
// registry answers with it instead of serving the request (nothing is
// stored); Drop closes the connection without an answer; Delay waits first
// (giving up when the client's context ends); TruncateAfter serves the
// request but cuts the response body off after that many bytes.
type Fault struct {
	// Match selects the requests (its Status field is ignored).
	Match Match
	// Status is the status to answer with; 0 serves the request normally
	// (after Delay, or truncated).
	Status int
	// Code is the error code of the JSON error body (default: the code that
	// fits Status and the endpoint, e.g. TOOMANYREQUESTS for 429).
	Code memstore.Code
	// Header is added to the response (e.g. Retry-After).
	Header http.Header
	// Body replaces the JSON error body when set.
	Body []byte
	// Delay holds the request this long before acting on it.
	Delay time.Duration
	// Drop closes the connection without a response. Go's HTTP client
	// silently retries a GET or HEAD dropped on a reused keep-alive
	// connection, so such a client sees the fault only from a second hit
	// (use Times: 2, or a fresh connection).
	Drop bool
	// TruncateAfter, when > 0, cuts the response body after this many bytes.
	TruncateAfter int64
	// Times is how many requests the fault applies to; 0 means every one.
	Times int
	// Name labels the fault in Request.Faults (default: a description).
	Name string
}

// label names the fault in recorded requests.
func (f *Fault) label() string {
	if f.Name != "" {
		return f.Name
	}
	var parts []string
	if f.Delay > 0 {
		parts = append(parts, "delay "+f.Delay.String())
	}
	switch {
	case f.Drop:
		parts = append(parts, "drop")
	case f.Status != 0:
		parts = append(parts, fmt.Sprintf("status %d", f.Status))
	case f.TruncateAfter > 0:
		parts = append(parts, fmt.Sprintf("truncate after %d bytes", f.TruncateAfter))
	}
	if len(parts) == 0 {
		return "fault"
	}
	return strings.Join(parts, ", ")
}

// FaultHandle controls an injected fault.
type FaultHandle struct {
	set *faultSet
	f   *activeFault
}

type activeFault struct {
	Fault
	hits int
}

// Hits is how many requests the fault has applied to.
func (h *FaultHandle) Hits() int {
	h.set.mu.Lock()
	defer h.set.mu.Unlock()
	return h.f.hits
}

// Remove stops the fault from applying to further requests.
func (h *FaultHandle) Remove() {
	h.set.mu.Lock()
	defer h.set.mu.Unlock()
	h.set.remove(h.f)
}

// faultSet holds the active faults in the order they were injected.
type faultSet struct {
	mu   sync.Mutex
	list []*activeFault
}

// take returns the first fault that selects r and counts the hit; a fault
// whose Times are used up is removed.
func (fs *faultSet) take(r Request) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.list {
		if !f.Match.matchesRequest(r) {
			continue
		}
		f.hits++
		if f.Times > 0 && f.hits >= f.Times {
			fs.remove(f)
		}
		fault := f.Fault
		return &fault
	}
	return nil
}

func (fs *faultSet) remove(f *activeFault) {
	for i, x := range fs.list {
		if x == f {
			fs.list = append(fs.list[:i:i], fs.list[i+1:]...)
			return
		}
	}
}

// Inject adds a fault; it applies to matching requests in the order faults
// were injected, the first match winning.
func (reg *Registry) Inject(f Fault) *FaultHandle {
	a := &activeFault{Fault: f}
	reg.faults.mu.Lock()
	reg.faults.list = append(reg.faults.list, a)
	reg.faults.mu.Unlock()
	return &FaultHandle{set: &reg.faults, f: a}
}

// FailNext makes the next request that m selects fail with status.
func (reg *Registry) FailNext(m Match, status int) *FaultHandle {
	return reg.Inject(Fault{Match: m, Status: status, Times: 1})
}

// ClearFaults removes every injected fault.
func (reg *Registry) ClearFaults() {
	reg.faults.mu.Lock()
	reg.faults.list = nil
	reg.faults.mu.Unlock()
}

// writeFault answers a request with the fault's status, headers and body.
func writeFault(w http.ResponseWriter, r *http.Request, kind Kind, f *Fault) {
	copyHeader(w.Header(), f.Header)
	if f.Body != nil {
		w.Header().Set("Content-Length", itoa(len(f.Body)))
		w.WriteHeader(f.Status)
		if r.Method != http.MethodHead {
			w.Write(f.Body)
		}
		return
	}
	code := f.Code
	if code == "" {
		code = faultCode(f.Status, kind)
	}
	writeError(w, &apiError{Status: f.Status, Err: &memstore.Error{Code: code, Message: "injected fault: " + f.label()}})
}

// faultCode is the error code a registry would use for status on an
// endpoint of kind. 5xx codes are distribution's (the spec defines 4xx only).
func faultCode(status int, kind Kind) memstore.Code {
	switch status {
	case http.StatusTooManyRequests:
		return memstore.CodeTooManyRequests
	case http.StatusUnauthorized:
		return memstore.CodeUnauthorized
	case http.StatusForbidden:
		return memstore.CodeDenied
	case http.StatusNotFound:
		switch kind {
		case BlobGet, BlobHead, BlobDelete, BlobMount:
			return memstore.CodeBlobUnknown
		case ManifestGet, ManifestHead, ManifestDelete:
			return memstore.CodeManifestUnknown
		case UploadChunk, UploadComplete, UploadStatus, UploadCancel:
			return memstore.CodeBlobUploadUnknown
		}
		return memstore.CodeNameUnknown
	case http.StatusRequestedRangeNotSatisfiable:
		return memstore.CodeBlobUploadInvalid
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	}
	if status >= 500 {
		return "UNKNOWN"
	}
	return memstore.CodeUnsupported
}
