package ocitest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
)

// Blob download quirks (catalog section 6): Range handling, gzip content
// encoding and truncated bodies. getBlob hands a found blob to blobQuirks;
// with none of them on it serves the blob itself, as the spec says.

// blobQuirks serves a found blob when a download quirk is on, reporting
// whether it did (and the error to answer with).
func (s *server) blobQuirks(w http.ResponseWriter, r *http.Request, c *call, d digest.Digest, content *memstore.Content) (bool, error) {
	dq := &c.q.Download
	if !dq.Ranges.On() && !dq.GzipBlobs.On() && !dq.Truncate.On() {
		return false, nil
	}
	return true, s.serveBlob(w, r, c, d, content, false)
}

// serveBlob answers a blob GET or HEAD under the download quirks, for the
// registry or (cdn) for the fixture's CDN host, which sends no registry
// headers.
func (s *server) serveBlob(w http.ResponseWriter, r *http.Request, c *call, d digest.Digest, content *memstore.Content, cdn bool) error {
	dq := &c.q.Download
	size := content.Size()
	mode, acceptRanges := quirks.RangesHonored, "bytes"
	if dq.Ranges.On() {
		mode = dq.Ranges.Value.Mode
		switch dq.Ranges.Value.AcceptRanges {
		case quirks.AcceptRangesOmitted:
			acceptRanges = ""
		case quirks.AcceptRangesNone:
			acceptRanges = "none"
		}
	}

	// Decide the answer to a Range header first: errors go out before
	// any success header is set.
	rh := r.Header.Get("Range")
	var part *byteRange
	ignored := false
	switch {
	case rh == "":
	case mode == quirks.RangesIgnored:
		c.note(dq.Ranges.By)
		ignored = true
	case mode == quirks.RangesClosedOnly:
		start, end, err := closedRange(rh, size)
		if err != nil || strings.Contains(rh, ",") {
			c.note(dq.Ranges.By) // the spec serves these (multipart for several)
		}
		if err != nil {
			return err
		}
		part = &byteRange{start: start, end: end}
	default:
		ranges, err := parseRange(rh, size)
		if err != nil {
			e := newAPIError(http.StatusRequestedRangeNotSatisfiable, memstore.ErrSizeInvalid,
				fmt.Sprintf("range %q: %v (blob has %d bytes)", rh, err, size))
			e.Header = http.Header{"Content-Range": {fmt.Sprintf("bytes */%d", size)}}
			if acceptRanges != "" {
				e.Header.Set("Accept-Ranges", acceptRanges)
			}
			if acceptRanges != "bytes" {
				c.note(dq.Ranges.By)
			}
			return e
		}
		if mode == quirks.RangesStartEarlier && len(ranges) == 1 {
			start := max(ranges[0].start-dq.Ranges.Value.Earlier, 0)
			if start < ranges[0].start {
				c.note(dq.Ranges.By)
			}
			part = &byteRange{start: start, end: ranges[0].end}
		}
	}

	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if cdn {
		h.Set("ETag", `"`+d.Encoded()+`"`)
	} else {
		h.Set("Docker-Content-Digest", string(d))
		h.Set("ETag", `"`+string(d)+`"`)
		h.Set("Cache-Control", "max-age=31536000") // content-addressed: never changes
	}
	// Accept-Ranges is set as the status goes out: http.ServeContent
	// always sets "bytes".
	out := http.ResponseWriter(&quirkWriter{ResponseWriter: w, before: []func(int, http.Header){func(_ int, h http.Header) {
		if acceptRanges == "" {
			h.Del("Accept-Ranges")
		} else {
			h.Set("Accept-Ranges", acceptRanges)
		}
		if acceptRanges != "bytes" {
			c.note(dq.Ranges.By)
		}
	}}})
	if dq.Truncate.On() && r.Method == http.MethodGet {
		out = &cutWriter{ResponseWriter: out, c: c, t: dq.Truncate}
	}

	switch {
	case part != nil:
		return writePartial(out, r, content, part.start, part.end)
	case (rh == "" || ignored) && dq.GzipBlobs.On() && r.Method == http.MethodGet && acceptsGzip(r):
		c.note(dq.GzipBlobs.By)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		content.WriteTo(zw)
		zw.Close()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		out.WriteHeader(http.StatusOK)
		out.Write(buf.Bytes())
	case ignored:
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		out.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			content.WriteTo(out)
		}
	default:
		// ServeContent does ranges (multipart for several) and
		// conditional requests as in spec mode.
		http.ServeContent(out, r, "", time.Time{}, content.NewReader())
	}
	return nil
}

// closedRange reads a Range header the way ggcr's pkg/registry does
// (fmt.Sscanf "bytes=%d-%d"): one closed range within the blob, anything
// else a 416 BLOB_UNKNOWN without Content-Range.
func closedRange(header string, size int64) (start, end int64, err error) {
	refuse := func(msg string) error {
		return &apiError{Status: http.StatusRequestedRangeNotSatisfiable, Err: &memstore.Error{Code: memstore.CodeBlobUnknown, Message: msg}}
	}
	if n, err := fmt.Sscanf(header, "bytes=%d-%d", &start, &end); err != nil || n != 2 {
		return 0, 0, refuse("We don't understand your Range")
	}
	if start < 0 || end < start {
		return 0, 0, refuse("We don't understand your Range")
	}
	if end >= size { // not end+1 > size: end may be the largest int64
		return 0, 0, refuse(fmt.Sprintf("range end %d > %d size", uint64(end)+1, size))
	}
	return start, end, nil
}

// writePartial answers 206 with bytes start..end (inclusive) of content.
func writePartial(w http.ResponseWriter, r *http.Request, content *memstore.Content, start, end int64) error {
	h := w.Header()
	n := end - start + 1
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, content.Size()))
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusPartialContent)
	if r.Method != http.MethodHead {
		io.Copy(w, io.NewSectionReader(content, start, n))
	}
	return nil
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
				return false
			}
			return true
		}
	}
	return false
}

// cutWriter closes the connection once a body goes past Truncation.After
// bytes, if the truncation quirk still has cuts to make.
type cutWriter struct {
	http.ResponseWriter
	c       *call
	t       quirks.Setting[quirks.Truncation]
	written int64
	decided bool
	cut     bool
}

func (w *cutWriter) Write(b []byte) (int, error) {
	after := w.t.Value.After
	if !w.decided && w.written+int64(len(b)) > after {
		w.decided = true
		w.cut = w.t.Value.Take()
	}
	if w.cut {
		n, _ := w.ResponseWriter.Write(b[:after-w.written])
		w.written += int64(n)
		w.c.note(w.t.By)
		http.NewResponseController(w.ResponseWriter).Flush()
		panic(http.ErrAbortHandler) // cut the connection mid-body
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

func (w *cutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
