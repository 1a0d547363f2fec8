package ocitest

import (
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
)

// config is what the options set.
type config struct {
	store          *memstore.Store
	logf           func(format string, args ...any)
	tls            bool
	addr           string
	chunkMinLength int64
	hostname       string
	clock          Clock
	maxRecorded    int
	quirks         []quirks.Quirk
}

// Option configures a Registry.
type Option func(*config)

// WithStore serves an existing store instead of a new empty one, for
// example one seeded before the server starts or shared by two registries.
func WithStore(s *memstore.Store) Option {
	return func(c *config) { c.store = s }
}

// WithLogf logs one line per request through logf (t.Logf fits). The
// registry is quiet by default.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// WithTLS serves HTTPS with a certificate for 127.0.0.1 that the
// registry's Client trusts.
func WithTLS() Option {
	return func(c *config) { c.tls = true }
}

// WithAddr listens on addr (host:port) instead of a free loopback port.
// It is meant for the standalone command; tests should keep the default.
func WithAddr(addr string) Option {
	return func(c *config) { c.addr = addr }
}

// WithChunkMinLength announces a minimum chunk size for chunked uploads in
// the OCI-Chunk-Min-Length header of upload POST responses. n <= 0 sends no
// header.
func WithChunkMinLength(n int64) Option {
	return func(c *config) { c.chunkMinLength = n }
}

// WithHostname makes the registry answer to hostname (e.g.
// "123456789012.dkr.ecr.us-east-1.amazonaws.com"), for clients that behave
// per host name: Host, URL and Ref use it, the TLS certificate (WithTLS)
// names it, and Client and Transport dial the registry's loopback port for
// it. Other clients need the same dialing; nothing resolves the name.
func WithHostname(hostname string) Option {
	return func(c *config) { c.hostname = hostname }
}

// WithClock sets the clock the registry reads time from (request times,
// and time-driven behaviour such as expiry), e.g. a FakeClock.
func WithClock(clock Clock) Option {
	return func(c *config) { c.clock = clock }
}

// WithMaxRecorded bounds how many requests are kept for Requests (default
// DefaultMaxRecorded); the oldest are forgotten first.
func WithMaxRecorded(n int) Option {
	return func(c *config) { c.maxRecorded = n }
}
