package ocitest

import (
	"github.com/ocifixture/ocifixture/memstore"
)

// config is what the options set.
type config struct {
	store          *memstore.Store
	logf           func(format string, args ...any)
	tls            bool
	addr           string
	chunkMinLength int64
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
