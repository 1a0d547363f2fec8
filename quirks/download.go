package quirks

import (
	"fmt"
	"sync"
)

// DownloadBehavior is how blob downloads are answered: Range requests,
// content encoding, and bodies cut short.
type DownloadBehavior struct {
	// Ranges changes how Range requests on blobs are answered and what
	// Accept-Ranges says.
	Ranges Setting[Ranges]
	// GzipBlobs gzips blob GET bodies for clients that accept gzip.
	GzipBlobs Setting[bool]
	// Truncate cuts blob GET bodies short.
	Truncate Setting[Truncation]
}

// RangeMode is how a blob GET with a Range header is answered.
type RangeMode int

// Range modes.
const (
	// RangesHonored serves ranges as the spec says; only Accept-Ranges
	// changes.
	RangesHonored RangeMode = iota
	// RangesIgnored answers 200 with the whole blob (distribution
	// without a cache layer).
	RangesIgnored
	// RangesClosedOnly serves only one closed range "bytes=first-last"
	// that lies within the blob; an open ("bytes=N-") or suffix range,
	// or one past the end, is 416 BLOB_UNKNOWN (ggcr's pkg/registry).
	RangesClosedOnly
	// RangesStartEarlier answers 206 with a body (and Content-Range)
	// starting Ranges.Earlier bytes before the requested offset, as some
	// caches do.
	RangesStartEarlier
)

// AcceptRanges is the Accept-Ranges header of blob responses.
type AcceptRanges int

// Accept-Ranges values.
const (
	AcceptRangesOmitted AcceptRanges = iota // no header (six of eight registries probed in 2026)
	AcceptRangesBytes                       // "bytes", as the fixture sends in spec mode
	AcceptRangesNone                        // "none" (GCR in 2017), although ranges may work
)

// Ranges is how a registry treats Range requests on blobs.
type Ranges struct {
	Mode RangeMode
	// Earlier is how many bytes before the requested offset a
	// RangesStartEarlier answer starts (never before byte 0).
	Earlier int64
	// AcceptRanges is the header blob GETs and HEADs carry.
	AcceptRanges AcceptRanges
}

// Truncation cuts blob bodies short: the connection is closed after After
// bytes of the body, for the next Times responses longer than that (0:
// every one).
type Truncation struct {
	After int64
	Times int

	state *counter
}

// counter is the shared count behind a count-based quirk.
type counter struct {
	mu sync.Mutex
	n  int
}

// Take counts one truncation and reports whether this response is cut:
// false once Times responses have been.
func (t Truncation) Take() bool {
	if t.Times <= 0 || t.state == nil {
		return true
	}
	t.state.mu.Lock()
	defer t.state.mu.Unlock()
	if t.state.n >= t.Times {
		return false
	}
	t.state.n++
	return true
}

func init() {
	register("range-handling", func() Quirk { return RangeHandling(Ranges{Mode: RangesIgnored}) })
	register("gzip-content-encoding-on-blobs", GzipBlobs)
	register("truncated-blob-stream", func() Quirk { return TruncateBlobs(1024, 1) })
}

// RangeHandling changes how blob GETs with a Range header are answered:
// Range: bytes=1000- gets 200 with the whole blob (distribution when no
// cache layer is present), or 416 BLOB_UNKNOWN "We don't understand your
// Range" for anything but one closed range (ggcr's pkg/registry, which
// Sscanf's bytes=%d-%d), or 206 with Content-Range: bytes 0-2/6 starting
// before the requested offset (caches). r.AcceptRanges also changes the
// Accept-Ranges header of blob GETs and HEADs: most registries send none
// although they honour ranges, GCR sent "none". Clients that resume or
// parallelise downloads with ranges corrupt blobs by appending a 200 body
// (docker model-runner), must detect the ignored range (containerd's
// errContentRangeIgnored), or switch to closed ranges (stereoscope).
//
// Catalog id range-handling. Evidence:
// https://github.com/anchore/stereoscope/pull/695,
// https://github.com/distribution/distribution/issues/4667,
// https://github.com/docker/model-runner/pull/873,
// https://github.com/openai/tart/issues/1255,
// https://github.com/xroche/httrack/pull/428,
// https://github.com/artifact-keeper/artifact-keeper/pull/3766
func RangeHandling(r Ranges) Quirk {
	params := map[RangeMode]string{RangesHonored: "honor", RangesIgnored: "ignore", RangesClosedOnly: "closedOnly", RangesStartEarlier: "startEarlier"}[r.Mode]
	if r.Mode == RangesStartEarlier {
		params += fmt.Sprintf("(%d)", r.Earlier)
	}
	params += ",acceptRanges=" + map[AcceptRanges]string{AcceptRangesOmitted: "omit", AcceptRangesBytes: "bytes", AcceptRangesNone: "none"}[r.AcceptRanges]
	return newQuirk("range-handling", params, func(b *Behavior, by string) { b.Download.Ranges.set(r, by) })
}

// GzipBlobs compresses blob GET bodies for clients that send
// Accept-Encoding: gzip: the answer carries Content-Encoding: gzip and the
// Content-Length of the compressed bytes, while Docker-Content-Digest
// stays the digest of the blob itself, as registry.access.redhat.com
// (behind Akamai) and compressing proxies do. A client that sets its own
// Accept-Encoding gets no transparent decompression from Go's transport:
// containerd must decode, and Quay's proxy cache stored the compressed
// bytes and failed with a digest mismatch until it sent Accept-Encoding:
// identity. Range requests and HEADs are answered as usual.
//
// Catalog id gzip-content-encoding-on-blobs. Evidence:
// https://github.com/quay/quay/pull/1310
func GzipBlobs() Quirk {
	return newQuirk("gzip-content-encoding-on-blobs", "", func(b *Behavior, by string) { b.Download.GzipBlobs.set(true, by) })
}

// TruncateBlobs cuts blob GET bodies off: the status line and headers
// (Content-Length of the whole body) go out, then after bytes of the body,
// then the connection closes, so the client reads an unexpected EOF. Only
// bodies longer than after are cut, the next times of them (0: every one).
// GitLab.com, Docker Hub's and GHCR's CDNs and any proxy do this under
// load; kaniko failed on GitLab's EOFs, regclient resumes with a Range
// request, ggcr wraps its transport in retries. The count is kept in the
// quirk value: make a new one per registry.
//
// Catalog id truncated-blob-stream. Evidence:
// https://github.com/google/go-containerregistry/issues/618,
// https://github.com/docker/hub-feedback/issues/1233,
// https://github.com/docker/build-push-action/issues/251
func TruncateBlobs(after int64, times int) Quirk {
	t := Truncation{After: max(after, 0), Times: times, state: &counter{}}
	params := fmt.Sprintf("after=%d", t.After)
	if times > 0 {
		params += fmt.Sprintf(",times=%d", times)
	}
	return newQuirk("truncated-blob-stream", params, func(b *Behavior, by string) { b.Download.Truncate.set(t, by) })
}
