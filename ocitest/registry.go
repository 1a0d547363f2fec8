package ocitest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
)

// Registry is an OCI registry served over HTTP on a loopback port.
type Registry struct {
	srv     *httptest.Server
	store   *memstore.Store
	handler http.Handler
	host    string
}

// New starts a registry for the test t and closes it when the test ends.
// A failure to start is reported with t.Fatalf.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	reg, err := Start(opts...)
	if err != nil {
		t.Fatalf("ocitest: starting registry: %v", err)
	}
	t.Cleanup(reg.Close)
	return reg
}

// Start starts a registry that the caller must Close. It suits TestMain,
// Example functions and programs; tests should prefer New.
func Start(opts ...Option) (*Registry, error) {
	cfg := &config{}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.store == nil {
		cfg.store = memstore.New()
	}
	reg := &Registry{store: cfg.store}
	reg.handler = reg.wrap(&server{store: cfg.store, cfg: cfg}, cfg)
	srv := httptest.NewUnstartedServer(reg.handler)
	if cfg.addr != "" {
		ln, err := net.Listen("tcp", cfg.addr)
		if err != nil {
			srv.Listener.Close()
			return nil, fmt.Errorf("ocitest: listening on %s: %w", cfg.addr, err)
		}
		srv.Listener.Close()
		srv.Listener = ln
	}
	if cfg.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("ocitest: server URL %q: %w", srv.URL, err)
	}
	reg.srv = srv
	reg.host = u.Host
	return reg, nil
}

// wrap adds the per-request logging around the spec handler.
func (reg *Registry) wrap(h http.Handler, cfg *config) http.Handler {
	if cfg.logf == nil {
		return h
	}
	logf := cfg.logf
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		logf("ocitest: %s %s -> %d (%s)", r.Method, r.URL.RequestURI(), sw.status, time.Since(start).Round(time.Microsecond))
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Close shuts the server down. Connections still open are cut first, so
// Close never waits on a client that stopped mid-request. Calling it again
// does nothing.
func (reg *Registry) Close() {
	reg.srv.CloseClientConnections()
	reg.srv.Close()
}

// Host is the registry's host:port, e.g. "127.0.0.1:41235": the registry
// part of image references.
func (reg *Registry) Host() string { return reg.host }

// URL is the registry's base URL, e.g. "http://127.0.0.1:41235".
func (reg *Registry) URL() string { return reg.srv.URL }

// Ref qualifies a repository reference with the registry's host:
// Ref("team/app:v1") is "127.0.0.1:41235/team/app:v1".
func (reg *Registry) Ref(ref string) string { return reg.host + "/" + ref }

// Client returns an HTTP client for the registry (trusting its certificate
// when serving TLS).
func (reg *Registry) Client() *http.Client { return reg.srv.Client() }

// Store is the content store behind the registry, for seeding and
// inspecting content directly.
func (reg *Registry) Store() *memstore.Store { return reg.store }

// Handler is the registry's complete HTTP handler, to serve it elsewhere.
func (reg *Registry) Handler() http.Handler { return reg.handler }
