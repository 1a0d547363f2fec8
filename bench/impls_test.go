package bench

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"cuelabs.dev/go/oci/ociregistry/ocimem"
	"cuelabs.dev/go/oci/ociregistry/ociserver"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/opencontainers/go-digest"
)

// impl is one registry implementation under test.
type impl struct {
	name  string
	start func(tb testing.TB) *server
}

// impls are the implementations every workload runs against, the floor
// first. Sub-benchmarks are named impl=<name>, so benchstat -col /impl
// puts them side by side.
var impls = []impl{
	{"floor", startFloor},
	{"ocifixture", startOcifixture},
	{"ggcr", startGGCR},
	{"cue", startCue},
}

// registries are the implementations that store content (client-driven
// workloads and the heap measure have no floor).
var registries = impls[1:]

// server is a running implementation: its base URL, its handler (for
// seeding without the network) and how to seed it.
type server struct {
	name  string
	url   string
	h     http.Handler
	reg   *ocitest.Registry // ocifixture only: seeded through its store
	floor *floor            // floor only: answers are registered, not stored
	close func()
}

func quietServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	return srv
}

func startFloor(tb testing.TB) *server {
	f := newFloor()
	srv := quietServer(f)
	return &server{name: "floor", url: srv.URL, h: f, floor: f, close: srv.Close}
}

func startOcifixture(tb testing.TB) *server {
	reg, err := ocitest.Start()
	if err != nil {
		tb.Fatal(err)
	}
	return &server{name: "ocifixture", url: reg.URL(), h: reg.Handler(), reg: reg, close: reg.Close}
}

func startGGCR(tb testing.TB) *server {
	h := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)), ggcr.WithReferrersSupport(true))
	srv := quietServer(h)
	return &server{name: "ggcr", url: srv.URL, h: h, close: srv.Close}
}

func startCue(tb testing.TB) *server {
	h := ociserver.New(ocimem.New(), nil)
	srv := quietServer(h)
	return &server{name: "cue", url: srv.URL, h: h, close: srv.Close}
}

// client is the one keep-alive HTTP client of every raw-HTTP workload.
var client = &http.Client{Transport: &http.Transport{
	DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	MaxIdleConns:        64,
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     30 * time.Second,
	DisableCompression:  true,
}}

// serveLocal runs a request through h in process, for seeding.
func serveLocal(tb testing.TB, h http.Handler, method, target, contentType string, body []byte, want ...int) {
	tb.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, w := range want {
		if rec.Code == w {
			return
		}
	}
	tb.Fatalf("seeding %s %s: %d %s", method, target, rec.Code, rec.Body.String())
}

// putBlob stores data as a blob of repo.
func (s *server) putBlob(tb testing.TB, repo string, data []byte) digest.Digest {
	tb.Helper()
	d := digest.FromBytes(data)
	switch {
	case s.floor != nil:
		s.floor.setBlob("/v2/"+repo+"/blobs/"+string(d), data)
	case s.reg != nil:
		if _, err := s.reg.Store().PutBlob(repo, d, bytes.NewReader(data), int64(len(data))); err != nil {
			tb.Fatal(err)
		}
	default:
		serveLocal(tb, s.h, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+string(d), "application/octet-stream", data, http.StatusCreated)
	}
	return d
}

// putManifest stores body as a manifest of repo under ref (a tag or its
// digest) and under each of tags.
func (s *server) putManifest(tb testing.TB, repo, ref, mediaType string, body []byte, tags ...string) digest.Digest {
	tb.Helper()
	d := digest.FromBytes(body)
	switch {
	case s.floor != nil:
		for _, r := range append([]string{ref, string(d)}, tags...) {
			s.floor.setManifest("/v2/"+repo+"/manifests/"+r, mediaType, d, body)
		}
	case s.reg != nil:
		if _, err := s.reg.Store().PutManifest(repo, ref, mediaType, body, tags...); err != nil {
			tb.Fatal(err)
		}
	default:
		for _, r := range append([]string{ref}, tags...) {
			serveLocal(tb, s.h, http.MethodPut, "/v2/"+repo+"/manifests/"+r, mediaType, body, http.StatusCreated)
		}
	}
	return d
}

// canned gives the floor a prebuilt answer for a GET of path; the
// registries compute it themselves.
func (s *server) canned(path, contentType string, body []byte) {
	if s.floor != nil {
		s.floor.setManifest(path, contentType, "", body)
	}
}

// do sends one request and reads the answer to its end, failing on an
// unexpected status.
func do(tb testing.TB, method, url string, body io.Reader, size int64, header http.Header, want int) *http.Response {
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		tb.Fatalf("%s %s: %s, want %d", method, url, resp.Status, want)
	}
	return resp
}

// get is do for a GET or HEAD that checks the length of the answer
// (unless wantLen is negative).
func get(tb testing.TB, method, url string, header http.Header, wantLen int64) {
	resp := do(tb, method, url, nil, 0, header, http.StatusOK)
	if wantLen >= 0 && resp.ContentLength != wantLen {
		tb.Fatalf("%s %s: Content-Length %d, want %d", method, url, resp.ContentLength, wantLen)
	}
}
