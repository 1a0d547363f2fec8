package ocitest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// Lifecycle under load: Close with requests in flight returns promptly and
// leaves no goroutine behind, and clients that hang up mid-body leave the
// store as it was.

const (
	leakCloseBound = 5 * time.Second  // Close must return within this
	leakWait       = 10 * time.Second // every other wait
	leakSlack      = 2                // goroutines the runtime may add
	leakBigSize    = 16 << 20         // larger than loopback socket buffers
	leakRepo       = "leak/app"
)

// leakGoroutines parses runtime.Stack of every goroutine: id → stack.
func leakGoroutines() map[int]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[int]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		rest, ok := strings.CutPrefix(g, "goroutine ")
		if !ok {
			continue
		}
		id, err := strconv.Atoi(rest[:strings.IndexByte(rest, ' ')])
		if err == nil {
			out[id] = g
		}
	}
	return out
}

// leakBaseline is the goroutine state before a registry starts.
type leakBaseline struct {
	count int
	ids   map[int]string
}

func newLeakBaseline() leakBaseline {
	runtime.GC() // let finished goroutines of earlier tests go
	return leakBaseline{count: runtime.NumGoroutine(), ids: leakGoroutines()}
}

// check waits for the goroutine count to come back to the baseline (with
// a little slack) and for every goroutine started since that runs HTTP or
// this module's code to end; on timeout it fails with their stacks.
func (b leakBaseline) check(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(leakWait)
	for {
		var suspects []string
		for id, stack := range leakGoroutines() {
			if _, old := b.ids[id]; !old && (strings.Contains(stack, "net/http.") || strings.Contains(stack, "github.com/ocifixture/")) {
				suspects = append(suspects, stack)
			}
		}
		n := runtime.NumGoroutine()
		if n <= b.count+leakSlack && len(suspects) == 0 {
			t.Logf("goroutines: %d before, %d after", b.count, n)
			return
		}
		if time.Now().After(deadline) {
			var all []string
			for id, stack := range leakGoroutines() {
				if _, old := b.ids[id]; !old {
					all = append(all, stack)
				}
			}
			slices.Sort(all)
			t.Fatalf("goroutines did not settle within %v: %d before, %d now; %d new ones run HTTP or ocifixture code; new goroutines:\n\n%s",
				leakWait, b.count, n, len(suspects), strings.Join(all, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leakArrivals counts requests by kind as they reach the registry, through
// a fault hook that never applies.
type leakArrivals struct {
	mu sync.Mutex
	n  map[Kind]int
}

func leakCountArrivals(reg *Registry) *leakArrivals {
	a := &leakArrivals{n: map[Kind]int{}}
	reg.Inject(Fault{Match: Match{Func: func(r Request) bool {
		a.mu.Lock()
		a.n[r.Kind]++
		a.mu.Unlock()
		return false
	}}})
	return a
}

func (a *leakArrivals) total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, v := range a.n {
		n += v
	}
	return n
}

// waitFor waits until at least want[k] requests of each kind k arrived.
func (a *leakArrivals) waitFor(t *testing.T, want map[Kind]int) {
	t.Helper()
	deadline := time.Now().Add(leakWait)
	for {
		a.mu.Lock()
		ok := true
		for k, n := range want {
			ok = ok && a.n[k] >= n
		}
		got := fmt.Sprint(a.n)
		a.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests in flight did not all arrive: got %s, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leakBlob is n deterministic bytes.
func leakBlob(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// leakRaw opens a connection and sends a request's head (Content-Length
// announced) and the first part of its body, then leaves it there.
func leakRaw(t *testing.T, reg *Registry, method, target string, length int, part []byte, header ...string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", reg.Host(), leakWait)
	if err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, target, reg.Host(), length)
	for _, h := range header {
		head += h + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(part); err != nil {
		t.Fatal(err)
	}
	return conn
}

// leakSlowBody feeds a request body a little at a time until stop is
// closed or the reading side gives up (the transport closes it when the
// request fails).
func leakSlowBody(stop <-chan struct{}) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		chunk := bytes.Repeat([]byte("s"), 1024)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
			select {
			case <-stop:
				pw.CloseWithError(io.ErrUnexpectedEOF)
				return
			case <-tick.C:
			}
		}
	}()
	return pr
}

func TestLeakCloseWithRequestsInFlight(t *testing.T) {
	base := newLeakBaseline()
	reg, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			reg.Close()
		}
	}()
	big := leakBlob(1, leakBigSize)
	bigD := reg.PushBlob(t, leakRepo, big)
	small := leakBlob(2, 4096)
	smallD := reg.PushBlob(t, leakRepo, small)
	img := NewImage(Seed(7))
	reg.PushImage(t, leakRepo, "v1", img)
	arrivals := leakCountArrivals(reg)
	// Downloads held back far longer than the test runs.
	reg.Inject(Fault{Match: Match{Kind: ManifestGet}, Delay: time.Hour})
	reg.Inject(Fault{Match: Match{Kind: BlobGet, Reference: string(smallD)}, Delay: time.Hour})

	tr := reg.Transport().Clone()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// Sessions for the slow chunk uploads, opened before the snapshot.
	var sessions []string
	for range 3 {
		r := do(t, reg, "POST", "/v2/"+leakRepo+"/blobs/uploads/", nil)
		wantStatus(t, r, http.StatusAccepted)
		sessions = append(sessions, r.Header.Get("Location"))
	}
	// An idle keep-alive connection in the client's pool.
	if r, err := client.Get(reg.URL() + "/v2/"); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	before := reg.Store().Snapshot()
	// From here on, every request that arrives is one in flight at Close.
	reg.ResetRequests()
	pre := arrivals.total()

	stop := make(chan struct{})    // ends the slow bodies
	release := make(chan struct{}) // lets the stalled download finish reading
	var wg sync.WaitGroup
	var answered atomic.Int32 // in-flight requests that got an answer: none should
	fire := func(what string, req *http.Request) {
		wg.Go(func() {
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				answered.Add(1)
				t.Errorf("%s in flight at Close got an answer: %s", what, resp.Status)
			}
		})
	}
	newReq := func(method, target string, body io.Reader) *http.Request {
		req, err := http.NewRequest(method, reg.URL()+target, body)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	// Slow uploads: chunks and a monolithic POST, streamed.
	for i, loc := range sessions {
		req := newReq("PATCH", loc, leakSlowBody(stop))
		req.Header.Set("Content-Type", "application/octet-stream")
		fire(fmt.Sprintf("slow PATCH %d", i), req)
	}
	fire("slow POST", newReq("POST", "/v2/"+leakRepo+"/blobs/uploads/?digest="+string(digest.FromString("never")), leakSlowBody(stop)))
	// Delayed downloads.
	for i := range 3 {
		fire(fmt.Sprintf("delayed manifest GET %d", i), newReq("GET", "/v2/"+leakRepo+"/manifests/v1", nil))
	}
	for i := range 2 {
		fire(fmt.Sprintf("delayed blob GET %d", i), newReq("GET", "/v2/"+leakRepo+"/blobs/"+string(smallD), nil))
	}
	// A download the client stops reading after a few bytes: the server
	// blocks writing once the socket buffers are full.
	stalled := make(chan error, 1)
	wg.Go(func() {
		resp, err := client.Get(reg.URL() + "/v2/" + leakRepo + "/blobs/" + string(bigD))
		if err != nil {
			stalled <- err
			return
		}
		defer resp.Body.Close()
		var first [16]byte
		if _, err := io.ReadFull(resp.Body, first[:]); err != nil {
			stalled <- err
			return
		}
		stalled <- nil
		<-release
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil && n+int64(len(first)) == leakBigSize {
			t.Errorf("the stalled download was not cut by Close: it read all %d bytes", leakBigSize)
		}
	})
	// Raw clients stuck mid-body, and one stuck in its request head.
	var raws []net.Conn
	raws = append(raws,
		leakRaw(t, reg, "PUT", "/v2/"+leakRepo+"/manifests/stuck", 1000, []byte(`{"schemaVersion":`), "Content-Type: application/vnd.oci.image.manifest.v1+json"),
		leakRaw(t, reg, "POST", "/v2/"+leakRepo+"/blobs/uploads/?digest="+string(digest.FromString("x")), 1<<20, bytes.Repeat([]byte("r"), 1000)),
	)
	if conn, err := net.DialTimeout("tcp", reg.Host(), leakWait); err != nil {
		t.Fatal(err)
	} else {
		raws = append(raws, conn)
		io.WriteString(conn, "GET /v2/ HTTP/1.1\r\nHost: ")
	}
	defer func() {
		for _, c := range raws {
			c.Close()
		}
	}()

	select {
	case err := <-stalled:
		if err != nil {
			t.Fatalf("the download to stall: %v", err)
		}
	case <-time.After(leakWait):
		t.Fatal("the download to stall never started")
	}
	arrivals.waitFor(t, map[Kind]int{
		UploadChunk: 3, UploadMonolithic: 2, ManifestGet: 3, BlobGet: 3, ManifestPut: 1,
	})

	start := time.Now()
	done := make(chan struct{})
	go func() {
		reg.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(leakCloseBound):
		close(stop)
		close(release)
		t.Fatalf("Close did not return within %v with requests in flight", leakCloseBound)
	}
	closed = true
	took := time.Since(start)
	close(stop)
	close(release)

	// Close waits for every handler, so everything that arrived is
	// recorded (the clients got no answer: checked as they finish).
	inFlight := arrivals.total() - pre
	if got := len(reg.Requests()); got != inFlight {
		t.Errorf("%d requests recorded after Close, %d arrived", got, inFlight)
	}
	unchanged(t, reg, before)

	clientsDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(clientsDone)
	}()
	select {
	case <-clientsDone:
	case <-time.After(leakWait):
		t.Fatal("clients in flight at Close are still waiting for an answer")
	}
	for _, c := range raws {
		c.SetReadDeadline(time.Now().Add(leakWait))
		if _, err := io.Copy(io.Discard, c); err != nil && leakIsTimeout(err) {
			t.Errorf("a raw connection is still open after Close")
		}
		c.Close()
	}
	tr.CloseIdleConnections()
	t.Logf("Close took %v with %d requests in flight", took.Round(time.Millisecond), inFlight)
	base.check(t)
}

// leakIsTimeout reports a read deadline running out.
func leakIsTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestLeakClientDisconnects(t *testing.T) {
	base := newLeakBaseline()
	reg, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			reg.Close()
		}
	}()
	big := leakBlob(3, leakBigSize)
	bigD := reg.PushBlob(t, leakRepo, big)
	tr := reg.Transport().Clone()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// served waits until n requests that m selects have been served in all.
	served := func(t *testing.T, m Match, n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), leakWait)
		defer cancel()
		if _, err := reg.WaitFor(ctx, m, n); err != nil {
			t.Fatalf("waiting for %d %v requests to be served: %v", n, m.Kind, err)
		}
	}
	// cut sends a request head and part of a body, then hangs up.
	cut := func(t *testing.T, method, target string, length int, part []byte) {
		t.Helper()
		leakRaw(t, reg, method, target, length, part).Close()
	}

	t.Run("upload", func(t *testing.T) {
		payload := leakBlob(4, 1<<20)
		d := digest.FromBytes(payload)
		r := do(t, reg, "POST", "/v2/"+leakRepo+"/blobs/uploads/", nil)
		wantStatus(t, r, http.StatusAccepted)
		loc := r.Header.Get("Location")
		// A first chunk that arrives whole.
		r = do(t, reg, "PATCH", loc, payload[:1000], "Content-Type: application/octet-stream", "Content-Range: 0-999")
		wantStatus(t, r, http.StatusAccepted)
		before := reg.Store().Snapshot()

		// Monolithic POST, chunk PATCH (with a length and streamed) and the
		// closing PUT, each cut mid-body.
		cut(t, "POST", "/v2/"+leakRepo+"/blobs/uploads/?digest="+string(d), len(payload), payload[:len(payload)/3])
		served(t, Match{Kind: UploadMonolithic}, 1)
		cut(t, "PATCH", loc, len(payload)-1000, payload[1000:5000])
		served(t, Match{Kind: UploadChunk}, 2)
		pr, pw := io.Pipe()
		go func() {
			pw.Write(payload[1000:200000])
			pw.CloseWithError(io.ErrClosedPipe) // the client gives up
		}()
		req, _ := http.NewRequest("PATCH", reg.URL()+loc, pr)
		req.Header.Set("Content-Type", "application/octet-stream")
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("a streamed chunk cut mid-body got an answer: %s", resp.Status)
		}
		served(t, Match{Kind: UploadChunk}, 3)
		cut(t, "PUT", loc+"?digest="+string(d), len(payload)-1000, payload[1000:3000])
		served(t, Match{Kind: UploadComplete}, 1)
		unchanged(t, reg, before)

		// The session goes on from where it was: 1000 bytes.
		r = do(t, reg, "GET", loc, nil)
		wantStatus(t, r, http.StatusNoContent)
		wantHeader(t, r, "Range", "0-999")
		r = do(t, reg, "PUT", loc+"?digest="+string(d), payload[1000:], "Content-Type: application/octet-stream")
		wantStatus(t, r, http.StatusCreated)
		r = do(t, reg, "GET", "/v2/"+leakRepo+"/blobs/"+string(d), nil)
		wantStatus(t, r, http.StatusOK)
		if !bytes.Equal(r.Body, payload) {
			t.Errorf("the blob finished after the cut chunks has %d bytes, not the %d sent", len(r.Body), len(payload))
		}
	})

	t.Run("download", func(t *testing.T) {
		before := reg.Store().Snapshot()
		path := "/v2/" + leakRepo + "/blobs/" + string(bigD)
		bigGets := Match{Kind: BlobGet, Reference: string(bigD)}
		// Through the client: read a few bytes and close.
		for i, rng := range []string{"", "bytes=100-", "bytes=0-10,2000000-"} {
			req, _ := http.NewRequest("GET", reg.URL()+path, nil)
			if rng != "" {
				req.Header.Set("Range", rng)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var first [8]byte
			if _, err := io.ReadFull(resp.Body, first[:]); err != nil {
				t.Fatalf("GET %s (Range %q): %v", path, rng, err)
			}
			resp.Body.Close()
			served(t, bigGets, i+1)
		}
		// A raw client that reads a little and hangs up.
		conn, err := net.DialTimeout("tcp", reg.Host(), leakWait)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, reg.Host())
		if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("raw GET: %q, %v", line, err)
		}
		conn.Close()
		served(t, bigGets, 4)
		for _, r := range reg.Filter(bigGets) {
			if r.ResponseSize >= leakBigSize {
				t.Errorf("%s: %d bytes written to a client that hung up", r, r.ResponseSize)
			}
		}
		unchanged(t, reg, before)

		// The registry keeps serving, the big blob whole.
		r := do(t, reg, "GET", path, nil)
		wantStatus(t, r, http.StatusOK)
		if !bytes.Equal(r.Body, big) {
			t.Errorf("GET after the hang-ups: %d bytes, not the blob", len(r.Body))
		}
		img := newTestImage("after hang-ups", nil, "")
		pushImage(t, reg, leakRepo, "after", img)
		r = do(t, reg, "GET", "/v2/"+leakRepo+"/manifests/after", nil)
		wantStatus(t, r, http.StatusOK)
	})

	done := make(chan struct{})
	go func() {
		reg.Close()
		close(done)
	}()
	select {
	case <-done:
		closed = true
	case <-time.After(leakCloseBound):
		t.Fatalf("Close did not return within %v", leakCloseBound)
	}
	tr.CloseIdleConnections()
	base.check(t)
}

// TestLeakCloseUnderLoad closes the registry while the stress test's
// workers push and pull: Close returns promptly, no goroutine is left
// behind, and the store is consistent (requests are atomic: each one cut
// by Close either happened or did not).
func TestLeakCloseUnderLoad(t *testing.T) {
	base := newLeakBaseline()
	world := newStressWorld()
	reg, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			reg.Close()
		}
	}()
	world.seed(t, reg)
	run := newStressRun(t, reg, world)
	summary := make(chan stressSummary, 1)
	go func() { summary <- run.work(1 << 30) }() // until the registry closes

	ctx, cancel := context.WithTimeout(context.Background(), leakWait)
	defer cancel()
	if _, err := reg.WaitFor(ctx, Match{}, 300); err != nil {
		t.Fatalf("the load did not build up: %v", err)
	}
	run.closed.Store(true)
	start := time.Now()
	done := make(chan struct{})
	go func() {
		reg.Close()
		close(done)
	}()
	select {
	case <-done:
		closed = true
	case <-time.After(leakCloseBound):
		t.Fatalf("Close did not return within %v under load", leakCloseBound)
	}
	took := time.Since(start)
	var s stressSummary
	select {
	case s = <-summary:
	case <-time.After(leakWait):
		t.Fatal("workers still busy after Close")
	}
	t.Logf("Close took %v under load, after %s and %d requests", took.Round(time.Millisecond), s.total, run.requests.Load())

	snap := reg.Store().Snapshot()
	stressCheckSnapshot(t, world, snap)
	stressCheckUploads(t, run, snap, false)
	for _, repo := range stressRepos {
		for _, d := range snap.Repositories[repo].Blobs {
			c, err := reg.Store().Blob(repo, d)
			if err != nil {
				t.Errorf("blob %s of %s: %v", d, repo, err)
			} else if got := d.Algorithm().FromBytes(c.Bytes()); got != d {
				t.Errorf("blob %s of %s: its bytes hash to %s", d, repo, got)
			}
		}
	}
	run.client.Transport.(*http.Transport).CloseIdleConnections()
	base.check(t)
}
