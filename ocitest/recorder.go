package ocitest

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/url"
	"slices"
	"sync"
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

// record is a finished request as the recorder keeps it: its header,
// query and response header maps are held encoded (encodeRecord), in
// buffers without pointers. A registry keeps up to DefaultMaxRecorded
// requests, and a few hundred thousand small maps made every garbage
// collection of a busy test's process slower, which cost every request.
// Requests hands out decoded copies.
type record struct {
	req Request // Header, Query and ResponseHeader nil
	// enc holds the request header, the query and the response header,
	// each encoded by appendValues, in one buffer: the query begins at
	// queryAt and the response header at respAt. An empty part is a nil
	// map.
	enc             []byte
	queryAt, respAt int
}

// encodeRecord encodes a request's header and query and its response
// header into one buffer (one allocation per request, see record).
func encodeRecord(header, query, resp map[string][]string) (enc []byte, queryAt, respAt int) {
	enc = make([]byte, 0, valuesLen(header)+valuesLen(query)+valuesLen(resp))
	enc = appendValues(enc, header)
	queryAt = len(enc)
	enc = appendValues(enc, query)
	respAt = len(enc)
	return appendValues(enc, resp), queryAt, respAt
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

// add stores a finished request, rec, whose encoding (encodeRecord) was
// made when the response header went out, or is nil if none did. add
// keeps requests in Seq order, and wakes waiters. The caller must not
// touch rec afterwards.
func (rc *recorder) add(rec *record) {
	r := &rec.req
	if rec.enc == nil {
		rec.enc, rec.queryAt, rec.respAt = encodeRecord(r.Header, r.Query, nil)
	}
	r.Header, r.Query, r.ResponseHeader = nil, nil, nil
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if n := len(rc.reqs); n == 0 || rc.reqs[n-1].req.Seq < r.Seq {
		rc.reqs = append(rc.reqs, rec) // the usual case: requests end in order
	} else {
		i, _ := slices.BinarySearchFunc(rc.reqs, r.Seq, func(x *record, seq int) int { return x.req.Seq - seq })
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
		r := rec.req
		r.Header = http.Header(decodeValues(rec.enc[:rec.queryAt]))
		r.ResponseHeader = http.Header(decodeValues(rec.enc[rec.respAt:]))
		if q := decodeValues(rec.enc[rec.queryAt:rec.respAt]); q != nil {
			r.Query = url.Values(q)
		}
		r.Body = slices.Clone(r.Body)
		r.Quirks = slices.Clone(r.Quirks)
		r.Faults = slices.Clone(r.Faults)
		r.Scopes = slices.Clone(r.Scopes)
		r.Granted = slices.Clone(r.Granted)
		out[i] = r
	}
	rc.watched = true
	return out, rc.changed
}

// appendValues appends a header or query map to b, in a form without
// pointers: the number of keys, then each key with its number of values
// plus one (0 for nil) and the values, every string preceded by its
// length (uvarints). A nil map appends nothing, so that nil stays nil.
func appendValues(b []byte, m map[string][]string) []byte {
	if m == nil {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(m)))
	for k, vs := range m {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		if vs == nil {
			b = binary.AppendUvarint(b, 0) // nil values stay nil, as Header.Clone keeps them
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(vs))+1)
		for _, v := range vs {
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

// valuesLen is the number of bytes appendValues appends for m.
func valuesLen(m map[string][]string) int {
	if m == nil {
		return 0
	}
	n := uvarintLen(len(m))
	for k, vs := range m {
		n += uvarintLen(len(k)) + len(k) + uvarintLen(len(vs)+1)
		for _, v := range vs {
			n += uvarintLen(len(v)) + len(v)
		}
	}
	return n
}

// uvarintLen is the length of n as a uvarint.
func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
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
		l := next()
		s := string(b[:l])
		b = b[l:]
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
