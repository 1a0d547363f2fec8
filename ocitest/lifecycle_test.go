package ocitest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
)

// lcWait is the bound on every wait in these tests: long enough for a
// loaded CI machine, short enough to fail rather than hang.
const lcWait = 10 * time.Second

const lcECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

// lcGet sends a GET through client and reads the whole response.
func lcGet(t *testing.T, client *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, b
}

// lcListenAddr is the address the registry's listener really has.
func lcListenAddr(reg *Registry) string {
	return reg.httpServer().Listener.Addr().String()
}

// lcArrived returns a Match.Func that never selects a request but closes
// the returned channel when one matching kind arrives at the registry:
// a hook for "the request is being served now".
func lcArrived(kind Kind) (func(Request) bool, <-chan struct{}) {
	ch := make(chan struct{})
	var once sync.Once
	return func(r Request) bool {
		if r.Kind == kind {
			once.Do(func() { close(ch) })
		}
		return false
	}, ch
}

// lcWithin fails the test unless fn returns within lcWait.
func lcWithin(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(lcWait):
		t.Fatalf("%s did not finish within %v", what, lcWait)
	}
}

func TestLifecycleRestartKeepsHostAndContent(t *testing.T) {
	reg := New(t)
	img := NewImage()
	reg.PushImage(t, "team/app", "v1", img)
	host, url := reg.Host(), reg.URL()
	client := reg.Client() // made before the restart, kept after it
	resp, body := lcGet(t, client, url+"/v2/team/app/manifests/v1")
	if resp.StatusCode != http.StatusOK || string(body) != string(img.Bytes()) {
		t.Fatalf("before restart: %s", resp.Status)
	}

	if err := reg.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if reg.Host() != host || reg.URL() != url {
		t.Errorf("after restart Host %q URL %q, want %q %q", reg.Host(), reg.URL(), host, url)
	}
	if lcListenAddr(reg) != host {
		t.Errorf("listening on %s after restart, want %s", lcListenAddr(reg), host)
	}
	for _, c := range []*http.Client{client, reg.Client()} {
		resp, body = lcGet(t, c, url+"/v2/team/app/manifests/v1")
		if resp.StatusCode != http.StatusOK || string(body) != string(img.Bytes()) {
			t.Errorf("after restart: %s, %d bytes", resp.Status, len(body))
		}
	}
	// Recording goes on across the restart.
	reg.AssertRequestLines(t, Match{Kind: ManifestGet},
		"GET /v2/team/app/manifests/v1 -> 200",
		"GET /v2/team/app/manifests/v1 -> 200",
		"GET /v2/team/app/manifests/v1 -> 200")

	// Restarting twice works too.
	if err := reg.Restart(); err != nil {
		t.Fatalf("second Restart: %v", err)
	}
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)
}

func TestLifecycleRestartCutsInFlight(t *testing.T) {
	img := NewImage()
	other := NewImage(Seed(1))
	tests := []struct {
		name   string
		kind   Kind
		method string
		path   string
		body   []byte
		line   string // the cut request as recorded
	}{
		{"GET", ManifestGet, "GET", "/v2/team/app/manifests/v1", nil, "GET /v2/team/app/manifests/v1 -> dropped"},
		// A request with a body: net/http only notices a client or server
		// hang-up once the body is read, so this one is the harder case.
		{"PUT", ManifestPut, "PUT", "/v2/team/app/manifests/v2", other.Bytes(), "PUT /v2/team/app/manifests/v2 -> dropped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			reg.PushImage(t, "team/app", "v1", img)
			for _, b := range other.Blobs() {
				reg.PushBlob(t, "team/app", b.Data)
			}
			before := reg.Store().Snapshot()
			arrived, ch := lcArrived(tt.kind)
			// The hook only observes; the delay holds the request in the
			// handler longer than the test waits for the cut, yet short
			// enough that a regression fails instead of hanging Cleanup.
			reg.Inject(Fault{Match: Match{Func: arrived}})
			reg.Inject(Fault{Match: Match{Kind: tt.kind}, Delay: 3 * lcWait, Times: 1})

			errc := make(chan error, 1)
			go func() {
				// A client of its own: a new connection, which net/http
				// does not retry on, so the cut is visible.
				client := &http.Client{Transport: reg.Transport().Clone()}
				var body io.Reader
				if tt.body != nil {
					body = strings.NewReader(string(tt.body))
				}
				req, err := http.NewRequest(tt.method, reg.URL()+tt.path, body)
				if err != nil {
					errc <- err
					return
				}
				req.Header.Set("Content-Type", other.Descriptor().MediaType)
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
					err = fmt.Errorf("got an answer: %s", resp.Status)
				}
				errc <- err
			}()
			select {
			case <-ch:
			case <-time.After(lcWait):
				t.Fatal("the request never reached the registry")
			}
			lcWithin(t, "Restart with a request in flight", func() {
				if err := reg.Restart(); err != nil {
					t.Errorf("Restart: %v", err)
				}
			})
			select {
			case err := <-errc:
				if err == nil || strings.HasPrefix(err.Error(), "got an answer") {
					t.Errorf("in-flight request: %v, want a connection error", err)
				}
			case <-time.After(lcWait):
				t.Fatal("the in-flight request was not cut by Restart")
			}
			// The cut request is recorded without a status, changed
			// nothing, and the server answers again.
			reg.AssertRequestLines(t, Match{Kind: tt.kind}, tt.line)
			unchanged(t, reg, before)
			wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil), http.StatusOK)
		})
	}
}

// lcConn reports when the client side closes it.
type lcConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *lcConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func TestLifecycleDropConnections(t *testing.T) {
	reg := New(t)
	// A clone: Transport may be shared by every Client of the registry, and
	// this test rewires its dialer.
	tr := reg.Transport().Clone()
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	var mu sync.Mutex
	var conns []*lcConn
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		lc := &lcConn{Conn: c, closed: make(chan struct{})}
		mu.Lock()
		conns = append(conns, lc)
		mu.Unlock()
		return lc, nil
	}
	client := &http.Client{Transport: tr}
	dials := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}

	for range 2 {
		if resp, _ := lcGet(t, client, reg.URL()+"/v2/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v2/: %s", resp.Status)
		}
	}
	if n := dials(); n != 1 {
		t.Fatalf("%d connections for two requests, want one kept alive", n)
	}

	reg.DropConnections()
	mu.Lock()
	first := conns[0]
	mu.Unlock()
	// The client notices the server closing its idle connection and closes
	// its end.
	select {
	case <-first.closed:
	case <-time.After(lcWait):
		t.Fatal("DropConnections did not cut the idle keep-alive connection")
	}

	if resp, _ := lcGet(t, client, reg.URL()+"/v2/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ after DropConnections: %s", resp.Status)
	}
	if n := dials(); n != 2 {
		t.Errorf("%d connections after the drop, want 2 (a new one)", n)
	}
	// The registry keeps accepting: DropConnections is not Close.
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)
}

func TestLifecycleCloseIdempotent(t *testing.T) {
	t.Run("Start", func(t *testing.T) {
		reg, err := Start()
		if err != nil {
			t.Fatal(err)
		}
		url := reg.URL()
		wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)
		lcWithin(t, "Close", reg.Close)
		lcWithin(t, "second Close", reg.Close)
		if resp, err := (&http.Client{Transport: &http.Transport{}}).Get(url + "/v2/"); err == nil {
			resp.Body.Close()
			t.Errorf("closed registry answered %s", resp.Status)
		}
	})
	t.Run("New", func(t *testing.T) {
		reg := New(t)
		reg.Close()
		reg.Close()
		// t.Cleanup closes it a third time.
	})
	t.Run("after Restart", func(t *testing.T) {
		reg := New(t)
		if err := reg.Restart(); err != nil {
			t.Fatal(err)
		}
		reg.Close()
		reg.Close()
	})
}

func TestLifecycleCloseCutsStalledClient(t *testing.T) {
	reg := New(t)
	arrived, ch := lcArrived(UploadMonolithic)
	reg.Inject(Fault{Match: Match{Func: arrived}})

	// A client that announces 100 body bytes, sends 3 and stalls.
	conn, err := net.Dial("tcp", lcListenAddr(reg))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const d = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	fmt.Fprintf(conn, "POST /v2/team/app/blobs/uploads/?digest=%s HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n\r\nabc", d, reg.Host())
	select {
	case <-ch:
	case <-time.After(lcWait):
		t.Fatal("the upload never reached the registry")
	}
	lcWithin(t, "Close with a stalled client", reg.Close)
	conn.SetReadDeadline(time.Now().Add(lcWait))
	if _, err := io.ReadAll(conn); err != nil && !errors.Is(err, net.ErrClosed) && !lcIsReset(err) {
		t.Errorf("reading the cut connection: %v, want EOF or reset", err)
	}
	if n := reg.Store().Snapshot().Blobs; len(n) != 0 {
		t.Errorf("the cut upload stored blobs: %v", n)
	}
}

func lcIsReset(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && !ne.Timeout() || strings.Contains(err.Error(), "reset")
}

func TestLifecycleStartWithAddr(t *testing.T) {
	reg, err := Start(WithAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	host, port, err := net.SplitHostPort(reg.Host())
	if err != nil {
		t.Fatal(err)
	}
	if host != "127.0.0.1" || port == "0" || port == "" {
		t.Errorf("Host() = %q, want 127.0.0.1 and the port the system chose", reg.Host())
	}
	if reg.Host() != lcListenAddr(reg) {
		t.Errorf("Host() = %q, listening on %s", reg.Host(), lcListenAddr(reg))
	}
	if reg.URL() != "http://"+reg.Host() {
		t.Errorf("URL() = %q", reg.URL())
	}
	if got := reg.Ref("team/app:v1"); got != reg.Host()+"/team/app:v1" {
		t.Errorf("Ref = %q", got)
	}
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)
	// Restart keeps the port the system chose, not ":0".
	if err := reg.Restart(); err != nil {
		t.Fatal(err)
	}
	if reg.Host() != net.JoinHostPort(host, port) {
		t.Errorf("after restart Host() = %q, want %s:%s", reg.Host(), host, port)
	}
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)

	// A taken address is an error, not a panic.
	if reg2, err := Start(WithAddr(reg.Host())); err == nil {
		reg2.Close()
		t.Errorf("Start on a taken address succeeded")
	}
}

func TestLifecycleTLS(t *testing.T) {
	reg := New(t, WithTLS())
	if !strings.HasPrefix(reg.URL(), "https://127.0.0.1:") {
		t.Errorf("URL() = %q, want https://127.0.0.1:PORT", reg.URL())
	}
	client := reg.Client()
	resp, _ := lcGet(t, client, reg.URL()+"/v2/")
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("GET /v2/ over TLS: %s, TLS %v", resp.Status, resp.TLS != nil)
	}
	if len(resp.TLS.VerifiedChains) == 0 {
		t.Errorf("the certificate was not verified")
	}

	// A client that does not trust the registry's CA refuses it.
	plain := &http.Client{Transport: &http.Transport{}}
	_, err := plain.Get(reg.URL() + "/v2/")
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("plain client: %v, want a certificate verification error", err)
	}
	// Plain HTTP to the TLS port gets no registry answer.
	if resp, err := plain.Get("http://" + reg.Host() + "/v2/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP to the TLS port answered 200")
		}
	}

	// Clients made before a restart still trust the registry after it.
	if err := reg.Restart(); err != nil {
		t.Fatal(err)
	}
	if resp, _ := lcGet(t, client, reg.URL()+"/v2/"); resp.StatusCode != http.StatusOK {
		t.Errorf("after restart: %s", resp.Status)
	}
}

func TestLifecycleHostname(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hostname string
		tls      bool
	}{
		{"http", lcECR, false},
		{"https", lcECR, true},
		// .invalid never resolves (RFC 2606): this only works if nothing
		// asks DNS.
		{"https unresolvable", "registry.example.invalid", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{WithHostname(tc.hostname)}
			scheme := "http://"
			if tc.tls {
				opts = append(opts, WithTLS())
				scheme = "https://"
			}
			reg := New(t, opts...)
			_, port, err := net.SplitHostPort(lcListenAddr(reg))
			if err != nil {
				t.Fatal(err)
			}
			host := net.JoinHostPort(tc.hostname, port)
			if reg.Host() != host {
				t.Errorf("Host() = %q, want %q", reg.Host(), host)
			}
			if reg.URL() != scheme+host {
				t.Errorf("URL() = %q, want %q", reg.URL(), scheme+host)
			}
			if got := reg.Ref("team/app:v1"); got != host+"/team/app:v1" {
				t.Errorf("Ref = %q, want %q", got, host+"/team/app:v1")
			}

			img := NewImage()
			reg.PushImage(t, "team/app", "v1", img)
			check := func(what string, c *http.Client) {
				t.Helper()
				resp, body := lcGet(t, c, reg.URL()+"/v2/team/app/manifests/v1")
				if resp.StatusCode != http.StatusOK || string(body) != string(img.Bytes()) {
					t.Errorf("%s: GET by name: %s, %d bytes", what, resp.Status, len(body))
				}
				if !tc.tls {
					return
				}
				cs := resp.TLS
				if cs == nil {
					t.Fatalf("%s: no TLS", what)
				}
				if cs.ServerName != tc.hostname {
					t.Errorf("%s: TLS server name %q, want %q", what, cs.ServerName, tc.hostname)
				}
				if len(cs.VerifiedChains) == 0 {
					t.Errorf("%s: certificate not verified", what)
				}
				if err := cs.PeerCertificates[0].VerifyHostname(tc.hostname); err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}
			client := reg.Client()
			check("Client", client)
			check("Transport", &http.Client{Transport: reg.Transport()})

			// The dialer maps the name to the loopback listener.
			ctx, cancel := context.WithTimeout(context.Background(), lcWait)
			defer cancel()
			conn, err := reg.Transport().DialContext(ctx, "tcp", host)
			if err != nil {
				t.Fatalf("dialing %s: %v", host, err)
			}
			if got := conn.RemoteAddr().String(); got != lcListenAddr(reg) {
				t.Errorf("dialing %s reached %s, want %s", host, got, lcListenAddr(reg))
			}
			conn.Close()
			// Other names are dialed as they are: loopback by IP still works.
			conn, err = reg.Transport().DialContext(ctx, "tcp", lcListenAddr(reg))
			if err != nil {
				t.Fatalf("dialing by IP: %v", err)
			}
			conn.Close()

			// The name keeps working, with the same client, across a restart.
			if err := reg.Restart(); err != nil {
				t.Fatal(err)
			}
			if reg.Host() != host {
				t.Errorf("after restart Host() = %q, want %q", reg.Host(), host)
			}
			check("Client after restart", client)
			check("new Client after restart", reg.Client())
		})
	}
}

func TestLifecycleHandlerStoreLogf(t *testing.T) {
	shared := memstore.New()
	var mu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}
	a := New(t, WithStore(shared), WithLogf(logf))
	b := New(t, WithStore(shared))
	if a.Store() != shared || b.Store() != shared {
		t.Fatalf("Store() is not the store given to WithStore")
	}
	img := NewImage()
	a.PushImage(t, "team/app", "v1", img)
	// b serves what was pushed to a: they share the store.
	seedWantManifest(t, b, "team/app", "v1", img)

	wantStatus(t, do(t, a, "GET", "/v2/team/app/manifests/v1", nil), http.StatusOK)
	mu.Lock()
	got := append([]string{}, logged...)
	mu.Unlock()
	if len(got) != 1 || !strings.Contains(got[0], "GET /v2/team/app/manifests/v1 -> 200") {
		t.Errorf("WithLogf logged %q, want one line for the GET", got)
	}

	// Handler is the whole registry, recording included, for serving it
	// elsewhere.
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	resp, _ := lcGet(t, srv.Client(), srv.URL+"/v2/team/app/manifests/v1")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != string(img.Digest()) {
		t.Errorf("through Handler: %s, digest %q", resp.Status, resp.Header.Get("Docker-Content-Digest"))
	}
	if n := a.Count(Match{Kind: ManifestGet}); n != 2 {
		t.Errorf("%d manifest GETs recorded, want 2 (one direct, one through Handler)", n)
	}
}

// Start must not leak a listener when it fails after listening, and must
// report errors rather than panic.
func TestLifecycleStartBadAddr(t *testing.T) {
	for _, addr := range []string{"not an address", "127.0.0.1:99999"} {
		if reg, err := Start(WithAddr(addr)); err == nil {
			reg.Close()
			t.Errorf("Start(WithAddr(%q)) succeeded", addr)
		}
	}
}
