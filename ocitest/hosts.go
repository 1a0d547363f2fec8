package ocitest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// The registry's extra hosts, for the quirks of catalog section 7
// (redirects and hosts): a "CDN" that blob redirects point at, and a second
// registry that API redirects point at. Each is a listener on another port
// of the registry's own IP (clients such as ggcr refuse redirects from a
// host name to a loopback IP, and oras-go realms on other hosts, but accept
// another port of the same host). They start on first use, stop with
// Close, and come back on the same ports with Restart. Their requests go
// through the registry's ServeHTTP, so they are recorded (and faults apply)
// like any other.

// hostRole says which of the registry's listeners a request arrived on.
type hostRole int

const (
	mainHost          hostRole = iota
	cdnHost                    // serves redirected blobs at storage-like paths
	otherRegistryHost          // serves the same API, without the API redirect
)

type hostRoleKey struct{}

// roleOf is the listener r arrived on.
func roleOf(r *http.Request) hostRole {
	role, _ := r.Context().Value(hostRoleKey{}).(hostRole)
	return role
}

// hostSet holds the extra listeners of a registry.
type hostSet struct {
	mu      sync.Mutex
	closed  bool
	servers map[hostRole]*httptest.Server
	addrs   map[hostRole]string // kept across Close, for Restart

	grants grantTable // signed CDN URLs handed out (quirks_hosts.go)
}

// extraHost returns the host:port of the listener for role, starting it
// if it is not running. It fails once the registry is closed.
func (reg *Registry) extraHost(role hostRole) (string, error) {
	hs := &reg.hosts
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if srv := hs.servers[role]; srv != nil {
		return hs.addrs[role], nil
	}
	if hs.closed {
		return "", fmt.Errorf("ocitest: registry is closed")
	}
	addr := hs.addrs[role]
	if addr == "" {
		reg.mu.Lock()
		host, _, err := net.SplitHostPort(reg.addr)
		reg.mu.Unlock()
		if err != nil || host == "" || net.ParseIP(host).IsUnspecified() {
			host = "127.0.0.1"
		}
		addr = net.JoinHostPort(host, "0")
	}
	return reg.startExtraLocked(role, addr)
}

// startExtraLocked listens for role on addr; hs.mu is held.
func (reg *Registry) startExtraLocked(role hostRole, addr string) (string, error) {
	hs := &reg.hosts
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("ocitest: listening on %s: %w", addr, err)
	}
	srv := &httptest.Server{
		Listener: ln,
		Config: &http.Server{
			Handler:  reg,
			ErrorLog: discardLog,
			BaseContext: func(net.Listener) context.Context {
				return context.WithValue(context.Background(), hostRoleKey{}, role)
			},
		},
	}
	if reg.cfg.tls {
		if reg.cfg.hostname != "" {
			cert, err := reg.hostnameCert()
			if err != nil {
				ln.Close()
				return "", err
			}
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	if hs.servers == nil {
		hs.servers = map[hostRole]*httptest.Server{}
		hs.addrs = map[hostRole]string{}
	}
	hs.servers[role] = srv
	hs.addrs[role] = ln.Addr().String()
	return hs.addrs[role], nil
}

// closeHosts stops the extra listeners, cutting their connections; they
// stay stopped until restartHosts.
func (reg *Registry) closeHosts() {
	hs := &reg.hosts
	hs.mu.Lock()
	hs.closed = true
	servers := hs.servers
	hs.servers = nil
	hs.mu.Unlock()
	for _, srv := range servers {
		closeServer(srv)
	}
}

// restartHosts starts again, on their old ports, the extra listeners that
// ran before Close.
func (reg *Registry) restartHosts() error {
	hs := &reg.hosts
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.closed = false
	for role, addr := range hs.addrs {
		if hs.servers[role] != nil {
			continue
		}
		if _, err := reg.startExtraLocked(role, addr); err != nil {
			return err
		}
	}
	return nil
}

// closeServer shuts srv down without waiting on clients that stopped
// mid-request (as Registry.Close does for the main listener).
func closeServer(srv *httptest.Server) {
	done := make(chan struct{})
	go func() {
		srv.Close()
		close(done)
	}()
	for {
		srv.CloseClientConnections()
		select {
		case <-done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// hostURL is the base URL of an extra host, e.g. "http://127.0.0.1:41236".
func (reg *Registry) hostURL(hostport string) string {
	if reg.cfg.tls {
		return "https://" + hostport
	}
	return "http://" + hostport
}

// CDNHost is the host:port of the registry's CDN host, the second listener
// that blob redirects (quirks.RedirectBlobs) point at, on the registry's
// IP. It starts the listener if it is not running yet; "" once the
// registry is closed.
func (reg *Registry) CDNHost() string {
	h, _ := reg.extraHost(cdnHost)
	return h
}

// OtherRegistryHost is the host:port of the registry's second registry
// host, the listener that API redirects (quirks.RedirectAPI) point at: it
// serves the same store with the same quirks, the redirect excepted. It
// starts the listener if it is not running yet; "" once the registry is
// closed.
func (reg *Registry) OtherRegistryHost() string {
	h, _ := reg.extraHost(otherRegistryHost)
	return h
}
