package ocitest

import (
	"context"
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
	reqs []*Request
	// changed is closed on the next new request if someone is waiting
	// (watched); a registry nobody waits on makes no channel per request.
	changed chan struct{}
	watched bool
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

// add stores a finished request, keeping them in Seq order, and wakes
// waiters. The recorder takes r over: the caller must not change it.
func (rc *recorder) add(r *Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if n := len(rc.reqs); n == 0 || rc.reqs[n-1].Seq < r.Seq {
		rc.reqs = append(rc.reqs, r) // the usual case: requests end in order
	} else {
		i, _ := slices.BinarySearchFunc(rc.reqs, r.Seq, func(x *Request, seq int) int { return x.Seq - seq })
		rc.reqs = slices.Insert(rc.reqs, i, r)
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

// snapshot returns deep copies of the recorded requests, so callers may
// change what they get without touching the record, and a channel closed
// when the next request is recorded.
func (rc *recorder) snapshot() ([]Request, <-chan struct{}) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Request, len(rc.reqs))
	for i, p := range rc.reqs {
		r := *p
		r.Header = r.Header.Clone()
		r.ResponseHeader = r.ResponseHeader.Clone()
		if r.Query != nil {
			r.Query = url.Values(http.Header(r.Query).Clone())
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
