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
// Digests use sha256 or sha512. A manifest can be fetched by either; its
// sha512 digest is computed the first time a client asks for one, since
// almost every client uses only sha256.
//
// The store owns what it is given: a manifest's content, and the strings
// of its parsed fields, which share the content's bytes, must not be
// changed by the caller afterwards.
//
// # Resource limits
//
// A store serves a client under test, which may misbehave: stream a body
// that never ends, open sessions in a loop, push more than the machine
// holds. The defaults are sized for a test process: generous for any real
// image, small enough that a runaway client gets a clear error instead of
// taking the test binary down. A refused push stores nothing and leaves
// any session as it was; n <= 0 removes a limit.
//
//	limit                 option               default  error                 HTTP (ocitest)
//	blob / session size   WithMaxBlobSize      1 GiB    ErrTooLarge           413 SIZE_INVALID
//	manifest size         WithMaxManifestSize  4 MiB    ErrTooLarge           413 SIZE_INVALID
//	bytes held in all     WithMaxStoreBytes    4 GiB    ErrStoreFull          413 SIZE_INVALID
//	open upload sessions  WithMaxUploads       1000     ErrTooManyUploads     429 TOOMANYREQUESTS
//	session lifetime      WithUploadTTL        none     ErrBlobUploadUnknown  404 BLOB_UPLOAD_UNKNOWN
//
// [Store.Usage] reports what the store holds as the limits count it.
package memstore
