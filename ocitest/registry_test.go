package ocitest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of this file are prefixed "rg" so they cannot clash with the
// helpers other test files of the package define.

// rgWait is how long a test waits for something that should be immediate.
const rgWait = 5 * time.Second

// rgRefused fails the test unless nothing accepts connections at host.
func rgRefused(t testing.TB, host string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", host, rgWait)
	if err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections", host)
	}
}

// rgPing GETs /v2/ with the registry's own client.
func rgPing(t testing.TB, reg *Registry) {
	t.Helper()
	resp := do(t, reg, "GET", "/v2/", nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Docker-Distribution-API-Version", "registry/2.0")
}

func TestNewRegistersCleanup(t *testing.T) {
	var reg *Registry
	t.Run("inner", func(t *testing.T) {
		reg = New(t)
		rgPing(t, reg)
	})
	if reg == nil {
		t.Fatal("subtest did not start a registry")
	}
	// The subtest's cleanup closed the server.
	rgRefused(t, reg.Host())
	if _, err := reg.Client().Get(reg.URL() + "/v2/"); err == nil {
		t.Error("GET after cleanup succeeded")
	}
	// Closing again by hand is harmless.
	reg.Close()
}

func TestStartClose(t *testing.T) {
	reg, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	rgPing(t, reg)
	host := reg.Host()
	reg.Close()
	rgRefused(t, host)

	done := make(chan struct{})
	go func() {
		reg.Close() // a second Close does nothing and returns
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(rgWait):
		t.Fatal("second Close did not return")
	}
}

func TestHostURLRef(t *testing.T) {
	reg := New(t)
	host := reg.Host()
	if !regexp.MustCompile(`^127\.0\.0\.1:[1-9][0-9]*$`).MatchString(host) {
		t.Errorf("Host() = %q, want 127.0.0.1:<port>", host)
	}
	if got, want := reg.URL(), "http://"+host; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	tests := map[string]string{
		"a/b:c":             host + "/a/b:c",
		"team/app":          host + "/team/app",
		"x@" + string(rgD0): host + "/x@" + string(rgD0),
	}
	for ref, want := range tests {
		if got := reg.Ref(ref); got != want {
			t.Errorf("Ref(%q) = %q, want %q", ref, got, want)
		}
	}
	if reg.Store() == nil || reg.Store() != reg.Store() {
		t.Error("Store() is nil or not stable")
	}
}

var rgD0 = digest.FromString("ocitest registry_test")

func TestClient(t *testing.T) {
	reg := New(t)
	img := newTestImage("client", nil, "")
	pushImage(t, reg, "team/app", "v1", img)

	resp, err := reg.Client().Get(reg.URL() + "/v2/team/app/manifests/v1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, img.Manifest) {
		t.Errorf("GET with Client(): %d %q", resp.StatusCode, body)
	}
}

func TestWithTLS(t *testing.T) {
	reg := New(t, WithTLS())
	if !strings.HasPrefix(reg.URL(), "https://") {
		t.Fatalf("URL() = %q, want https", reg.URL())
	}
	if got, want := reg.URL(), "https://"+reg.Host(); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if !strings.HasPrefix(reg.Host(), "127.0.0.1:") {
		t.Errorf("Host() = %q", reg.Host())
	}
	if got := reg.Ref("a/b:c"); got != reg.Host()+"/a/b:c" {
		t.Errorf("Ref = %q", got)
	}

	// The registry's client trusts the certificate; the whole API works.
	rgPing(t, reg)
	img := newTestImage("tls", nil, "")
	pushImage(t, reg, "team/app", "v1", img)
	resp := do(t, reg, "GET", "/v2/team/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	mfWantBody(t, resp, img.Manifest)

	// A client that does not trust it fails the handshake.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if r, err := (&http.Client{Transport: tr, Timeout: rgWait}).Get(reg.URL() + "/v2/"); err == nil {
		r.Body.Close()
		t.Error("an untrusting client connected")
	}
}

func TestWithStoreShared(t *testing.T) {
	store := memstore.New()
	// Content seeded before the servers start.
	seeded, err := store.PutBlob("team/seed", "", strings.NewReader("seeded"), -1)
	if err != nil {
		t.Fatal(err)
	}
	r1 := New(t, WithStore(store))
	r2 := New(t, WithStore(store))
	if r1.Store() != store || r2.Store() != store {
		t.Fatal("Store() is not the store given to WithStore")
	}
	if r1.Host() == r2.Host() {
		t.Fatal("two registries on one address")
	}

	img := newTestImage("shared", nil, "")
	pushImage(t, r1, "team/app", "v1", img)
	resp := do(t, r2, "GET", "/v2/team/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	mfWantBody(t, resp, img.Manifest)
	wantStatus(t, do(t, r2, "GET", "/v2/team/seed/blobs/"+string(seeded.Digest), nil), http.StatusOK)

	// A delete through one is seen through the other.
	wantStatus(t, do(t, r2, "DELETE", "/v2/team/app/manifests/v1", nil), http.StatusAccepted)
	wantError(t, do(t, r1, "GET", "/v2/team/app/manifests/v1", nil), 404, memstore.CodeManifestUnknown)

	// Closing one leaves the other (and the store) serving.
	r1.Close()
	wantStatus(t, do(t, r2, "GET", "/v2/team/app/manifests/"+string(img.Digest), nil), http.StatusOK)
}

// rgLog collects log lines safely from handler goroutines.
type rgLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *rgLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *rgLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func TestWithLogf(t *testing.T) {
	var log rgLog
	reg := New(t, WithLogf(log.logf))
	img := newTestImage("logf", nil, "")
	requests := []struct {
		method, path string
		body         []byte
		header       []string
		status       int
	}{
		{"GET", "/v2/", nil, nil, 200},
		{"POST", "/v2/team/app/blobs/uploads/?digest=" + string(digest.FromBytes(img.Config)), img.Config, nil, 201},
		{"POST", "/v2/team/app/blobs/uploads/?digest=" + string(digest.FromBytes(img.Layer)), img.Layer, nil, 201},
		{"PUT", "/v2/team/app/manifests/v1", img.Manifest, []string{"Content-Type: " + ocispec.MediaTypeImageManifest}, 201},
		{"HEAD", "/v2/team/app/manifests/v1", nil, nil, 200},
		{"GET", "/v2/team/app/manifests/nope", nil, nil, 404},
		{"GET", "/v2/team/app/tags/list", nil, nil, 200},
		{"DELETE", "/v2/team/app/tags/list", nil, nil, 405},
		{"GET", "/v2/Bad/tags/list", nil, nil, 400},
	}
	for _, r := range requests {
		wantStatus(t, do(t, reg, r.method, r.path, r.body, r.header...), r.status)
	}
	// Close waits for the handlers, so every line has been logged.
	reg.Close()

	lines := log.get()
	if len(lines) != len(requests) {
		t.Fatalf("%d log lines for %d requests:\n%s", len(lines), len(requests), strings.Join(lines, "\n"))
	}
	for i, r := range requests {
		line := lines[i]
		path, _, _ := strings.Cut(r.path, "?")
		for _, want := range []string{r.method, path, fmt.Sprint(r.status)} {
			if !strings.Contains(line, want) {
				t.Errorf("log line %q lacks %q", line, want)
			}
		}
		if strings.Contains(line, "\n") {
			t.Errorf("log line %q spans several lines", line)
		}
	}
}

func TestHandlerServedElsewhere(t *testing.T) {
	reg := New(t)
	ts := httptest.NewServer(reg.Handler())
	defer ts.Close()

	img := newTestImage("handler", nil, "")
	for _, b := range [][]byte{img.Config, img.Layer} {
		resp, err := ts.Client().Post(ts.URL+"/v2/team/app/blobs/uploads/?digest="+string(digest.FromBytes(b)), "application/octet-stream", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("blob push through the other server: %d", resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("PUT", ts.URL+"/v2/team/app/manifests/v1", bytes.NewReader(img.Manifest))
	req.Header.Set("Content-Type", ocispec.MediaTypeImageManifest)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("manifest push through the other server: %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != string(img.Digest) {
		t.Errorf("Docker-Content-Digest = %q", got)
	}

	// Same store behind both servers.
	got := do(t, reg, "GET", "/v2/team/app/manifests/v1", nil)
	wantStatus(t, got, http.StatusOK)
	mfWantBody(t, got, img.Manifest)
}

// TestCloseStuckClient checks that Close returns while a client is stuck
// in the middle of a request body: it sent the headers of a request with
// Content-Length 100 and then nothing.
func TestCloseStuckClient(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string // {upload} is an upload session of team/app
		// expect100 makes the client wait for "100 Continue", which the
		// server sends when the handler starts reading the body: Close is
		// then called with the handler surely blocked in that read.
		expect100 bool
		// rounds repeats the check: without the 100 Continue to wait for,
		// Close races with the server reading the headers, and each round
		// is another chance to lose that race.
		rounds int
	}{
		{"manifest PUT", "PUT", "/v2/team/app/manifests/v1", true, 1},
		{"monolithic blob POST", "POST", "/v2/team/app/blobs/uploads/?digest=" + string(rgD0), true, 1},
		{"chunk PATCH", "PATCH", "{upload}", true, 1},
		{"upload PUT", "PUT", "{upload}?digest=" + string(rgD0), true, 1},
		{"manifest PUT without Expect", "PUT", "/v2/team/app/manifests/v1", false, 30},
		{"chunk PATCH without Expect", "PATCH", "{upload}", false, 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range tc.rounds {
				rgStuckClientRound(t, tc.method, tc.path, tc.expect100)
			}
		})
	}
}

// rgStuckClientRound starts a registry, leaves a raw client stuck in the
// body of a request, and requires Close to return promptly.
func rgStuckClientRound(t *testing.T, method, path string, expect100 bool) {
	t.Helper()
	reg, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	resp := do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil)
	wantStatus(t, resp, http.StatusAccepted)
	path = strings.ReplaceAll(path, "{upload}", resp.Header.Get("Location"))

	conn, err := net.DialTimeout("tcp", reg.Host(), rgWait)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * rgWait))
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n",
		method, path, reg.Host())
	if expect100 {
		head += "Expect: 100-continue\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if expect100 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for 100 Continue: %v", err)
		}
		if !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("got %q before the body was sent, want 100 Continue", line)
		}
	}

	done := make(chan struct{})
	go func() {
		reg.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(rgWait):
		t.Fatal("Close hangs on a client stuck mid-request")
	}
	// The stuck connection was cut: reading ends (EOF, reset, or at most
	// an error response) instead of blocking.
	_, err = io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Error("the stuck connection is still open after Close")
	}
	rgRefused(t, reg.Host())
}
