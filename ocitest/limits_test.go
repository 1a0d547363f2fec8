package ocitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of this file are prefixed "lt" so they cannot clash with the
// helpers other test files of the package define.

// ltEndless is a request body that never ends; it counts what was read.
type ltEndless struct{ n atomic.Int64 }

var ltXs = bytes.Repeat([]byte("x"), 32<<10)

func (r *ltEndless) Read(p []byte) (int, error) {
	n := copy(p, ltXs)
	r.n.Add(int64(n))
	return n, nil
}

// ltOpen opens an upload session of repo and returns its Location.
func ltOpen(t testing.TB, reg *Registry, repo string) string {
	t.Helper()
	resp := do(t, reg, "POST", "/v2/"+repo+"/blobs/uploads/", nil)
	wantStatus(t, resp, http.StatusAccepted)
	return resp.Header.Get("Location")
}

// ltMessage is the first error message of an error response.
func ltMessage(t testing.TB, resp response) string {
	t.Helper()
	var body errorBody
	if err := json.Unmarshal(resp.Body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	return body.Errors[0].Message
}

// ltUsage fails the test unless the store's accounting is want.
func ltUsage(t testing.TB, reg *Registry, want memstore.Usage) {
	t.Helper()
	if got := reg.Store().Usage(); got != want {
		t.Errorf("store usage = %+v, want %+v", got, want)
	}
}

// An endless body, sent chunked by net/http's client as a client under
// test would, is cut off with 413 SIZE_INVALID when it passes the blob
// limit or the store's byte limit; nothing is stored, nothing stays
// charged, and the session it was sent to is as it was.
func TestLimitsEndlessBodyHTTP(t *testing.T) {
	const limit = 256 << 10
	for _, tc := range []struct {
		name string
		opts []memstore.Option
	}{
		{"blob limit", []memstore.Option{memstore.WithMaxBlobSize(limit)}},
		{"store limit", []memstore.Option{memstore.WithMaxBlobSize(0), memstore.WithMaxStoreBytes(limit)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := New(t, WithStoreOptions(tc.opts...))
			img := newTestImage("limits", nil, "")
			pushImage(t, reg, "team/app", "v1", img)
			upload := ltOpen(t, reg, "team/app")
			wantStatus(t, do(t, reg, "PATCH", upload, []byte("hello")), http.StatusAccepted)
			usage := reg.Store().Usage()
			d := string(digest.FromString("anything"))
			for _, rq := range []struct{ method, path string }{
				{"POST", "/v2/team/app/blobs/uploads/?digest=" + d},
				{"POST", "/v2/team/new/blobs/uploads/?digest=" + d},
				{"PATCH", upload},
				{"PUT", upload + "?digest=" + d},
			} {
				before := reg.Store().Snapshot()
				body := &ltEndless{}
				resp := mfDoReader(t, reg, rq.method, rq.path, body, "Content-Type: application/octet-stream")
				wantError(t, resp, http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
				if msg := ltMessage(t, resp); !strings.Contains(msg, fmt.Sprint(limit)) {
					t.Errorf("%s %s: message %q does not name the limit", rq.method, rq.path, msg)
				}
				unchanged(t, reg, before)
				ltUsage(t, reg, usage)
				reqs := reg.Requests()
				if got := reqs[len(reqs)-1].BodySize; got > 2*limit {
					t.Errorf("%s %s: the registry read %d bytes, over twice the limit", rq.method, rq.path, got)
				}
			}
			// The session still works.
			wantStatus(t, do(t, reg, "PUT", upload+"?digest="+string(digest.FromString("hello world")), []byte(" world")), http.StatusCreated)
		})
	}
}

// The same over a raw connection: chunks written for ever, the answer read
// while they are. The default limits apply when no option is given; a
// Content-Length past the default 1 GiB blob limit is refused before a
// byte of the body is sent.
func TestLimitsEndlessBodyRawHTTP(t *testing.T) {
	reg := New(t, WithStoreOptions(memstore.WithMaxBlobSize(64<<10)))
	before := reg.Store().Snapshot()
	conn, err := net.Dial("tcp", reg.Host())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v2/team/app/blobs/uploads/?digest=%s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
		digest.FromString("x"), reg.Host())
	var sent atomic.Int64
	go func() {
		chunk := fmt.Appendf(nil, "%x\r\n%s\r\n", len(ltXs), ltXs)
		for {
			n, err := conn.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to an endless body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, response{Status: resp.StatusCode, Header: resp.Header, Body: b}, http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
	unchanged(t, reg, before)
	ltUsage(t, reg, memstore.Usage{})

	// Default limits.
	def := New(t)
	upload := ltOpen(t, def, "team/app")
	before = def.Store().Snapshot()
	for _, rq := range []struct{ method, path string }{
		{"POST", "/v2/team/app/blobs/uploads/?digest=" + string(digest.FromString("x"))},
		{"PATCH", upload},
		{"PUT", upload + "?digest=" + string(digest.FromString("x"))},
	} {
		method, path := rq.method, rq.path
		resp := ltRaw(t, def, fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", method, path, int64(memstore.DefaultMaxBlobSize)+1))
		wantError(t, resp, http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
		if msg := ltMessage(t, resp); !strings.Contains(msg, "1073741824") {
			t.Errorf("message %q does not name the 1 GiB limit", msg)
		}
		unchanged(t, def, before)
	}
}

// ltRaw sends raw request bytes over a new connection, closes the write
// side, and reads one response.
func ltRaw(t testing.TB, reg *Registry, raw string) response {
	t.Helper()
	conn, err := net.Dial("tcp", reg.Host())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading response to %q: %v", raw[:min(len(raw), 80)], err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Over the session limit a new session is 429 TOOMANYREQUESTS; the
// sessions already open carry on, and ending one makes room.
func TestLimitsTooManyUploadsHTTP(t *testing.T) {
	reg := New(t, WithStoreOptions(memstore.WithMaxUploads(2)))
	img := newTestImage("limits", nil, "")
	pushImage(t, reg, "team/app", "v1", img)
	first := ltOpen(t, reg, "team/app")
	second := ltOpen(t, reg, "team/other")
	before := reg.Store().Snapshot()
	missing := string(digest.FromString("not stored"))
	for _, path := range []string{
		"/v2/team/app/blobs/uploads/",
		"/v2/team/app/blobs/uploads/?digest-algorithm=sha512",
		"/v2/team/third/blobs/uploads/",
		"/v2/team/app/blobs/uploads/?mount=" + missing + "&from=team/app", // a mount that falls back to a session
	} {
		resp := do(t, reg, "POST", path, nil)
		wantError(t, resp, http.StatusTooManyRequests, memstore.CodeTooManyRequests)
		if msg := ltMessage(t, resp); !strings.Contains(msg, "2 upload sessions") {
			t.Errorf("POST %s: message %q does not say how many sessions are open", path, msg)
		}
		if resp.Header.Get("Location") != "" {
			t.Errorf("POST %s: a refused session has a Location", path)
		}
		unchanged(t, reg, before)
	}
	// Pushes that need no session still work: a monolithic push, a mount.
	layer := digest.FromBytes(img.Layer)
	wantStatus(t, do(t, reg, "POST", "/v2/team/copy/blobs/uploads/?mount="+string(layer)+"&from=team/app", nil), http.StatusCreated)
	pushBlob(t, reg, "team/app", []byte("monolithic"))
	// The open sessions carry on.
	wantStatus(t, do(t, reg, "PATCH", first, []byte("abc")), http.StatusAccepted)
	wantStatus(t, do(t, reg, "GET", second, nil), http.StatusNoContent)
	wantStatus(t, do(t, reg, "PUT", first+"?digest="+string(digest.FromString("abcdef")), []byte("def")), http.StatusCreated)
	third := ltOpen(t, reg, "team/app")
	wantError(t, do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil), http.StatusTooManyRequests, memstore.CodeTooManyRequests)
	wantStatus(t, do(t, reg, "DELETE", second, nil), http.StatusNoContent)
	ltOpen(t, reg, "team/app")
	wantStatus(t, do(t, reg, "DELETE", third, nil), http.StatusNoContent)
}

// A push that would take the store past its byte limit is 413
// SIZE_INVALID and stores nothing; re-pushing what the store has costs
// nothing; deleting frees space.
func TestLimitsStoreFullHTTP(t *testing.T) {
	img := newTestImage("limits", nil, "")
	base := int64(len(img.Config) + len(img.Layer) + len(img.Manifest))
	const room = 100
	reg := New(t, WithStoreOptions(memstore.WithMaxStoreBytes(base+room)))
	pushImage(t, reg, "team/app", "v1", img)
	ltUsage(t, reg, memstore.Usage{Bytes: base})

	for _, b := range [][]byte{img.Config, img.Layer} {
		wantStatus(t, do(t, reg, "POST", "/v2/team/app2/blobs/uploads/?mount="+string(digest.FromBytes(b))+"&from=team/app", nil), http.StatusCreated)
	}
	ltUsage(t, reg, memstore.Usage{Bytes: base})
	if len(img.Manifest) <= room {
		t.Fatalf("test manifest of %d bytes fits in the room left", len(img.Manifest))
	}
	big := bytes.Repeat([]byte("b"), room+1)
	fits := bytes.Repeat([]byte("f"), room)
	before := reg.Store().Snapshot()
	mt := "Content-Type: " + ocispec.MediaTypeImageManifest
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    []byte
		chunked bool
		header  []string
	}{
		{name: "monolithic", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + string(digest.FromBytes(big)), body: big},
		{name: "monolithic chunked", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + string(digest.FromBytes(big)), body: big, chunked: true},
		{name: "monolithic, new repository", method: "POST", path: "/v2/team/new/blobs/uploads/?digest=" + string(digest.FromBytes(big)), body: big},
		// Manifests are kept once per repository: the same manifest in
		// another repository (whose blobs are mounted there, for free)
		// needs room again.
		{name: "manifest in another repository", method: "PUT", path: "/v2/team/app2/manifests/v1", body: img.Manifest, header: []string{mt}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp response
			if tc.chunked {
				resp = mfDoReader(t, reg, tc.method, tc.path, bytes.NewReader(tc.body), tc.header...)
			} else {
				resp = do(t, reg, tc.method, tc.path, tc.body, tc.header...)
			}
			wantError(t, resp, http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
			unchanged(t, reg, before)
		})
	}

	// Sessions: a chunk that does not fit is refused, the session keeps
	// what it had.
	upload := ltOpen(t, reg, "team/app")
	wantStatus(t, do(t, reg, "PATCH", upload, fits[:60]), http.StatusAccepted)
	before = reg.Store().Snapshot()
	resp := do(t, reg, "PATCH", upload, fits[:41])
	wantError(t, resp, http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
	if msg := ltMessage(t, resp); !strings.Contains(msg, fmt.Sprintf("limit of %d bytes", base+room)) {
		t.Errorf("message %q does not name the limit", msg)
	}
	resp = mfDoReader(t, reg, "PUT", upload+"?digest="+string(digest.FromBytes(bytes.Repeat([]byte("f"), 101))), bytes.NewReader(fits[:41]))
	wantError(t, resp, http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
	unchanged(t, reg, before)
	ltUsage(t, reg, memstore.Usage{Bytes: base + 60, Uploads: 1})
	wantStatus(t, do(t, reg, "DELETE", upload, nil), http.StatusNoContent)
	ltUsage(t, reg, memstore.Usage{Bytes: base})

	// Fill the store exactly.
	pushBlob(t, reg, "team/app", fits)
	ltUsage(t, reg, memstore.Usage{Bytes: base + room})
	before = reg.Store().Snapshot()
	wantError(t, do(t, reg, "POST", "/v2/team/app/blobs/uploads/?digest="+string(digest.FromString("x")), []byte("x")),
		http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
	unchanged(t, reg, before)
	// Re-pushing what the store has costs nothing: blobs by digest, mounts,
	// the same manifest again, more tags.
	pushImage(t, reg, "team/app", "v2", img)
	pushBlob(t, reg, "team/app", fits)
	pushBlob(t, reg, "team/elsewhere", img.Layer)
	wantStatus(t, do(t, reg, "POST", "/v2/team/mounted/blobs/uploads/?mount="+string(digest.FromBytes(fits))+"&from=team/app", nil), http.StatusCreated)
	ltUsage(t, reg, memstore.Usage{Bytes: base + room})

	// Deleting frees space: a blob's bytes go with its last link.
	resp = do(t, reg, "DELETE", "/v2/team/app/blobs/"+string(digest.FromBytes(fits)), nil)
	wantStatus(t, resp, http.StatusAccepted)
	ltUsage(t, reg, memstore.Usage{Bytes: base + room}) // still in team/mounted
	wantStatus(t, do(t, reg, "DELETE", "/v2/team/mounted/blobs/"+string(digest.FromBytes(fits)), nil), http.StatusAccepted)
	ltUsage(t, reg, memstore.Usage{Bytes: base})
	pushBlob(t, reg, "team/app", bytes.Repeat([]byte("n"), room))
}

// With a registry clock, sessions expire by it: 404 BLOB_UPLOAD_UNKNOWN
// once the TTL has passed, and their bytes are freed.
func TestLimitsUploadTTLHTTP(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	reg := New(t, WithClock(clock), WithStoreOptions(memstore.WithUploadTTL(time.Minute)))
	upload := ltOpen(t, reg, "team/app")
	wantStatus(t, do(t, reg, "PATCH", upload, []byte("hello")), http.StatusAccepted)
	clock.Advance(59 * time.Second)
	wantStatus(t, do(t, reg, "PATCH", upload, []byte(" world")), http.StatusAccepted)
	ltUsage(t, reg, memstore.Usage{Bytes: 11, Uploads: 1})
	clock.Advance(time.Second)

	before := reg.Store().Snapshot()
	if len(before.Uploads) != 0 {
		t.Errorf("expired session in the snapshot: %v", before.Uploads)
	}
	for _, rq := range []struct {
		method, path string
		body         []byte
	}{
		{"GET", upload, nil},
		{"HEAD", upload, nil},
		{"PATCH", upload, []byte("!")},
		{"PUT", upload + "?digest=" + string(digest.FromString("hello world")), nil},
		{"DELETE", upload, nil},
	} {
		resp := do(t, reg, rq.method, rq.path, rq.body)
		wantError(t, resp, http.StatusNotFound, memstore.CodeBlobUploadUnknown)
		unchanged(t, reg, before)
	}
	ltUsage(t, reg, memstore.Usage{})
	if _, err := reg.Store().StatBlob("team/app", digest.FromString("hello world")); err == nil {
		t.Error("the expired session's blob was stored")
	}

	// Without the option sessions never expire, whatever the clock says.
	clock2 := NewFakeClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	reg2 := New(t, WithClock(clock2))
	upload = ltOpen(t, reg2, "team/app")
	clock2.Advance(1000 * time.Hour)
	wantStatus(t, do(t, reg2, "PATCH", upload, []byte("hello")), http.StatusAccepted)

	// A store option's clock wins over the registry's.
	storeClock := NewFakeClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	reg3 := New(t, WithClock(clock2), WithStoreOptions(memstore.WithUploadTTL(time.Minute), memstore.WithClock(storeClock.Now)))
	upload = ltOpen(t, reg3, "team/app")
	clock2.Advance(time.Hour)
	wantStatus(t, do(t, reg3, "GET", upload, nil), http.StatusNoContent)
	storeClock.Advance(time.Hour)
	wantError(t, do(t, reg3, "GET", upload, nil), http.StatusNotFound, memstore.CodeBlobUploadUnknown)
}

func TestWithStoreOptionsAndWithStore(t *testing.T) {
	reg, err := Start(WithStore(memstore.New()), WithStoreOptions(memstore.WithMaxUploads(1)))
	if err == nil {
		reg.Close()
		t.Fatal("Start with both WithStore and WithStoreOptions succeeded")
	}
	if !strings.Contains(err.Error(), "WithStoreOptions") {
		t.Errorf("error %q does not name the option", err)
	}
	// Options accumulate.
	reg = New(t, WithStoreOptions(memstore.WithMaxUploads(1)), WithStoreOptions(memstore.WithMaxBlobSize(10)))
	if s := reg.Store(); s.MaxUploads() != 1 || s.MaxBlobSize() != 10 {
		t.Errorf("limits = %d sessions, %d bytes", s.MaxUploads(), s.MaxBlobSize())
	}
	// No options: the defaults.
	s := New(t).Store()
	if s.MaxBlobSize() != memstore.DefaultMaxBlobSize || s.MaxStoreBytes() != memstore.DefaultMaxStoreBytes || s.MaxUploads() != memstore.DefaultMaxUploads {
		t.Errorf("default limits = %d, %d, %d", s.MaxBlobSize(), s.MaxStoreBytes(), s.MaxUploads())
	}
}

// Parallel pushes over HTTP never take the store past its limit; each is
// stored (201) or refused with 413 or 429, never a 5xx; after deleting
// everything the accounting is back to zero.
func TestLimitsStoreBytesConcurrentHTTP(t *testing.T) {
	const (
		limit   = 48 << 10
		workers = 12
		pushes  = 12
	)
	reg := New(t, WithStoreOptions(memstore.WithMaxStoreBytes(limit), memstore.WithMaxUploads(workers/2)))
	store := reg.Store()
	var over atomic.Int64
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
			if n := store.Usage().Bytes; n > limit {
				over.Store(n)
			}
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			repo := fmt.Sprintf("team/r%d", w%3)
			for i := range pushes {
				key := fmt.Sprintf("w%d-%d;", w, i)
				if i%4 == 0 {
					key = fmt.Sprintf("shared-%d;", i)
				}
				data := bytes.Repeat([]byte(key), (2<<10+(w*pushes+i)*97%(6<<10))/len(key))
				d := string(digest.FromBytes(data))
				var status int
				var err error
				if i%2 == 0 {
					status, err = ltPost(reg, "POST", "/v2/"+repo+"/blobs/uploads/?digest="+d, data)
				} else {
					status, err = ltChunked(reg, repo, data)
				}
				if err != nil {
					t.Errorf("push %s: %v", key, err)
					return
				}
				mu.Lock()
				statuses[status]++
				mu.Unlock()
				if i%3 == 2 {
					ltPost(reg, "DELETE", "/v2/"+repo+"/blobs/"+d, nil)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	if n := over.Load(); n > 0 {
		t.Errorf("the store held %d bytes, past its limit of %d", n, limit)
	}
	t.Logf("statuses: %v", statuses)
	for status := range statuses {
		switch status {
		case http.StatusCreated, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		default:
			t.Errorf("%d pushes answered %d", statuses[status], status)
		}
	}
	if statuses[http.StatusCreated] == 0 || statuses[http.StatusRequestEntityTooLarge] == 0 {
		t.Errorf("statuses %v: the test should see pushes stored and refused", statuses)
	}
	if got := store.Usage(); got.Uploads != 0 {
		t.Errorf("%d sessions left open", got.Uploads)
	}
	var held int64
	snap := store.Snapshot()
	for _, n := range snap.Blobs {
		held += n
	}
	if got := store.Usage().Bytes; got != held {
		t.Errorf("usage %d bytes, the store holds %d", got, held)
	}
	for repo, rs := range snap.Repositories {
		for _, d := range rs.Blobs {
			if status, err := ltPost(reg, "DELETE", "/v2/"+repo+"/blobs/"+string(d), nil); err != nil || status != http.StatusAccepted {
				t.Errorf("delete %s from %s: %d %v", d, repo, status, err)
			}
		}
	}
	ltUsage(t, reg, memstore.Usage{})
}

// ltPost sends one request from any goroutine (no testing.TB) and returns
// its status.
func ltPost(reg *Registry, method, path string, body []byte) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, reg.URL()+path, rd)
	if err != nil {
		return 0, err
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 500 {
		return resp.StatusCode, fmt.Errorf("%s %s: status %d", method, path, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// ltChunked pushes data through a session in two chunks (the second one
// streamed with the closing PUT) and returns the final status, cancelling
// the session if the push fails part way.
func ltChunked(reg *Registry, repo string, data []byte) (int, error) {
	req, _ := http.NewRequest("POST", reg.URL()+"/v2/"+repo+"/blobs/uploads/", nil)
	resp, err := reg.Client().Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		if resp.StatusCode >= 500 {
			return 0, fmt.Errorf("POST: status %d", resp.StatusCode)
		}
		return resp.StatusCode, nil
	}
	loc := resp.Header.Get("Location")
	half := len(data) / 2
	status, err := ltPost(reg, "PATCH", loc, data[:half])
	if err == nil && status == http.StatusAccepted {
		req, _ := http.NewRequest("PUT", reg.URL()+loc+"?digest="+string(digest.FromBytes(data)), struct{ io.Reader }{bytes.NewReader(data[half:])})
		var resp *http.Response
		if resp, err = reg.Client().Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
			if status >= 500 {
				err = fmt.Errorf("PUT: status %d", status)
			}
		}
	}
	if err != nil || status != http.StatusCreated {
		if _, cerr := ltPost(reg, "DELETE", loc, nil); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err == nil && status != http.StatusCreated && status != http.StatusRequestEntityTooLarge {
		err = errors.New("unexpected status " + fmt.Sprint(status))
	}
	return status, err
}
