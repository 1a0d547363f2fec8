package ocitest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ocifixture/ocifixture/quirks"
)

// apiVersionHeader is the value of Docker-Distribution-API-Version, shared
// by every response: nothing changes a header value in place.
var apiVersionHeader = []string{"registry/2.0"}

// exchange is what ServeHTTP keeps while it serves one request, in one
// allocation: a request costs the test's process the fewer allocations,
// the closer a fixture comes to net/http itself (bench/). The recorder
// keeps a compact record of it (recorder.go).
type exchange struct {
	req  Request
	c    call
	body bodyRecorder
	cw   captureWriter
}

// ServeHTTP is the registry's front door: it records the request, applies
// any injected fault, and hands the request to the spec handlers.
func (reg *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["Docker-Distribution-Api-Version"] = apiVersionHeader // canonical form, as Set would write it
	start := time.Now()
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	rt := parseRoute(r.Method, r.URL.Path, query)
	rt = reg.prefixedRoute(r, rt)
	if r.URL.Path == tokenPath && reg.auth != nil && reg.auth.mode == authToken && roleOf(r) != cdnHost {
		rt = route{Kind: Token}
	}
	x := &exchange{
		req: Request{
			Seq:       reg.rec.nextSeq(),
			Kind:      rt.Kind,
			Method:    r.Method,
			Path:      r.URL.Path,
			Repo:      rt.Repo,
			Reference: rt.Reference,
			UploadID:  rt.UploadID,
			// The request's own header map, not a copy: nothing here
			// changes it, and the recorder keeps it encoded (recorder.go).
			Header: r.Header,
			Time:   reg.clock.Now(),
		},
		// One snapshot of the active quirks per request, taken on arrival.
		c:  call{route: rt, q: quirks.Resolve(reg.quirks.load(), rt.Repo)},
		cw: captureWriter{ResponseWriter: w},
	}
	req, c, body, cw := &x.req, &x.c, &x.body, &x.cw
	if len(query) > 0 {
		req.Query = query
	}
	cw.req = req
	body.init(r, rt.Kind)
	// Fix: r is the server's own request, and after the handler net/http
	// looks at r.Body's type to decide what to do with a body the handler
	// did not read: its own body type left unread past 256 KiB means
	// "close the connection"; any other type is drained first. With the
	// recorder left in place, an error answered before reading (a 413 for
	// a Content-Length over the limit) was held back until 256 KiB more
	// arrived, so a client waiting for the answer before sending waited
	// for ever. The server's body is put back once the handler is done.
	orig := r.Body
	r.Body = body
	defer func() { r.Body = orig }()

	defer func() {
		// Record even when the handler aborts the connection (a Drop or
		// TruncateAfter fault, or a client gone away), then let net/http
		// see the abort.
		p := recover()
		req.Status = cw.status
		switch {
		case p != nil && !cw.completed():
			req.Status = 0 // the connection was cut before any answer
		case p == nil && !cw.completed():
			req.Status = http.StatusOK // net/http answers 200 for a handler that wrote nothing
		}
		req.ResponseSize = cw.written
		req.BodySize, req.Body = body.n, body.captured
		req.Quirks = c.applied
		req.Duration = time.Since(start)
		if reg.cfg.logf != nil {
			reg.cfg.logf("ocitest: %s (%s)", *req, req.Duration.Round(time.Microsecond))
		}
		reg.rec.add(newRecord(req, cw.enc, cw.at))
		if p != nil {
			panic(p)
		}
	}()

	closing := reg.closingChan()
	if f := reg.faults.take(*req); f != nil {
		req.Faults = append(req.Faults, f.label())
		if f.Delay > 0 {
			// Fix: net/http notices a client hanging up (and cancels
			// r.Context) only once the request body has been read to
			// its end. A delayed PUT, PATCH or POST therefore waited out
			// its whole Delay after the client had gone, was then served
			// anyway (changing the store behind the test's back), and
			// Close blocked on it for the rest of the Delay. Reading the
			// body first and replaying it to the handler lets the wait
			// below end when the client or Close cuts the connection.
			if r.ContentLength != 0 {
				b, err := io.ReadAll(body.rc)
				body.rc = &replayBody{r: bytes.NewReader(b), err: err, c: body.rc}
			}
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				panic(http.ErrAbortHandler) // the client gave up: no answer
			case <-closing:
				t.Stop()
				panic(http.ErrAbortHandler) // the registry is shutting down
			}
		}
		switch {
		case f.Drop:
			panic(http.ErrAbortHandler)
		case f.Status != 0:
			writeFault(cw, r, rt.Kind, f)
			return
		case f.TruncateAfter > 0:
			cw.truncateAfter = f.TruncateAfter
		}
		// Fix: Fault.Header is documented as added to the response, but
		// only error answers (writeFault) got it; a Delay or
		// TruncateAfter fault dropped it silently.
		copyHeader(cw.Header(), f.Header)
	}
	if reg.authorize(cw, r, c, req) {
		return
	}
	qw, done := reg.serveQuirks(cw, r, c)
	if done {
		return
	}
	if c.Kind == Token {
		reg.serveToken(qw, r, c, req)
		return
	}
	reg.server.serveRoute(reg.server.uploadAnswers(qw, r, c), r, c)
}

// captureWriter records what a handler answers and can cut the body short.
type captureWriter struct {
	http.ResponseWriter
	req    *Request // whose header and query are encoded with the response's
	status int
	// enc and at are the record's encoding of the request and of the
	// response header as sent with the status line (encodeRecord).
	enc           []byte
	at            [3]uint32
	written       int64
	truncateAfter int64
}

func (w *captureWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.enc, w.at = encodeRecord(w.req, w.ResponseWriter.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.truncateAfter > 0 && w.written+int64(len(b)) > w.truncateAfter {
		n, _ := w.ResponseWriter.Write(b[:w.truncateAfter-w.written])
		w.written += int64(n)
		http.NewResponseController(w.ResponseWriter).Flush()
		panic(http.ErrAbortHandler) // cut the connection mid-body
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// completed reports whether a status line went out before an abort: a
// truncated response keeps its status in the record, a dropped one has none.
func (w *captureWriter) completed() bool { return w.status != 0 }

func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bodyRecorder counts the request body bytes the handler reads and keeps
// the first MaxCapturedBody of them, except for blob content (see
// Request.Body), which it only counts.
type bodyRecorder struct {
	rc       io.ReadCloser
	n        int64
	limit    int   // bytes to keep: MaxCapturedBody, or 0 for blob content
	size     int64 // the declared length, -1 if unknown
	captured []byte
}

// init sets b up to record the body of r, a request of kind k.
func (b *bodyRecorder) init(r *http.Request, k Kind) {
	*b = bodyRecorder{rc: r.Body, limit: MaxCapturedBody, size: r.ContentLength}
	if blobContent(k) {
		b.limit = 0
	}
}

// blobContent reports whether requests of kind k carry blob bytes.
func blobContent(k Kind) bool {
	return k == UploadMonolithic || k == UploadChunk || k == UploadComplete
}

func (b *bodyRecorder) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		if room := b.limit - len(b.captured); room > 0 {
			if b.captured == nil && b.size > 0 {
				// A declared length: one buffer of the size kept.
				b.captured = make([]byte, 0, min(b.size, int64(b.limit)))
			}
			b.captured = append(b.captured, p[:min(n, room)]...)
		}
		b.n += int64(n)
	}
	return n, err
}

func (b *bodyRecorder) Close() error { return b.rc.Close() }

// readingWhole tells the recorder behind a request body, if there is one,
// that the handler is about to read the whole body into a buffer of its
// own that nothing changes afterwards: the recorder then keeps that
// buffer (the record's Body is cloned whenever it is handed out) rather
// than a copy of every byte. The returned function hands it the bytes
// read.
func readingWhole(body io.Reader) (keep func(read []byte)) {
	b, ok := body.(*bodyRecorder)
	if !ok || b.limit == 0 || b.n > 0 {
		return func([]byte) {}
	}
	limit := b.limit
	b.limit = 0
	return func(read []byte) {
		switch {
		case len(read) == 0:
			// Nothing read: Body stays nil, as for any empty body.
		case len(read) > limit || cap(read) != len(read):
			// A body over the limit, or cut short of the buffer made for
			// its declared length: only what is kept is copied, so the
			// record does not hold on to the rest of the buffer.
			b.captured = slices.Clone(read[:min(len(read), limit)])
		default:
			b.captured = read
		}
	}
}

// replayBody serves a request body read ahead of a Delay, then the error
// that reading ended with (if any); Close closes the original body.
type replayBody struct {
	r   *bytes.Reader
	err error
	c   io.Closer
}

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF && b.err != nil {
		err = b.err
	}
	return n, err
}

func (b *replayBody) Close() error { return b.c.Close() }
