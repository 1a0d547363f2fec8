package quirks

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// UploadBehavior is how a request is answered as to blob uploads, mounts and repository creation.
type UploadBehavior struct {
	// SinglePost answers a monolithic POST ...?digest= with a session or
	// an error instead of storing the blob.
	SinglePost Setting[SinglePost]
	// PatchStatus answers a successful chunk PATCH with this status
	// instead of 202.
	PatchStatus Setting[int]
	// CompleteStatus answers the PUT that closes a session with this
	// status instead of 201.
	CompleteStatus Setting[int]
	// PatchRange reports a wrong Range after a chunk PATCH.
	PatchRange Setting[PatchRange]
	// ContentRange enforces Content-Range on PATCH and PUT differently.
	ContentRange Setting[ContentRangeRule]
	// RequireContentLength refuses POST, PATCH and PUT bodies sent
	// without Content-Length (chunked transfer encoding) with Value.
	RequireContentLength Setting[ErrorResponse]
	// MaxBody refuses upload requests whose body exceeds Value.Max bytes.
	MaxBody Setting[BodyLimit]
	// ChunkMin announces and enforces a minimum chunk size.
	ChunkMin Setting[ChunkMin]
	// Location writes session Locations in another form than the spec's
	// relative path.
	Location Setting[UploadLocationStyle]
	// RotateLocation gives a session a new Location after every PATCH and
	// refuses the old ones. Value remembers each session's current one.
	RotateLocation Setting[*UploadState]
	// NotResumable fails uploads whose chunks are retried, and loses
	// sessions now and then.
	NotResumable Setting[NotResumable]
	// SessionExpiry forgets sessions older than Value.TTL.
	SessionExpiry Setting[SessionExpiry]
	// Mount answers cross-repository mounts otherwise than the spec.
	Mount Setting[MountMode]
	// RejectReupload refuses, with Value, to complete an upload of a blob
	// the repository already has.
	RejectReupload Setting[ErrorResponse]
	// RequireRepo refuses pushes to repositories that do not exist yet.
	RequireRepo Setting[RepoRule]
}

// UploadState is the memory a stateful upload quirk keeps between
// requests: numbers by key (an upload session, a counter). The quirk's
// constructor makes it, so every registry given the same quirk value
// shares it; it is safe for concurrent use.
type UploadState struct {
	mu sync.Mutex
	v  map[string]int64
}

// Get returns the number under key and whether there is one.
func (s *UploadState) Get(key string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.v[key]
	return v, ok
}

// Set stores v under key.
func (s *UploadState) Set(key string, v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v == nil {
		s.v = map[string]int64{}
	}
	s.v[key] = v
}

// Add adds delta to the number under key (0 if none) and returns the sum.
func (s *UploadState) Add(key string, delta int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v == nil {
		s.v = map[string]int64{}
	}
	s.v[key] += delta
	return s.v[key]
}

// Delete forgets keys.
func (s *UploadState) Delete(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.v, k)
	}
}

// SinglePost is how a monolithic POST /v2/<name>/blobs/uploads/?digest=
// is answered.
type SinglePost struct {
	// StartSession opens an ordinary session (202 with Location) and
	// drops the body, as distribution 2.x does.
	StartSession bool
	// Error refuses the POST when StartSession is false.
	Error ErrorResponse
}

// PatchRangeMode is how the Range of a PATCH answer is wrong.
type PatchRangeMode int

// Patch range modes.
const (
	// PatchRangeCorrect is the spec: 0-<last byte received>.
	PatchRangeCorrect PatchRangeMode = iota
	// PatchRangeStuckAtFirstChunk keeps reporting the end of the first
	// chunk while later chunks are stored (AWS ECR).
	PatchRangeStuckAtFirstChunk
	// PatchRangeOffBy reports the end off by PatchRange.Offset bytes
	// (negative: smaller than received, as older Zot did).
	PatchRangeOffBy
	// PatchRangeOmit sends no Range header at all.
	PatchRangeOmit
	// PatchRangeZeroZeroWhenEmpty answers "0-0" for a session holding no
	// bytes, as distribution does. This fixture's spec mode already does
	// the same (the spec's <start>-<end> form cannot express "nothing"),
	// so the mode changes nothing here; it exists so presets can name it.
	PatchRangeZeroZeroWhenEmpty
)

// PatchRange is a patch range mode with its parameter and memory.
type PatchRange struct {
	Mode PatchRangeMode
	// Offset is what PatchRangeOffBy adds to the last byte reported.
	Offset int64
	// State remembers where each session's first chunk ended.
	State *UploadState
}

// ContentRangeMode is how Content-Range is enforced on upload requests.
type ContentRangeMode int

// Content-Range modes.
const (
	// ContentRangeOptional is the spec mode here: a PATCH may omit it, and
	// both "<start>-<end>" and "bytes <start>-<end>/<total>" are read.
	ContentRangeOptional ContentRangeMode = iota
	// ContentRangeRequired refuses a PATCH without Content-Range.
	ContentRangeRequired
	// ContentRangeRejectBytesUnit refuses the RFC 9110 form "bytes
	// 0-84521/*" on PATCH and PUT with ACR's answer.
	ContentRangeRejectBytesUnit
	// ContentRangePutAsChunk treats a PUT that carries Content-Range as a
	// chunk: larger than ContentRangeRule.MaxChunk bytes, it is refused.
	ContentRangePutAsChunk
)

// ContentRangeRule is a Content-Range mode with its parameter.
type ContentRangeRule struct {
	Mode ContentRangeMode
	// MaxChunk is the largest chunk ContentRangePutAsChunk accepts.
	MaxChunk int64
}

// TooLargeAnswer is how a request over the body size limit is answered.
type TooLargeAnswer int

// Answers to a request body over the limit.
const (
	TooLargeJSON  TooLargeAnswer = iota // 413 with the spec's JSON error body (SIZE_INVALID)
	TooLargeHTML                        // 413 with nginx's HTML page, as a proxy answers
	TooLargeText                        // 413 with ACR's plain text "413 Request Entity Too Large - AzureContainerRegistry"
	TooLargeReset                       // no answer: the connection is cut
)

// BodyLimit is the largest request body accepted and the answer beyond.
type BodyLimit struct {
	Max    int64
	Answer TooLargeAnswer
	// Error is the 413 written unless Answer is TooLargeReset.
	Error ErrorResponse
}

// ChunkMin is a minimum chunk size: every chunk but the last must be at
// least Min bytes.
type ChunkMin struct {
	Min int64
	// Advertise sends OCI-Chunk-Min-Length on the POST that opens a
	// session; without it the limit is enforced unannounced.
	Advertise bool
	// State remembers each session's size and whether its last chunk was
	// short.
	State *UploadState
}

// UploadLocationStyle is the form of a session's Location header.
type UploadLocationStyle int

// Location styles. The request's own host and scheme fill them in.
const (
	// UploadLocationRelative is the spec mode here: "/v2/<name>/blobs/uploads/<id>".
	UploadLocationRelative UploadLocationStyle = iota
	// UploadLocationAbsolute is "<scheme>://<host:port>/v2/...".
	UploadLocationAbsolute
	// UploadLocationSchemeless is "<host:port>/v2/..." with no scheme.
	UploadLocationSchemeless
	// UploadLocationDropPort is "<scheme>://<host>/v2/...": the port is
	// lost, as behind a proxy that does not forward it.
	UploadLocationDropPort
	// UploadLocationHTTPScheme is "http://<host:port>/v2/..." even for a
	// request made over https, as behind a TLS-terminating proxy.
	UploadLocationHTTPScheme
	// UploadLocationRotating gives the session a new Location
	// ("...?_state=<n>") after every PATCH and answers a stale one with
	// 404 BLOB_UPLOAD_UNKNOWN. It sets UploadBehavior.RotateLocation and
	// combines with the other styles.
	UploadLocationRotating
	// UploadLocationOtherHost is "<scheme>://<other host:port>/v2/...": the
	// session continues on another host, the fixture's second registry
	// listener (same IP, another port), which serves the same store.
	UploadLocationOtherHost
)

var uploadLocationNames = map[UploadLocationStyle]string{
	UploadLocationRelative:   "relative",
	UploadLocationAbsolute:   "absolute",
	UploadLocationSchemeless: "schemeless",
	UploadLocationDropPort:   "dropPort",
	UploadLocationHTTPScheme: "httpScheme",
	UploadLocationRotating:   "rotating",
	UploadLocationOtherHost:  "otherHost",
}

func (s UploadLocationStyle) String() string { return uploadLocationNames[s] }

// RetriedChunk is what happens to an upload when a chunk is sent again
// at an offset already received.
type RetriedChunk int

// Answers to a retried chunk. Every failing mode ends the session.
const (
	// RetriedChunkResumable is the spec: 416 with the session's Range.
	RetriedChunkResumable RetriedChunk = iota
	// RetriedChunkFailsACR is ACR's 404 BLOB_UPLOAD_INVALID "blob upload invalid".
	RetriedChunkFailsACR
	// RetriedChunkFailsECR is ECR's 416 BLOB_UPLOAD_INVALID "First byte
	// of the layer part is <sent> instead of <expected>", without Range.
	RetriedChunkFailsECR
)

// NotResumable is how uploads fail to resume.
type NotResumable struct {
	Retry RetriedChunk
	// LoseEvery > 0 loses the session on every LoseEvery-th PATCH or PUT
	// to a session (counted per registry): 404 BLOB_UPLOAD_UNKNOWN.
	LoseEvery int
	// State counts the requests.
	State *UploadState
}

// SessionExpiry forgets upload sessions TTL after they were opened, by
// the registry's clock.
type SessionExpiry struct {
	TTL time.Duration
	// State remembers when each session was opened.
	State *UploadState
}

// MountMode is how a cross-repository mount misbehaves.
type MountMode int

// Mount modes.
const (
	// MountSpec mounts, or opens a session when it cannot (the spec).
	MountSpec MountMode = iota
	// MountRequireFrom refuses mount= without from= with 400
	// INVALID_REQUEST "Invalid request" (Quay).
	MountRequireFrom
	// MountUnauthorizedIfSourceMissing answers a from= whose project (first
	// path component) does not exist with 401 UNAUTHORIZED "project <p>
	// not found" (Harbor).
	MountUnauthorizedIfSourceMissing
	// MountBadRequestOnUnknownSource answers a from= repository that does
	// not exist with 400 {"details":"invalid repository name"} (Docker Hub).
	MountBadRequestOnUnknownSource
	// MountForbidden answers every mount from another repository with 403
	// DENIED, as for a user who may not read the source.
	MountForbidden
	// MountOnlyIfReferenced mounts only blobs that a manifest in the from=
	// repository references; anything else opens a session (AWS ECR).
	MountOnlyIfReferenced
	// MountIgnored never mounts: every mount request opens a session (202).
	MountIgnored
)

var mountModeNames = map[MountMode]string{
	MountSpec:                        "spec",
	MountRequireFrom:                 "requireFrom",
	MountUnauthorizedIfSourceMissing: "unauthorizedIfSourceMissing",
	MountBadRequestOnUnknownSource:   "badRequestOnUnknownSource",
	MountForbidden:                   "forbidden",
	MountOnlyIfReferenced:            "onlyIfReferenced",
	MountIgnored:                     "ignore202",
}

func (m MountMode) String() string { return mountModeNames[m] }

// RepoRule is which repositories exist before anything is pushed to them.
type RepoRule struct {
	// Precreated are path.Match patterns of repositories that exist
	// although empty. Repositories holding anything exist anyway.
	Precreated []string
	// RegistryID is the account id ECR's message names.
	RegistryID string
}

func init() {
	register("no-single-post-upload", func() Quirk { return NoSinglePostUpload(http.StatusAccepted) })
	register("patch-status-nonstandard", func() Quirk { return UploadStatusCodes(http.StatusCreated, 0) })
	register("patch-range-wrong", func() Quirk { return WrongPatchRange(PatchRangeStuckAtFirstChunk, 0) })
	register("content-range-strict", func() Quirk { return StrictContentRange(ContentRangeRejectBytesUnit, 0) })
	register("upload-requires-content-length", RequireContentLength)
	register("request-body-size-limit", func() Quirk { return MaxRequestBody(20<<20, TooLargeText) })
	register("chunk-min-length", func() Quirk { return ChunkMinLength(5<<20, true) })
	register("upload-location-styles", func() Quirk { return UploadLocation(UploadLocationRotating) })
	register("upload-not-resumable", func() Quirk { return UploadNotResumable(RetriedChunkFailsACR, 0) })
	register("upload-session-expiry", func() Quirk { return UploadSessionExpiry(168 * time.Hour) })
	register("mount-misbehaviour", func() Quirk { return MountMisbehaviour(MountUnauthorizedIfSourceMissing) })
	register("reupload-existing-blob-rejected", RejectReupload)
	register("no-create-on-push", func() Quirk { return NoCreateOnPush() })
}

// NoSinglePostUpload stops POST /v2/<name>/blobs/uploads/?digest=<d> with
// the blob as body from being a complete upload. With status 202 the POST
// opens an ordinary session (202, Location, Range 0-0) and the body is
// dropped, as distribution 2.x and Nora do; the blob is not stored, so a
// client that took the POST for done pushes a manifest whose blob is
// missing. Any other status refuses the POST with that status and
// UNSUPPORTED (0 means 202). The spec tolerates registries without
// single-POST uploads, which is why cue's client never uses them;
// rust-oci-client wants them because Artifactory users who may not delete
// cannot clean up broken multi-request uploads.
//
// Catalog id no-single-post-upload. Evidence:
// https://github.com/distribution/distribution/issues/3230,
// https://github.com/getnora-io/nora/issues/688,
// https://github.com/distribution/distribution/issues/4065,
// https://github.com/oras-project/rust-oci-client/issues/205,
// https://github.com/opencontainers/distribution-spec/pull/239
func NoSinglePostUpload(status int) Quirk {
	if status == 0 {
		status = http.StatusAccepted
	}
	sp := SinglePost{StartSession: status == http.StatusAccepted}
	if !sp.StartSession {
		sp.Error = ErrorResponse{Status: status, Code: "UNSUPPORTED",
			Message: "monolithic upload by POST is not supported: open a session, then PUT"}
	}
	return newQuirk("no-single-post-upload", fmt.Sprint(status), func(b *Behavior, by string) { b.Uploads.SinglePost.set(sp, by) })
}

// UploadStatusCodes answers a successful chunk PATCH with patch instead of
// 202, and the PUT that closes a session with complete instead of 201 (0
// keeps the spec's status). AWS ECR answers PATCH with 201 Created; Pulp
// and GCR (historic) with 204 No Content; some registries close uploads
// with 200, 202 or 204. A 204 carries no Content-Length. regctl choked on
// Pulp's 204 and mise on ECR's 201; regclient and containerd now accept
// these statuses explicitly.
//
// Catalog id patch-status-nonstandard. Evidence:
// https://github.com/jdx/mise/pull/11376,
// https://github.com/openai/tart/issues/273,
// https://github.com/pulp/pulp_container/issues/2199,
// https://github.com/containerd/containerd/issues/1318,
// https://github.com/distribution/distribution/pull/2265
func UploadStatusCodes(patch, complete int) Quirk {
	var params []string
	if patch != 0 {
		params = append(params, fmt.Sprintf("patch=%d", patch))
	}
	if complete != 0 {
		params = append(params, fmt.Sprintf("put=%d", complete))
	}
	return newQuirk("patch-status-nonstandard", strings.Join(params, ","), func(b *Behavior, by string) {
		if patch != 0 {
			b.Uploads.PatchStatus.set(patch, by)
		}
		if complete != 0 {
			b.Uploads.CompleteStatus.set(complete, by)
		}
	})
}

// WrongPatchRange makes the Range header of a chunk PATCH's answer wrong
// while the chunk is stored correctly: stuck at the end of the first
// chunk (AWS ECR: PATCH #2 "Content-Range: 10485760-20971519" answered
// "Range: 0-10485759"), off by off bytes (older Zot reported far less than
// it had), or missing. A client that resumes from the reported offset
// re-sends data and gets 416; regclient re-syncs with a GET of the upload
// status instead, which stays correct. PatchRangeZeroZeroWhenEmpty is the
// fixture's spec mode already (see its doc). off is used by PatchRangeOffBy
// only.
//
// Catalog id patch-range-wrong. Evidence:
// https://github.com/aws/containers-roadmap/issues/2831,
// https://github.com/crashappsec/chalk/pull/682,
// https://github.com/regclient/regclient/issues/961,
// https://github.com/distribution/distribution/issues/2363
func WrongPatchRange(mode PatchRangeMode, off int64) Quirk {
	pr := PatchRange{Mode: mode, Offset: off, State: &UploadState{}}
	name := map[PatchRangeMode]string{
		PatchRangeCorrect:           "correct",
		PatchRangeStuckAtFirstChunk: "stuckAtFirstChunk",
		PatchRangeOffBy:             fmt.Sprintf("offBy(%d)", off),
		PatchRangeOmit:              "omit",
		PatchRangeZeroZeroWhenEmpty: "zeroZeroWhenEmpty",
	}[mode]
	return newQuirk("patch-range-wrong", name, func(b *Behavior, by string) { b.Uploads.PatchRange.set(pr, by) })
}

// StrictContentRange enforces Content-Range on upload requests otherwise
// than this fixture's lenient spec mode:
//   - ContentRangeRequired: a PATCH without Content-Range gets 400
//     BLOB_UPLOAD_INVALID, as registries that follow the spec to the letter
//     do (the conformance suite's streamed PATCH omits it; podman sends one
//     PATCH without it).
//   - ContentRangeRejectBytesUnit: the RFC 9110 form "bytes 0-84521/*" on a
//     PATCH or PUT gets ACR's 400
//     {"Range":"bytes 0-84521/*","Reason":"the Content-Range header format is invalid"};
//     .NET's typed header produced that form.
//   - ContentRangePutAsChunk: a PUT carrying Content-Range is a chunk, and
//     one larger than maxChunk bytes gets 400 SIZE_INVALID, as registries
//     that check the "chunk" size of a monolithic PUT do (tart stopped
//     sending Content-Range on monolithic PUTs). maxChunk is used by this
//     mode only.
//
// Catalog id content-range-strict. Evidence:
// https://github.com/dotnet/sdk-container-builds/pull/258,
// https://github.com/openai/tart/pull/179,
// https://github.com/opencontainers/distribution-spec/pull/576,
// https://github.com/pulp/pulp_container/pull/1274
func StrictContentRange(mode ContentRangeMode, maxChunk int64) Quirk {
	rule := ContentRangeRule{Mode: mode, MaxChunk: maxChunk}
	name := map[ContentRangeMode]string{
		ContentRangeOptional:        "optional",
		ContentRangeRequired:        "required",
		ContentRangeRejectBytesUnit: "rejectBytesUnitForm",
		ContentRangePutAsChunk:      fmt.Sprintf("putValidatedAsChunk(%d)", maxChunk),
	}[mode]
	return newQuirk("content-range-strict", name, func(b *Behavior, by string) { b.Uploads.ContentRange.set(rule, by) })
}

// RequireContentLength refuses POST, PATCH and PUT upload requests whose
// body comes without Content-Length (Transfer-Encoding: chunked) with 400
// CONTENT_LENGTH_INVALID, as ACR does. Any client streaming an io.Reader of
// unknown size hits it; Harbor's replication to ACR failed because Go
// ignores a Content-Length set as a header rather than in
// Request.ContentLength.
//
// Catalog id upload-requires-content-length. Evidence:
// https://github.com/goharbor/harbor/pull/23016
func RequireContentLength() Quirk {
	e := ErrorResponse{Status: http.StatusBadRequest, Code: "CONTENT_LENGTH_INVALID",
		Message: "the Content-Length header is missing or invalid; chunked transfer encoding is not supported"}
	return newQuirk("upload-requires-content-length", "", func(b *Behavior, by string) { b.Uploads.RequireContentLength.set(e, by) })
}

// MaxRequestBody refuses blob upload requests (monolithic POST, PATCH,
// PUT) whose body is larger than max bytes, as ACR (monolithic PUTs above
// about 20 MB), GHCR (10 GB per layer) and registries behind nginx
// (client_max_body_size) or Cloudflare (100 MB) do. The answer is 413
// with a JSON error body, with nginx's HTML page, with ACR's plain text,
// or a connection cut without an answer (ACR with a large single chunk).
// A body of announced size is refused before it is read; a streamed one
// once max bytes have arrived. Harbor's replication to ACR, ttl.sh and
// mirror-registry users failed on it; regclient falls back from one PUT to
// chunks.
//
// Catalog id request-body-size-limit. Evidence:
// https://github.com/goharbor/harbor/issues/23015,
// https://github.com/goharbor/harbor/pull/23016,
// https://github.com/Azure/azure-sdk-for-net/pull/32059,
// https://github.com/replicatedhq/ttl.sh/issues/104,
// https://github.com/quay/mirror-registry/issues/179,
// https://github.com/aquaproj/aqua/issues/4018,
// https://github.com/distribution/distribution/pull/4144,
// https://github.com/opencontainers/distribution-spec/pull/486
func MaxRequestBody(max int64, answer TooLargeAnswer) Quirk {
	limit := BodyLimit{Max: max, Answer: answer}
	var name string
	switch answer {
	case TooLargeJSON:
		name = "413json"
		limit.Error = ErrorResponse{Status: http.StatusRequestEntityTooLarge, Code: "SIZE_INVALID",
			Message: fmt.Sprintf("request body exceeds the limit of %d bytes", max)}
	case TooLargeHTML:
		name = "413html"
		limit.Error = ErrorResponse{Status: http.StatusRequestEntityTooLarge, ContentType: "text/html",
			Body: "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n" +
				"<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"}
	case TooLargeText:
		name = "413text"
		limit.Error = ErrorResponse{Status: http.StatusRequestEntityTooLarge, ContentType: "text/plain",
			Body: "413 Request Entity Too Large - AzureContainerRegistry"}
	case TooLargeReset:
		name = "resetConnection"
	}
	return newQuirk("request-body-size-limit", fmt.Sprintf("%d,%s", max, name), func(b *Behavior, by string) { b.Uploads.MaxBody.set(limit, by) })
}

// ChunkMinLength makes every chunk but the last of an upload at least n
// bytes, as S3-backed registries and AWS ECR require ("All layer parts
// except the last part should be at least 5MB"). With advertise the POST
// that opens a session announces it in OCI-Chunk-Min-Length (the header
// was standardised for them); without, the limit is enforced unannounced.
// A short chunk is accepted, since it may be the last; the next PATCH, or
// a PUT with a body, after it is refused with 400 BLOB_UPLOAD_INVALID.
// The conformance suite's 23-byte chunks failed on such registries;
// regclient honours the header (bounded against huge values).
//
// Catalog id chunk-min-length. Evidence:
// https://github.com/opencontainers/distribution-spec/issues/374,
// https://github.com/opencontainers/distribution-spec/pull/391,
// https://github.com/opencontainers/distribution-spec/pull/481,
// https://github.com/regclient/regclient/pull/394,
// https://github.com/open-component-model/open-component-model/pull/3642
func ChunkMinLength(n int64, advertise bool) Quirk {
	cm := ChunkMin{Min: n, Advertise: advertise, State: &UploadState{}}
	name := fmt.Sprint(n)
	if !advertise {
		name += ",unannounced"
	}
	return newQuirk("chunk-min-length", name, func(b *Behavior, by string) { b.Uploads.ChunkMin.set(cm, by) })
}

// UploadLocation writes the Location of upload sessions (on the POST that
// opens one, PATCH, GET status and 416 answers) in another style than the
// spec mode's relative path: absolute; without a scheme (containerd
// accepts "host/path"); without the port (distribution behind a proxy,
// https://github.com/distribution/distribution/issues/2225; oras-go re-adds
// a dropped :443); with http:// although the request was https
// (distribution behind a TLS-terminating proxy; oras-go refuses the
// downgrade). UploadLocationRotating gives the session a new Location after
// every PATCH and answers the old ones with 404 BLOB_UPLOAD_UNKNOWN, as
// GCR did; clients that reuse the first Location fail. It combines with
// one of the other styles. UploadLocationOtherHost continues the session on
// another host, as registries that hand uploads to a storage front end do;
// oras-go refuses a Location on another host or port (GHSA-jxpm-75mh-9fp7),
// so there it should fail, while clients that follow the Location succeed.
// UploadLocationRelative is the spec mode (GHCR answers relative
// Locations; swift-container-plugin had to resolve them).
//
// Catalog id upload-location-styles. Evidence:
// https://github.com/apple/swift-container-plugin/pull/44,
// https://github.com/oras-project/oras/issues/532,
// https://github.com/containerd/containerd/issues/1318,
// https://github.com/distribution/distribution/issues/123,
// https://github.com/distribution/distribution/issues/2225,
// https://github.com/oras-project/oras-go/issues/177,
// https://github.com/oras-project/oras-go/pull/1282
func UploadLocation(style UploadLocationStyle) Quirk {
	if style == UploadLocationRotating {
		st := &UploadState{}
		return newQuirk("upload-location-styles", style.String(), func(b *Behavior, by string) { b.Uploads.RotateLocation.set(st, by) })
	}
	return newQuirk("upload-location-styles", style.String(), func(b *Behavior, by string) { b.Uploads.Location.set(style, by) })
}

// UploadNotResumable makes uploads fragile. With a failing retry mode, a
// chunk sent again at an offset the session already holds (a PATCH, or a
// PUT's last chunk, retried after a connection reset) ends the whole
// session: ACR answers 404 BLOB_UPLOAD_INVALID "blob upload invalid", AWS
// ECR 416 BLOB_UPLOAD_INVALID "First byte of the layer part is 0 instead
// of 11304960"; the spec answers 416 with the Range to resume from. With
// loseEvery > 0, every loseEvery-th PATCH or PUT to a session loses it: 404
// BLOB_UPLOAD_UNKNOWN, as GHCR intermittently answers the final PUT. ggcr
// retries the whole layer on BLOB_UPLOAD_INVALID; jib and the Azure SDK
// failed.
//
// Catalog id upload-not-resumable. Evidence:
// https://github.com/Azure/azure-sdk-for-js/issues/25448,
// https://github.com/google/go-containerregistry/issues/431,
// https://github.com/google/go-containerregistry/pull/459,
// https://github.com/GoogleContainerTools/jib/issues/4301,
// https://github.com/opencontainers/distribution-spec/pull/366
func UploadNotResumable(retry RetriedChunk, loseEvery int) Quirk {
	nr := NotResumable{Retry: retry, LoseEvery: loseEvery, State: &UploadState{}}
	name := map[RetriedChunk]string{RetriedChunkResumable: "resumable", RetriedChunkFailsACR: "acr", RetriedChunkFailsECR: "ecr"}[retry]
	if loseEvery > 0 {
		name += fmt.Sprintf(",loseEvery=%d", loseEvery)
	}
	return newQuirk("upload-not-resumable", name, func(b *Behavior, by string) { b.Uploads.NotResumable.set(nr, by) })
}

// UploadSessionExpiry forgets upload sessions ttl after the POST that
// opened them, by the registry's clock (WithClock): a later PATCH, PUT,
// GET or DELETE of the session gets 404 BLOB_UPLOAD_UNKNOWN. distribution
// and GitLab purge uploads older than 168h by default; GHCR limits an
// upload to 10 minutes.
//
// Catalog id upload-session-expiry. Evidence:
// https://gitlab.com/gitlab-org/omnibus-gitlab/-/merge_requests/3441,
// https://gitlab.com/gitlab-org/container-registry/-/issues/428,
// https://github.com/aquaproj/aqua/issues/4018
func UploadSessionExpiry(ttl time.Duration) Quirk {
	se := SessionExpiry{TTL: ttl, State: &UploadState{}}
	return newQuirk("upload-session-expiry", ttl.String(), func(b *Behavior, by string) { b.Uploads.SessionExpiry.set(se, by) })
}

// MountMisbehaviour answers cross-repository mounts (POST
// /v2/<name>/blobs/uploads/?mount=<d>&from=<repo>) otherwise than the
// spec's "201 if mounted, else 202 and a session":
//   - MountRequireFrom: mount= without from= gets 400 INVALID_REQUEST
//     "Invalid request" (Quay; ggcr only sends mount with from).
//   - MountUnauthorizedIfSourceMissing: a from= whose project does not
//     exist gets 401 UNAUTHORIZED "project <p> not found" (Harbor; ggcr did
//     not retry it).
//   - MountBadRequestOnUnknownSource: a from= repository that does not
//     exist gets 400 {"details":"invalid repository name"} (Docker Hub).
//   - MountForbidden: any mount from another repository gets 403 DENIED
//     (users who may not read the source; containerd added a fallback).
//   - MountOnlyIfReferenced: only blobs a manifest in from= references are
//     mounted; others, and mounts without from=, get a session (AWS ECR).
//   - MountIgnored: nothing is ever mounted; every mount gets a session
//     (cue's client takes that 202 as "mount unsupported").
//
// Catalog id mount-misbehaviour. Evidence:
// https://github.com/goharbor/harbor/issues/17097,
// https://github.com/google/go-containerregistry/pull/1406,
// https://github.com/google/go-containerregistry/pull/1681,
// https://github.com/google/go-containerregistry/pull/1743,
// https://github.com/google/go-containerregistry/pull/401,
// https://github.com/google/go-containerregistry/issues/1609,
// https://github.com/oras-project/rust-oci-client/issues/235,
// https://github.com/containerd/containerd/pull/14118,
// https://github.com/moby/moby/pull/20580,
// https://github.com/estesp/manifest-tool/issues/53,
// https://github.com/aws/containers-roadmap/issues/2860,
// https://github.com/bazel-contrib/rules_img/pull/712
func MountMisbehaviour(mode MountMode) Quirk {
	return newQuirk("mount-misbehaviour", mode.String(), func(b *Behavior, by string) { b.Uploads.Mount.set(mode, by) })
}

// RejectReupload refuses to complete an upload (the closing PUT, or a
// monolithic POST) of a blob the repository already has with 400
// BLOB_UPLOAD_INVALID "There was an error processing the upload and it
// must be restarted.", as JFrog Artifactory does for users who may deploy
// but not overwrite. cue, which pushed the empty config without checking
// with HEAD first, failed; clients that HEAD before pushing never notice.
//
// Catalog id reupload-existing-blob-rejected. Evidence:
// https://github.com/cue-lang/cue/issues/3340
func RejectReupload() Quirk {
	e := ErrorResponse{Status: http.StatusBadRequest, Code: "BLOB_UPLOAD_INVALID",
		Message: "There was an error processing the upload and it must be restarted."}
	return newQuirk("reupload-existing-blob-rejected", "", func(b *Behavior, by string) { b.Uploads.RejectReupload.set(e, by) })
}

// NoCreateOnPush makes repositories exist only once something is in them
// or they are pre-created: an upload POST (start, monolithic, mount) or a
// manifest PUT to any other repository gets 404 NAME_UNKNOWN "The
// repository with name '<name>' does not exist in the registry with id
// '123456789012'", as AWS ECR answers. precreated are path.Match patterns
// ("team/*") of repositories that exist although empty; content seeded
// into the store (Registry.PushImage and friends) creates its repository.
// regclient, sinker, concourse, CNAB and zarf users had to create ECR
// repositories first.
//
// Catalog id no-create-on-push. Evidence:
// https://github.com/regclient/regclient/issues/869,
// https://github.com/plexsystems/sinker/issues/55,
// https://github.com/concourse/docker-image-resource/issues/197,
// https://github.com/cnabio/cnab.io/issues/49,
// https://github.com/zarf-dev/zarf/issues/1938,
// https://github.com/aws/containers-roadmap/issues/853,
// https://github.com/mulgadc/spinifex/pull/400
func NoCreateOnPush(precreated ...string) Quirk {
	rule := RepoRule{Precreated: append([]string(nil), precreated...), RegistryID: "123456789012"}
	return newQuirk("no-create-on-push", strings.Join(rule.Precreated, ","), func(b *Behavior, by string) { b.Uploads.RequireRepo.set(rule, by) })
}
