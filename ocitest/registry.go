package ocitest

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
)

// Registry is an OCI registry served over HTTP on a loopback port.
type Registry struct {
	cfg    *config
	store  *memstore.Store
	server *server
	rec    *recorder
	faults faultSet
	quirks quirkSet
	clock  Clock
	hosts  hostSet    // extra listeners of host quirks (hosts.go)
	auth   *authority // nil without WithBasicAuth or WithTokenAuth

	mu      sync.Mutex // guards srv, addr, closing, tr and cert across Restart
	srv     *httptest.Server
	addr    string        // the listener's address, kept across Restart
	closing chan struct{} // closed when the current server shuts down
	// tr is the one transport of Client and Transport for the current
	// server. (Fix: a new transport per Client call left one idle
	// keep-alive connection, two file descriptors, open per request until
	// Close; a test making a few hundred requests ran out of descriptors
	// where the limit is low, such as macOS's default 256.)
	tr *http.Transport
	// cert is the WithHostname TLS certificate, made once and kept across
	// Restart. (Fix: a new certificate per listen made clients and
	// transports taken before a Restart fail verification after it.)
	cert *tls.Certificate
}

// New starts a registry for the test t and closes it when the test ends.
// A failure to start is reported with t.Fatalf. If the test fails, the
// requests the registry served are logged once, one line each.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	reg, err := Start(opts...)
	if err != nil {
		t.Fatalf("ocitest: starting registry: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(reg.requestLog())
		}
		reg.Close()
	})
	return reg
}

// Start starts a registry that the caller must Close. It suits TestMain,
// Example functions and programs; tests should prefer New.
func Start(opts ...Option) (*Registry, error) {
	cfg := &config{}
	for _, o := range opts {
		o(cfg)
	}
	switch {
	case cfg.store == nil:
		var opts []memstore.Option
		if cfg.clock != nil {
			opts = append(opts, memstore.WithClock(cfg.clock.Now))
		}
		cfg.store = memstore.New(append(opts, cfg.storeOpts...)...)
	case len(cfg.storeOpts) > 0:
		return nil, fmt.Errorf("ocitest: WithStoreOptions configures the store the registry creates; with WithStore, configure that store instead")
	}
	reg := &Registry{
		cfg:    cfg,
		store:  cfg.store,
		server: &server{store: cfg.store, cfg: cfg},
		rec:    newRecorder(cfg.maxRecorded),
		clock:  cfg.clock,
	}
	if reg.clock == nil {
		reg.clock = realClock{}
	}
	reg.quirks.store(cfg.quirks)
	auth, err := newAuthority(cfg.auth, reg.clock)
	if err != nil {
		return nil, err
	}
	reg.auth = auth
	reg.server.otherHost = func() (string, error) {
		h, err := reg.extraHost(otherRegistryHost)
		if err != nil {
			return "", err
		}
		return reg.hostURL(h), nil
	}
	addr := cfg.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := reg.listen(addr); err != nil {
		return nil, err
	}
	return reg, nil
}

// listen starts a server on addr and remembers the address it got.
func (reg *Registry) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ocitest: listening on %s: %w", addr, err)
	}
	srv := &httptest.Server{
		Listener: ln,
		Config:   &http.Server{Handler: reg, ErrorLog: discardLog},
	}
	if reg.cfg.tls {
		if reg.cfg.hostname != "" {
			cert, err := reg.hostnameCert()
			if err != nil {
				ln.Close()
				return err
			}
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	reg.mu.Lock()
	reg.srv = srv
	reg.addr = ln.Addr().String()
	reg.closing = make(chan struct{})
	reg.tr = nil // made by the first Transport call: many tests never ask
	reg.mu.Unlock()
	return nil
}

// transportLocked returns the client transport of the running server,
// making it on first use. The caller holds reg.mu.
func (reg *Registry) transportLocked() *http.Transport {
	if reg.tr == nil {
		tr := reg.srv.Client().Transport.(*http.Transport).Clone()
		if reg.cfg.hostname != "" {
			dial := tr.DialContext
			if dial == nil {
				dial = (&net.Dialer{}).DialContext
			}
			tr.DialContext = reg.dialHostname(dial)
		}
		reg.tr = tr
	}
	return reg.tr
}

// hostnameCert returns the certificate for the WithHostname name, making
// it on first use; Restart reuses it.
func (reg *Registry) hostnameCert() (tls.Certificate, error) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.cert == nil {
		cert, err := selfSignedCert(reg.cfg.hostname)
		if err != nil {
			return tls.Certificate{}, err
		}
		reg.cert = &cert
	}
	return *reg.cert, nil
}

// closingChan is closed when the server currently running shuts down.
func (reg *Registry) closingChan() <-chan struct{} {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.closing
}

func (reg *Registry) httpServer() *httptest.Server {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.srv
}

// Close shuts the server down. Connections still open are cut first, so
// Close never waits on a client that stopped mid-request. Calling it again
// does nothing.
func (reg *Registry) Close() {
	reg.closeHosts()
	reg.mu.Lock()
	srv, closing := reg.srv, reg.closing
	select {
	case <-closing:
	default:
		close(closing) // wakes requests held by a Delay fault
	}
	reg.mu.Unlock()
	// Fix: cutting connections once and then calling srv.Close raced with
	// a connection accepted in between: if its request headers arrived
	// before srv.Close looked, the connection was active, srv.Close does
	// not cut active connections, and it waited for ever on a handler
	// blocked reading a body that never came. Now connections are cut
	// until srv.Close (which stops accepting first) has returned.
	// The cutting goes on in a goroutine of its own while srv.Close runs
	// here, so a Close with nothing in flight waits on no other goroutine.
	srv.CloseClientConnections()
	done := make(chan struct{})
	go func() {
		again := time.NewTimer(10 * time.Millisecond)
		defer again.Stop()
		for {
			select {
			case <-done:
				return
			case <-again.C:
				srv.CloseClientConnections()
				again.Reset(10 * time.Millisecond)
			}
		}
	}()
	srv.Close()
	close(done)
	reg.mu.Lock()
	if reg.tr != nil && reg.srv == srv {
		reg.tr.CloseIdleConnections() // fix: release the client side too
	}
	reg.mu.Unlock()
}

// Restart stops the server and starts it again on the same address with
// the same content, for outage tests. Connections in flight are cut.
func (reg *Registry) Restart() error {
	reg.Close()
	reg.mu.Lock()
	addr := reg.addr
	reg.mu.Unlock()
	if err := reg.listen(addr); err != nil {
		return err
	}
	return reg.restartHosts()
}

// DropConnections cuts every open client connection; the server keeps
// accepting new ones.
func (reg *Registry) DropConnections() { reg.httpServer().CloseClientConnections() }

// Host is the registry's host:port, e.g. "127.0.0.1:41235": the registry
// part of image references. With WithHostname it is that name and the port.
func (reg *Registry) Host() string {
	reg.mu.Lock()
	addr := reg.addr
	reg.mu.Unlock()
	if reg.cfg.hostname == "" {
		return addr
	}
	_, port, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(reg.cfg.hostname, port)
}

// URL is the registry's base URL, e.g. "http://127.0.0.1:41235".
func (reg *Registry) URL() string {
	scheme := "http://"
	if reg.cfg.tls {
		scheme = "https://"
	}
	return scheme + reg.Host()
}

// Ref qualifies a repository reference with the registry's host:
// Ref("team/app:v1") is "127.0.0.1:41235/team/app:v1".
func (reg *Registry) Ref(ref string) string { return reg.Host() + "/" + ref }

// Client returns an HTTP client for the registry: it trusts the registry's
// certificate when serving TLS and, with WithHostname, dials the registry
// for that name.
func (reg *Registry) Client() *http.Client {
	return &http.Client{Transport: reg.Transport()}
}

// Transport is the transport behind Client, for client libraries that take
// an http.RoundTripper.
func (reg *Registry) Transport() *http.Transport {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.transportLocked()
}

// Store is the content store behind the registry, for seeding and
// inspecting content directly.
func (reg *Registry) Store() *memstore.Store { return reg.store }

// Handler is the registry's complete HTTP handler (recording and faults
// included), to serve it elsewhere.
func (reg *Registry) Handler() http.Handler { return reg }

// requestLog is the recorded requests, one line each, for failure logs.
func (reg *Registry) requestLog() string {
	reqs := reg.Requests()
	var b strings.Builder
	fmt.Fprintf(&b, "ocitest: %s served %d requests:", reg.Host(), len(reqs))
	for _, r := range reqs {
		b.WriteString("\n  ")
		b.WriteString(r.String())
	}
	return b.String()
}
