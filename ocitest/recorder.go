package ocitest

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// DefaultMaxRecorded is how many requests a registry keeps by default;
// older ones are forgotten first, so a long-running registry stays bounded.
const DefaultMaxRecorded = 100_000

// recorder keeps the requests a registry served.
type recorder struct {
	mu  sync.Mutex
	max int
	seq int
	// reqs are the finished requests in Seq order. They are held by
	// pointer: a record is written once, and the slice that orders them
	// then grows and is trimmed by moving pointers, not whole records.
	reqs []*record
	// changed is closed on the next new request if someone is waiting
	// (watched); a registry nobody waits on makes no channel per request.
	changed chan struct{}
	watched bool
}

// record is a finished request as the recorder keeps it, compactly: a
// registry keeps up to DefaultMaxRecorded of them, and every byte a
// record holds is a byte the test's process must fault in and the
// garbage collector must walk. (A record used to be a Request with its
// header maps: a few hundred thousand small maps made every collection of
// a busy test's process slower, and in a VM each fresh heap page costs
// microseconds.) The request's strings and its header, query and
// response header are encoded in one buffer without pointers (enc, made
// by encodeRecord); Requests hands out decoded copies.
type record struct {
	seq, status            int
	kind                   Kind
	bodySize, responseSize int64
	time                   time.Time
	duration               time.Duration
	user                   string // Anonymous or a configured user name
	body                   []byte
	lists                  *recordLists // nil when all are empty
	// enc holds Method, Path, Repo, Reference and UploadID, then the
	// request header, the query and the response header (appendValues),
	// which begin at at[0], at[1] and at[2]. An empty part is a nil map.
	enc []byte
	at  [3]uint32
}

// recordLists are a record's rarely set lists.
type recordLists struct {
	scopes, granted, quirks, faults []string
}

// encodeRecord encodes what a record keeps of r encoded, with resp as the
// response header, in one buffer of exactly its size (one allocation per
// request): it is written once into a buffer on the stack, then copied.
func encodeRecord(r *Request, resp map[string][]string) (enc []byte, at [3]uint32) {
	var scratch [1024]byte
	b := scratch[:0]
	for _, s := range [...]string{r.Method, r.Path, r.Repo, r.Reference, r.UploadID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	at[0] = uint32(len(b))
	b = appendValues(b, r.Header)
	at[1] = uint32(len(b))
	b = appendValues(b, r.Query)
	at[2] = uint32(len(b))
	b = appendValues(b, resp)
	enc = make([]byte, len(b))
	copy(enc, b)
	return enc, at
}

// newRecord makes the record of r, whose encoding enc and at were made
// when its response header went out (nil if none did).
func newRecord(r *Request, enc []byte, at [3]uint32) *record {
	if enc == nil {
		enc, at = encodeRecord(r, nil)
	}
	rec := &record{
		seq: r.Seq, status: r.Status, kind: r.Kind,
		bodySize: r.BodySize, responseSize: r.ResponseSize,
		time: r.Time, duration: r.Duration,
		user: r.User, body: r.Body,
		enc: enc, at: at,
	}
	if len(r.Scopes)+len(r.Granted)+len(r.Quirks)+len(r.Faults) > 0 {
		rec.lists = &recordLists{scopes: r.Scopes, granted: r.Granted, quirks: r.Quirks, faults: r.Faults}
	}
	return rec
}

// request decodes the record into a Request of its own: nothing in it
// shares memory with the record.
func (rec *record) request() Request {
	r := Request{
		Seq: rec.seq, Status: rec.status, Kind: rec.kind,
		BodySize: rec.bodySize, ResponseSize: rec.responseSize,
		Time: rec.time, Duration: rec.duration,
		User: rec.user, Body: slices.Clone(rec.body),
	}
	b := rec.enc[:rec.at[0]]
	for _, f := range [...]*string{&r.Method, &r.Path, &r.Repo, &r.Reference, &r.UploadID} {
		l, n := binary.Uvarint(b)
		*f = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	r.Header = http.Header(decodeValues(rec.enc[rec.at[0]:rec.at[1]]))
	if q := decodeValues(rec.enc[rec.at[1]:rec.at[2]]); q != nil {
		r.Query = url.Values(q)
	}
	r.ResponseHeader = http.Header(decodeValues(rec.enc[rec.at[2]:]))
	if l := rec.lists; l != nil {
		r.Scopes, r.Granted = slices.Clone(l.scopes), slices.Clone(l.granted)
		r.Quirks, r.Faults = slices.Clone(l.quirks), slices.Clone(l.faults)
	}
	return r
}

func newRecorder(max int) *recorder {
	if max <= 0 {
		max = DefaultMaxRecorded
	}
	return &recorder{max: max, changed: make(chan struct{})}
}

// nextSeq numbers an arriving request.
func (rc *recorder) nextSeq() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.seq++
	return rc.seq
}

// add stores a finished request, keeping requests in Seq order, and
// wakes waiters.
func (rc *recorder) add(rec *record) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if n := len(rc.reqs); n == 0 || rc.reqs[n-1].seq < rec.seq {
		rc.reqs = append(rc.reqs, rec) // the usual case: requests end in order
	} else {
		i, _ := slices.BinarySearchFunc(rc.reqs, rec.seq, func(x *record, seq int) int { return x.seq - seq })
		rc.reqs = slices.Insert(rc.reqs, i, rec)
	}
	if len(rc.reqs) > rc.max {
		// Forget the oldest in batches of a tenth of the limit, so a
		// registry at its limit does not shift the whole record on every
		// request (a ring would do, but arrival order must stay sorted).
		keep := rc.max - rc.max/10
		rc.reqs = slices.Delete(rc.reqs, 0, len(rc.reqs)-keep)
	}
	if rc.watched {
		close(rc.changed)
		rc.changed = make(chan struct{})
		rc.watched = false
	}
}

// snapshot returns copies of the recorded requests, so callers may change
// what they get without touching the record, and a channel closed when
// the next request is recorded.
func (rc *recorder) snapshot() ([]Request, <-chan struct{}) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Request, len(rc.reqs))
	for i, rec := range rc.reqs {
		out[i] = rec.request()
	}
	rc.watched = true
	return out, rc.changed
}

// appendValues appends a header or query map to b, in a form without
// pointers: the number of keys, then each key with its number of values
// plus one (0 for nil) and the values, every string as appendString
// writes it. A nil map appends nothing, so that nil stays nil.
func appendValues(b []byte, m map[string][]string) []byte {
	if m == nil {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(m)))
	for k, vs := range m {
		b = appendString(b, k)
		if vs == nil {
			b = binary.AppendUvarint(b, 0) // nil values stay nil, as Header.Clone keeps them
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(vs))+1)
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	return b
}

// recordWords are header names and values nearly every request or
// response has. A record holds each as one byte instead of its text: the
// headers are most of what a record keeps, and a registry keeps 100,000
// records. The order is part of the encoding of the records in memory
// only, so it may change freely.
var recordWords = [...]string{
	"Accept", "Accept-Encoding", "Accept-Ranges", "Authorization", "Cache-Control",
	"Content-Length", "Content-Range", "Content-Type", "Docker-Content-Digest",
	"Docker-Distribution-Api-Version", "Docker-Upload-Uuid", "Etag", "Link", "Location",
	"Oci-Subject", "Range", "User-Agent", "Www-Authenticate",
	"registry/2.0", "application/json", "application/octet-stream", "bytes", "gzip",
	"max-age=31536000", "0", "Go-http-client/1.1",
	"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}

// recordWord returns s's index in recordWords, or -1.
func recordWord(s string) int {
	// A switch on the strings compiles to a few comparisons, cheaper
	// than hashing s for a map.
	switch s {
	case "Accept":
		return 0
	case "Accept-Encoding":
		return 1
	case "Accept-Ranges":
		return 2
	case "Authorization":
		return 3
	case "Cache-Control":
		return 4
	case "Content-Length":
		return 5
	case "Content-Range":
		return 6
	case "Content-Type":
		return 7
	case "Docker-Content-Digest":
		return 8
	case "Docker-Distribution-Api-Version":
		return 9
	case "Docker-Upload-Uuid":
		return 10
	case "Etag":
		return 11
	case "Link":
		return 12
	case "Location":
		return 13
	case "Oci-Subject":
		return 14
	case "Range":
		return 15
	case "User-Agent":
		return 16
	case "Www-Authenticate":
		return 17
	case "registry/2.0":
		return 18
	case "application/json":
		return 19
	case "application/octet-stream":
		return 20
	case "bytes":
		return 21
	case "gzip":
		return 22
	case "max-age=31536000":
		return 23
	case "0":
		return 24
	case "Go-http-client/1.1":
		return 25
	case "application/vnd.oci.image.manifest.v1+json":
		return 26
	case "application/vnd.oci.image.index.v1+json":
		return 27
	case "application/vnd.docker.distribution.manifest.v2+json":
		return 28
	case "application/vnd.docker.distribution.manifest.list.v2+json":
		return 29
	}
	return -1
}

// appendString appends s as a uvarint tag, odd for a word of recordWords
// (2×index+1) and even for text (2×length) followed by the text.
func appendString(b []byte, s string) []byte {
	if i := recordWord(s); i >= 0 {
		return binary.AppendUvarint(b, uint64(2*i+1))
	}
	b = binary.AppendUvarint(b, uint64(2*len(s)))
	return append(b, s...)
}

// decodeValues unpacks what appendValues packed.
func decodeValues(b []byte) map[string][]string {
	if len(b) == 0 {
		return nil
	}
	next := func() uint64 {
		v, n := binary.Uvarint(b)
		b = b[n:]
		return v
	}
	str := func() string {
		t := next()
		if t%2 == 1 {
			return recordWords[t/2]
		}
		s := string(b[:t/2])
		b = b[t/2:]
		return s
	}
	keys := next()
	m := make(map[string][]string, keys)
	for range keys {
		k := str()
		n := next()
		if n == 0 {
			m[k] = nil
			continue
		}
		vs := make([]string, n-1)
		for i := range vs {
			vs[i] = str()
		}
		m[k] = vs
	}
	return m
}

func (rc *recorder) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs = nil
}

// Requests returns the finished requests in arrival order.
func (reg *Registry) Requests() []Request {
	reqs, _ := reg.rec.snapshot()
	return reqs
}

// Filter returns the finished requests m selects, in arrival order.
func (reg *Registry) Filter(m Match) []Request {
	var out []Request
	for _, r := range reg.Requests() {
		if m.Matches(r) {
			out = append(out, r)
		}
	}
	return out
}

// Count returns how many finished requests m selects.
func (reg *Registry) Count(m Match) int { return len(reg.Filter(m)) }

// LastRequest returns the most recent finished request, if there is one.
func (reg *Registry) LastRequest() (Request, bool) {
	reqs := reg.Requests()
	if len(reqs) == 0 {
		return Request{}, false
	}
	return reqs[len(reqs)-1], true
}

// ResetRequests forgets the requests recorded so far (numbering goes on).
func (reg *Registry) ResetRequests() { reg.rec.reset() }

// WaitFor blocks until at least n finished requests match m, or ctx ends.
// It returns the matching requests, or ctx's error with those seen so far.
func (reg *Registry) WaitFor(ctx context.Context, m Match, n int) ([]Request, error) {
	for {
		reqs, changed := reg.rec.snapshot()
		var got []Request
		for _, r := range reqs {
			if m.Matches(r) {
				got = append(got, r)
			}
		}
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
}
