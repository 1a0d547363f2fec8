package ocitest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/opencontainers/go-digest"
)

// Helpers of this file are prefixed "as" so they cannot clash with the
// helpers other test files of the package define.

// asFakeTB is a testing.TB that records what an assertion reports instead
// of failing the test. Methods it does not override panic (the embedded
// TB is nil), so an assertion calling something unexpected shows up.
type asFakeTB struct {
	testing.TB
	mu       sync.Mutex
	helpers  int
	errors   []string
	fatals   []string
	logs     []string
	failed   bool
	cleanups []func()
}

func (f *asFakeTB) Helper() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.helpers++
}

func (f *asFakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
	f.failed = true
}

func (f *asFakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	f.failed = true
}

func (f *asFakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func (f *asFakeTB) Log(args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintln(args...))
}

func (f *asFakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *asFakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// runCleanups runs the registered cleanups last first, as testing does.
func (f *asFakeTB) runCleanups() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// asWantSilent fails t unless the fake saw no failure and the assertion
// marked itself a helper.
func asWantSilent(t *testing.T, f *asFakeTB, what string) {
	t.Helper()
	if len(f.errors) > 0 || len(f.fatals) > 0 {
		t.Errorf("%s reported a failure on a match: errors %q fatals %q", what, f.errors, f.fatals)
	}
	if f.helpers == 0 {
		t.Errorf("%s did not call t.Helper()", what)
	}
}

// asWantOneError fails t unless the fake got exactly one Errorf (and no
// Fatalf), with every fragment in its message, and returns it.
func asWantOneError(t *testing.T, f *asFakeTB, what string, fragments ...string) string {
	t.Helper()
	if len(f.fatals) > 0 {
		t.Errorf("%s used Fatalf, want Errorf: %q", what, f.fatals)
	}
	if len(f.errors) != 1 {
		t.Errorf("%s reported %d errors, want 1: %q", what, len(f.errors), f.errors)
		if len(f.errors) == 0 {
			return ""
		}
	}
	if f.helpers == 0 {
		t.Errorf("%s did not call t.Helper()", what)
	}
	msg := f.errors[0]
	for _, frag := range fragments {
		if !strings.Contains(msg, frag) {
			t.Errorf("%s message lacks %q:\n%s", what, frag, msg)
		}
	}
	return msg
}

// asDiffLine matches a go-cmp diff line starting with marker ("-" or
// "+") and holding text; go-cmp varies its spacing (it mixes in
// non-breaking spaces), so any run of blanks matches a space in text.
func asDiffLine(marker, text string) *regexp.Regexp {
	blank := `[\s\x{00a0}]+`
	parts := strings.Fields(text)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(marker) + blank + strings.Join(parts, blank))
}

// asPushPull is a small push and pull: two monolithic blob pushes, a
// manifest push by tag, a manifest and a blob pull.
func asPushPull(t *testing.T, reg *Registry) testImage {
	t.Helper()
	img := newTestImage("assert", nil, "")
	pushImage(t, reg, "team/app", "v1", img)
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil), 200)
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/blobs/"+string(digest.FromBytes(img.Layer)), nil), 200)
	return img
}

// asPushPullWant is what asPushPull leaves recorded, written out by hand.
func asPushPullWant(img testImage) []Request {
	cfgD, layerD := string(digest.FromBytes(img.Config)), string(digest.FromBytes(img.Layer))
	return []Request{
		{Kind: UploadMonolithic, Method: "POST", Path: "/v2/team/app/blobs/uploads/", Query: url.Values{"digest": {cfgD}},
			Repo: "team/app", BodySize: int64(len(img.Config)), Status: 201},
		{Kind: UploadMonolithic, Method: "POST", Path: "/v2/team/app/blobs/uploads/", Query: url.Values{"digest": {layerD}},
			Repo: "team/app", BodySize: int64(len(img.Layer)), Status: 201},
		{Kind: ManifestPut, Method: "PUT", Path: "/v2/team/app/manifests/v1", Repo: "team/app", Reference: "v1",
			BodySize: int64(len(img.Manifest)), Status: 201},
		{Kind: ManifestGet, Method: "GET", Path: "/v2/team/app/manifests/v1", Repo: "team/app", Reference: "v1",
			Status: 200, ResponseSize: int64(len(img.Manifest))},
		{Kind: BlobGet, Method: "GET", Path: "/v2/team/app/blobs/" + layerD, Repo: "team/app", Reference: layerD,
			Status: 200, ResponseSize: int64(len(img.Layer))},
	}
}

func TestAssertRequests(t *testing.T) {
	reg := New(t)
	img := asPushPull(t, reg)
	want := asPushPullWant(img)

	// Against the real t: the hand-written list matches.
	reg.AssertRequests(t, want, IgnoreVolatile())

	t.Run("equal is silent", func(t *testing.T) {
		f := &asFakeTB{}
		reg.AssertRequests(f, want, IgnoreVolatile())
		asWantSilent(t, f, "AssertRequests")
	})
	t.Run("status differs", func(t *testing.T) {
		bad := asPushPullWant(img)
		bad[3].Status = 404
		f := &asFakeTB{}
		reg.AssertRequests(f, bad, IgnoreVolatile())
		msg := asWantOneError(t, f, "AssertRequests", "-want +got", "Status", "404", "200")
		// The diff points at the one differing field, not whole values,
		// and in the right direction.
		if strings.Contains(msg, "BodySize") {
			t.Errorf("diff shows unchanged fields:\n%s", msg)
		}
		if !asDiffLine("-", "Status: 404").MatchString(msg) || !asDiffLine("+", "Status: 200").MatchString(msg) {
			t.Errorf("diff does not read -want +got:\n%s", msg)
		}
	})
	t.Run("missing request", func(t *testing.T) {
		f := &asFakeTB{}
		reg.AssertRequests(f, want[:4], IgnoreVolatile())
		// go-cmp shows whole missing or extra Requests by their String.
		asWantOneError(t, f, "AssertRequests", "-want +got", "GET /v2/team/app/blobs/sha256:")
	})
	t.Run("extra request", func(t *testing.T) {
		extra := append(asPushPullWant(img), Request{Kind: Ping, Method: "GET", Path: "/v2/", Status: 200})
		f := &asFakeTB{}
		reg.AssertRequests(f, extra, IgnoreVolatile())
		asWantOneError(t, f, "AssertRequests", "-want +got", "GET /v2/ -> 200")
	})
	t.Run("volatile fields count without IgnoreVolatile", func(t *testing.T) {
		f := &asFakeTB{}
		reg.AssertRequests(f, want)
		asWantOneError(t, f, "AssertRequests", "-want +got", "Seq")
	})
	t.Run("nil and empty are equal", func(t *testing.T) {
		empty := asPushPullWant(img)
		for i := range empty {
			if empty[i].Query == nil {
				empty[i].Query = url.Values{}
			}
			empty[i].Quirks, empty[i].Faults = []string{}, []string{}
		}
		f := &asFakeTB{}
		reg.AssertRequests(f, empty, IgnoreVolatile())
		asWantSilent(t, f, "AssertRequests")
	})
	t.Run("no requests", func(t *testing.T) {
		empty := New(t)
		f := &asFakeTB{}
		empty.AssertRequests(f, nil)
		asWantSilent(t, f, "AssertRequests")
		f = &asFakeTB{}
		empty.AssertRequests(f, want[:1], IgnoreVolatile())
		asWantOneError(t, f, "AssertRequests", "-want +got", "POST /v2/team/app/blobs/uploads/?digest=")
	})
}

func TestAssertIgnoreHeaders(t *testing.T) {
	reg := New(t)
	do(t, reg, "GET", "/v2/", nil, "X-Trace: abc")
	// Everything but the volatile numbers is spelled out, headers included.
	want := []Request{{
		Kind: Ping, Method: "GET", Path: "/v2/", Status: 200, ResponseSize: 3,
		Header: http.Header{"X-Trace": {"abc"}},
		ResponseHeader: http.Header{
			// Keys in canonical form, as http.Header.Set leaves them.
			"Docker-Distribution-Api-Version": {"registry/2.0"},
			"Content-Type":                    {"application/json"},
		},
	}}
	numbers := cmpopts.IgnoreFields(Request{}, "Seq", "Time", "Duration")

	f := &asFakeTB{}
	reg.AssertRequests(f, want, numbers, IgnoreHeaders("User-Agent", "Accept-Encoding", "Content-Length"))
	asWantSilent(t, f, "AssertRequests with IgnoreHeaders")

	// Without dropping them, the client's own headers make a difference.
	f = &asFakeTB{}
	reg.AssertRequests(f, want, numbers, IgnoreHeaders("Content-Length"))
	asWantOneError(t, f, "AssertRequests without IgnoreHeaders", "-want +got", "User-Agent", "Accept-Encoding")

	// A header not ignored still counts.
	bad := []Request{want[0]}
	bad[0].Header = http.Header{"X-Trace": {"xyz"}}
	f = &asFakeTB{}
	reg.AssertRequests(f, bad, numbers, IgnoreHeaders("User-Agent", "Accept-Encoding", "Content-Length"))
	asWantOneError(t, f, "AssertRequests with a differing header", "-want +got", "xyz", "abc")

	// Names are matched as header names (canonical form).
	f = &asFakeTB{}
	reg.AssertRequests(f, want, numbers, IgnoreHeaders("user-agent", "accept-encoding", "content-length"))
	asWantSilent(t, f, "AssertRequests with lower-case IgnoreHeaders")

	// IgnoreHeaders leaves the recorded headers alone.
	got, _ := reg.LastRequest()
	if got.Header.Get("User-Agent") == "" || got.ResponseHeader.Get("Content-Length") == "" {
		t.Errorf("IgnoreHeaders changed the record: %v %v", got.Header, got.ResponseHeader)
	}
}

func TestAssertRequestLines(t *testing.T) {
	reg := New(t)
	img := asPushPull(t, reg)
	layer := string(digest.FromBytes(img.Layer))
	gets := Match{Method: "GET"}
	lines := []string{
		"GET /v2/team/app/manifests/v1 -> 200",
		"GET /v2/team/app/blobs/" + layer + " -> 200",
	}

	reg.AssertRequestLines(t, gets, lines...)

	f := &asFakeTB{}
	reg.AssertRequestLines(f, gets, lines...)
	asWantSilent(t, f, "AssertRequestLines")

	f = &asFakeTB{}
	reg.AssertRequestLines(f, gets, "GET /v2/team/app/manifests/v1 -> 404", lines[1])
	// go-cmp diffs the differing line within itself: its common part,
	// then what was wanted and what was got.
	msg := asWantOneError(t, f, "AssertRequestLines", "-want +got", `"GET /v2/team/app/manifests/v1 -> "`)
	if !asDiffLine("-", `"404",`).MatchString(msg) || !asDiffLine("+", `"200",`).MatchString(msg) {
		t.Errorf("diff does not read -want +got:\n%s", msg)
	}

	f = &asFakeTB{}
	reg.AssertRequestLines(f, gets, lines[0])
	asWantOneError(t, f, "AssertRequestLines with a line missing", "-want +got", layer)

	// No lines wanted, none selected: silent; some selected: reported.
	f = &asFakeTB{}
	reg.AssertRequestLines(f, Match{Kind: Catalog})
	asWantSilent(t, f, "AssertRequestLines with nothing")
	f = &asFakeTB{}
	reg.AssertRequestLines(f, Match{Kind: ManifestPut})
	asWantOneError(t, f, "AssertRequestLines", "-want +got", "PUT /v2/team/app/manifests/v1 -> 201")
}

func TestAssertCount(t *testing.T) {
	reg := New(t)
	asPushPull(t, reg)
	reg.AssertCount(t, Match{Kind: UploadMonolithic}, 2)

	f := &asFakeTB{}
	reg.AssertCount(f, Match{Kind: UploadMonolithic}, 2)
	asWantSilent(t, f, "AssertCount")
	f = &asFakeTB{}
	reg.AssertCount(f, Match{Kind: Catalog}, 0)
	asWantSilent(t, f, "AssertCount of none")

	f = &asFakeTB{}
	reg.AssertCount(f, Match{Kind: UploadMonolithic}, 3)
	asWantOneError(t, f, "AssertCount", "2 requests match, want 3", "POST /v2/team/app/blobs/uploads/?digest=")
	f = &asFakeTB{}
	reg.AssertCount(f, Match{Kind: Catalog}, 1)
	asWantOneError(t, f, "AssertCount", "0 requests match, want 1", "none")
}

func TestAssertCheckTag(t *testing.T) {
	reg := New(t)
	img := newTestImage("tag", nil, "")
	other := newTestImage("other", nil, "")
	pushImage(t, reg, "team/app", "v1", img)
	reg.CheckTag(t, "team/app", "v1", img.Digest)

	f := &asFakeTB{}
	reg.CheckTag(f, "team/app", "v1", img.Digest)
	asWantSilent(t, f, "CheckTag")

	f = &asFakeTB{}
	reg.CheckTag(f, "team/app", "v1", other.Digest)
	asWantOneError(t, f, "CheckTag, other digest", "team/app:v1", string(img.Digest), string(other.Digest))

	f = &asFakeTB{}
	reg.CheckTag(f, "team/app", "v2", img.Digest)
	asWantOneError(t, f, "CheckTag, unknown tag", "team/app:v2", "MANIFEST_UNKNOWN")

	f = &asFakeTB{}
	reg.CheckTag(f, "team/none", "v1", img.Digest)
	asWantOneError(t, f, "CheckTag, unknown repository", "team/none:v1")
}

func TestAssertCheckBlob(t *testing.T) {
	reg := New(t)
	data := []byte("blob bytes")
	d := pushBlob(t, reg, "team/app", data)
	reg.CheckBlob(t, "team/app", d, data)

	f := &asFakeTB{}
	reg.CheckBlob(f, "team/app", d, data)
	asWantSilent(t, f, "CheckBlob")
	f = &asFakeTB{}
	reg.CheckBlob(f, "team/app", d, nil)
	asWantSilent(t, f, "CheckBlob without bytes")

	f = &asFakeTB{}
	reg.CheckBlob(f, "team/app", d, []byte("other bytes"))
	asWantOneError(t, f, "CheckBlob, other bytes", string(d), "differ")

	f = &asFakeTB{}
	reg.CheckBlob(f, "team/other", d, nil)
	asWantOneError(t, f, "CheckBlob, blob not in repository", string(d), "team/other", "BLOB_UNKNOWN")

	missing := digest.FromString("missing")
	f = &asFakeTB{}
	reg.CheckBlob(f, "team/app", missing, nil)
	asWantOneError(t, f, "CheckBlob, unknown blob", string(missing), "BLOB_UNKNOWN")
}

func TestAssertCheckReferrers(t *testing.T) {
	reg := New(t)
	subject := newTestImage("subject", nil, "")
	pushImage(t, reg, "team/app", "v1", subject)
	sig := newTestImage("sig", subject.descriptor(), "application/vnd.example.sig")
	sbom := newTestImage("sbom", subject.descriptor(), "application/vnd.example.sbom")
	pushImage(t, reg, "team/app", string(sig.Digest), sig)
	pushImage(t, reg, "team/app", string(sbom.Digest), sbom)

	reg.CheckReferrers(t, "team/app", subject.Digest, sig.Digest, sbom.Digest)

	f := &asFakeTB{}
	reg.CheckReferrers(f, "team/app", subject.Digest, sig.Digest, sbom.Digest)
	asWantSilent(t, f, "CheckReferrers")

	f = &asFakeTB{}
	reg.CheckReferrers(f, "team/app", subject.Digest, sbom.Digest, sig.Digest)
	asWantOneError(t, f, "CheckReferrers, other order", "-want +got", string(subject.Digest))

	f = &asFakeTB{}
	reg.CheckReferrers(f, "team/app", subject.Digest, sig.Digest)
	asWantOneError(t, f, "CheckReferrers, one missing from want", "-want +got", string(sbom.Digest))

	// No referrers: want none passes, want some fails.
	f = &asFakeTB{}
	reg.CheckReferrers(f, "team/app", sig.Digest)
	asWantSilent(t, f, "CheckReferrers of none")
	f = &asFakeTB{}
	reg.CheckReferrers(f, "team/other", subject.Digest, sig.Digest)
	asWantOneError(t, f, "CheckReferrers in another repository", "-want +got", string(sig.Digest))
}

// TestAssertNewLogsRequestsOnFailure runs New under a fake TB: when the test has
// failed, the cleanup logs the recorded request lines once; when it has
// not, nothing; either way the registry is closed.
func TestAssertNewLogsRequestsOnFailure(t *testing.T) {
	for _, failed := range []bool{true, false} {
		t.Run(fmt.Sprintf("failed=%v", failed), func(t *testing.T) {
			f := &asFakeTB{}
			reg := New(f)
			if len(f.cleanups) != 1 {
				t.Fatalf("New registered %d cleanups, want 1", len(f.cleanups))
			}
			wantStatus(t, do(t, reg, "GET", "/v2/", nil), 200)
			wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil), 404)
			url := reg.URL()
			f.failed = failed
			f.runCleanups()

			if !failed {
				if len(f.logs) != 0 {
					t.Errorf("passing test logged %q", f.logs)
				}
			} else {
				if len(f.logs) != 1 {
					t.Fatalf("failing test logged %d times, want once: %q", len(f.logs), f.logs)
				}
				log := f.logs[0]
				for _, line := range []string{"served 2 requests", "\n  GET /v2/ -> 200", "\n  GET /v2/team/app/manifests/v1 -> 404"} {
					if !strings.Contains(log, line) {
						t.Errorf("failure log lacks %q:\n%s", line, log)
					}
				}
			}
			if len(f.errors)+len(f.fatals) != 0 {
				t.Errorf("New reported %q %q", f.errors, f.fatals)
			}
			// The cleanup closed the registry.
			if _, err := recGet(&http.Client{}, url+"/v2/"); err == nil {
				t.Errorf("registry still serving after the cleanup ran")
			}
		})
	}
}

// TestAssertCheckTagByDigest checks that CheckTag accepts a digest
// reference too.
func TestAssertCheckTagByDigest(t *testing.T) {
	reg := New(t)
	img := newTestImage("bydigest", nil, "")
	pushImage(t, reg, "team/app", string(img.Digest), img)
	f := &asFakeTB{}
	reg.CheckTag(f, "team/app", string(img.Digest), img.Digest)
	asWantSilent(t, f, "CheckTag by digest")
	if !cmp.Equal(reg.Store().Snapshot().Repositories["team/app"].Tags, map[string]digest.Digest{}) {
		t.Errorf("a push by digest created tags: %v", reg.Store().Snapshot().Repositories["team/app"].Tags)
	}
}
