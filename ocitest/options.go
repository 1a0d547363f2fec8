package ocitest

import (
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
)

// config is what the options set.
type config struct {
	store          *memstore.Store
	storeOpts      []memstore.Option
	logf           func(format string, args ...any)
	tls            bool
	addr           string
	chunkMinLength int64
	hostname       string
	clock          Clock
	maxRecorded    int
	quirks         []quirks.Quirk
	auth           *authConfig
}

// Option configures a Registry.
type Option func(*config)

// WithStore serves an existing store instead of a new empty one, for
// example one seeded before the server starts or shared by two registries.
func WithStore(s *memstore.Store) Option {
	return func(c *config) { c.store = s }
}

// WithStoreOptions configures the store the registry creates when it is
// not given one (WithStore), for example its resource limits:
//
//	reg := ocitest.New(t, ocitest.WithStoreOptions(
//		memstore.WithMaxBlobSize(1<<20),
//		memstore.WithMaxUploads(10),
//		memstore.WithUploadTTL(time.Minute),
//	))
//
// The store's errors reach clients with the spec's codes: a body over a
// size limit is 413 SIZE_INVALID, a session over the session limit 429
// TOOMANYREQUESTS, an expired session 404 BLOB_UPLOAD_UNKNOWN. The
// registry's clock (WithClock) is the store's clock unless these options
// set one. Combined with WithStore it is an error: configure that store
// where it is made.
func WithStoreOptions(opts ...memstore.Option) Option {
	return func(c *config) { c.storeOpts = append(c.storeOpts, opts...) }
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
// and time-driven behaviour such as expiry), e.g. a FakeClock. It also
// drives the store the registry creates (upload session expiry,
// memstore.WithUploadTTL), but not a store given with WithStore.
func WithClock(clock Clock) Option {
	return func(c *config) { c.clock = clock }
}

// WithMaxRecorded bounds how many requests are kept for Requests (default
// DefaultMaxRecorded); the oldest are forgotten first.
func WithMaxRecorded(n int) Option {
	return func(c *config) { c.maxRecorded = n }
}
