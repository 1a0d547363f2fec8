// Package memstore is a concurrency-safe, in-memory content store for OCI
// registries: repositories, content-addressed blobs, manifests stored as the
// exact bytes pushed, sorted tags, the referrers index and blob upload
// sessions.
//
// It knows nothing about HTTP. Every error it returns carries the OCI
// distribution-spec error code that describes it (see [Error] and the
// Err* sentinels), so a server can translate errors to responses in one place.
//
// Blobs are stored once per digest and made visible per repository: pushing
// or mounting a blob links it into a repository, and a repository sees only
// the blobs linked into it. Blob bytes are hashed while they stream in and
// kept in the buffers they were read into; chunked uploads append buffers
// without copying earlier ones.
//
// Digests use sha256 or sha512.
package memstore
