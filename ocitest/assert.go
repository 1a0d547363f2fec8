package ocitest

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/opencontainers/go-digest"
)

// IgnoreVolatile is a cmp.Option for comparing Requests that ignores what
// differs from run to run: Seq, Time, Duration, UploadID, the request and
// response headers, and captured bodies. Compare those with IgnoreHeaders
// or on the Request values directly when a test cares about them.
func IgnoreVolatile() cmp.Option {
	return cmpopts.IgnoreFields(Request{}, "Seq", "Time", "Duration", "UploadID", "Header", "ResponseHeader", "Body")
}

// IgnoreHeaders is a cmp.Option that leaves the named headers out of every
// http.Header compared (e.g. "Date", "User-Agent").
func IgnoreHeaders(names ...string) cmp.Option {
	return cmp.Transformer("ocitest.IgnoreHeaders", func(h http.Header) http.Header {
		if h == nil {
			return nil
		}
		c := h.Clone()
		for _, n := range names {
			c.Del(n)
		}
		return c
	})
}

// AssertRequests checks that the registry served exactly want, in order,
// compared with go-cmp under opts (nil and empty values count as equal).
// Differences are reported with t.Errorf as a -want +got diff.
func (reg *Registry) AssertRequests(t testing.TB, want []Request, opts ...cmp.Option) {
	t.Helper()
	opts = append([]cmp.Option{cmpopts.EquateEmpty()}, opts...)
	if diff := cmp.Diff(want, reg.Requests(), opts...); diff != "" {
		t.Errorf("ocitest: requests differ (-want +got):\n%s", diff)
	}
}

// AssertRequestLines checks the one-line summaries (Request.String) of the
// requests m selects, e.g. "GET /v2/app/manifests/v1 -> 200".
func (reg *Registry) AssertRequestLines(t testing.TB, m Match, want ...string) {
	t.Helper()
	got := []string{}
	for _, r := range reg.Filter(m) {
		got = append(got, r.String())
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ocitest: request lines differ (-want +got):\n%s", diff)
	}
}

// AssertCount checks how many requests m selects.
func (reg *Registry) AssertCount(t testing.TB, m Match, want int) {
	t.Helper()
	if got := reg.Filter(m); len(got) != want {
		t.Errorf("ocitest: %d requests match, want %d; they are:%s", len(got), want, lines(got))
	}
}

func lines(reqs []Request) string {
	if len(reqs) == 0 {
		return " none"
	}
	var b bytes.Buffer
	for _, r := range reqs {
		b.WriteString("\n  ")
		b.WriteString(r.String())
	}
	return b.String()
}

// CheckTag checks that tag in repo points at the manifest want.
func (reg *Registry) CheckTag(t testing.TB, repo, tag string, want digest.Digest) {
	t.Helper()
	m, err := reg.store.Manifest(repo, tag)
	if err != nil {
		t.Errorf("ocitest: %s:%s: %v", repo, tag, err)
		return
	}
	if m.Digest != want {
		t.Errorf("ocitest: %s:%s points at %s, want %s", repo, tag, m.Digest, want)
	}
}

// CheckBlob checks that repo holds the blob d and, when want is not nil,
// that its bytes are want.
func (reg *Registry) CheckBlob(t testing.TB, repo string, d digest.Digest, want []byte) {
	t.Helper()
	c, err := reg.store.Blob(repo, d)
	if err != nil {
		t.Errorf("ocitest: blob %s in %s: %v", d, repo, err)
		return
	}
	if want != nil && !bytes.Equal(c.Bytes(), want) {
		t.Errorf("ocitest: blob %s in %s has %d bytes that differ from the %d wanted", d, repo, c.Size(), len(want))
	}
}

// CheckReferrers checks that the referrers of subject in repo are exactly
// want, in push order.
func (reg *Registry) CheckReferrers(t testing.TB, repo string, subject digest.Digest, want ...digest.Digest) {
	t.Helper()
	got := []digest.Digest{}
	for _, d := range reg.store.Referrers(repo, subject, "") {
		got = append(got, d.Digest)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ocitest: referrers of %s in %s differ (-want +got):\n%s", subject, repo, diff)
	}
}
