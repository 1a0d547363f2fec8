package ocitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The stress test: many goroutines drive one registry over HTTP with a
// deterministic (per goroutine) mix of blob pushes (monolithic, POST+PUT,
// chunked, sha512), tag moves, pulls, manifest and blob deletes, referrers,
// listings, mounts, and uploads abandoned, cut mid-body, raced or refused,
// each answer checked against what the concurrent world allows; afterwards
// the store's invariants are checked on its snapshot and over HTTP. Run it
// with -race. Config blobs are never deleted (the registry lets a client
// delete a blob a manifest references, as the spec does), so every stored
// image's config must be in its repository.

const (
	stressWorkers      = 16
	stressOps          = 300 // operations per worker (about 2 requests each)
	stressOpsShort     = 40  // under -short
	stressMaxErrors    = 40  // stop every worker after this many failures
	stressSettleWait   = 10 * time.Second
	stressSharedBlobs  = 16
	stressUniqueBlobs  = 20 // per worker
	stressPoolImages   = 10
	stressPoolIndexes  = 2
	stressSeedPerRepo  = 4
	stressTypeSig      = "application/vnd.ocifixture.stress.signature"
	stressTypeSBOM     = "application/vnd.ocifixture.stress.sbom"
	stressBaseTag      = "base"
	stressOctetStream  = "Content-Type: application/octet-stream"
	stressChunkedLimit = 3 // at most this many PATCHes per chunked upload
)

var (
	stressSeed  = uint64(0xC0FFEE)
	stressRepos = []string{"stress/alpha", "stress/beta", "stress/gamma"}
	stressTags  = []string{"t0", "t1", "t2", "t3", "t4"}
)

// stressManifest is a manifest the workers may push, with what it needs.
type stressManifest struct {
	digest       digest.Digest
	mediaType    string
	bytes        []byte
	blobs        [][]byte      // pushed before the manifest (config first)
	config       digest.Digest // "" for an index
	subject      digest.Digest // "" without a subject
	artifactType string        // as the referrers API reports it
}

// stressWorld is the content every worker draws from. It is built before
// the workers start and only read afterwards.
type stressWorld struct {
	blobs     map[digest.Digest][]byte // every blob that may ever be stored
	shared    [][]byte                 // pushed by every worker into every repo
	unique    [][][]byte               // unique[w]: blobs only worker w pushes
	seeded    map[string][]digest.Digest
	base      *stressManifest   // seeded under "base"; never moved or deleted
	images    []*stressManifest // image manifests and indexes, tagged and deleted
	referrers []*stressManifest // artifacts with a subject
	manifests map[digest.Digest]*stressManifest
	deletable map[digest.Digest]bool // blobs workers delete: the shared ones
	subjects  []digest.Digest        // every subject some referrer names
	tagSet    map[string]bool
}

// stressBytes is n deterministic pseudo-random bytes.
func stressBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// stressSize draws a blob size: mostly small, sometimes large enough that
// chunks cross the server's read buffers, now and then empty.
func stressSize(rng *rand.Rand) int {
	switch r := rng.IntN(20); {
	case r == 0:
		return 0
	case r < 3:
		return 64<<10 + rng.IntN(192<<10)
	default:
		return 1 + rng.IntN(8<<10)
	}
}

func newStressWorld() *stressWorld {
	rng := rand.New(rand.NewPCG(0x5eed, 1))
	w := &stressWorld{
		blobs:     map[digest.Digest][]byte{},
		seeded:    map[string][]digest.Digest{},
		manifests: map[digest.Digest]*stressManifest{},
		deletable: map[digest.Digest]bool{},
		tagSet:    map[string]bool{stressBaseTag: true},
	}
	add := func(b []byte) []byte {
		w.blobs[digest.FromBytes(b)] = b
		return b
	}
	for i := range stressSharedBlobs {
		n := stressSize(rng)
		if i == 0 {
			n = 0 // the empty blob, pushed by everyone
		}
		b := add(stressBytes(rng, n))
		w.blobs[digest.SHA512.FromBytes(b)] = b // pushed by sha512 too
		w.deletable[digest.FromBytes(b)] = true
		w.deletable[digest.SHA512.FromBytes(b)] = true
		w.shared = append(w.shared, b)
	}
	for range stressWorkers {
		var mine [][]byte
		for range stressUniqueBlobs {
			mine = append(mine, add(stressBytes(rng, stressSize(rng))))
		}
		w.unique = append(w.unique, mine)
	}
	for _, repo := range stressRepos {
		for range stressSeedPerRepo {
			w.seeded[repo] = append(w.seeded[repo], digest.FromBytes(add(stressBytes(rng, 1+rng.IntN(4<<10)))))
		}
	}
	image := func(seed string, layer []byte) *stressManifest {
		cfg := add([]byte(`{"architecture":"amd64","os":"linux","stress":"` + seed + `"}`))
		m := ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageManifest,
			Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))},
			Layers:    []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}},
		}
		b := mustJSON(m)
		return &stressManifest{
			digest: digest.FromBytes(b), mediaType: m.MediaType, bytes: b,
			blobs: [][]byte{cfg, layer}, config: m.Config.Digest, artifactType: m.Config.MediaType,
		}
	}
	w.base = image("base", w.shared[1])
	w.manifests[w.base.digest] = w.base
	for i := range stressPoolImages {
		w.images = append(w.images, image(fmt.Sprintf("img%d", i), w.shared[1+i%(stressSharedBlobs-1)]))
	}
	for i := range stressPoolIndexes {
		ix := ocispec.Index{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageIndex,
			Manifests: []ocispec.Descriptor{w.images[2*i].descriptor(), w.images[2*i+1].descriptor()},
		}
		b := mustJSON(ix)
		w.images = append(w.images, &stressManifest{digest: digest.FromBytes(b), mediaType: ix.MediaType, bytes: b})
	}
	// Referrers: two artifact types for most pool manifests (indexes
	// included), and two whose subject is never pushed.
	var subjects []ocispec.Descriptor
	for i, m := range w.images {
		if i%5 != 4 {
			subjects = append(subjects, m.descriptor())
		}
	}
	ghost := add([]byte("never pushed as a manifest"))
	subjects = append(subjects, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(ghost), Size: int64(len(ghost))})
	for i, s := range subjects {
		for j, at := range []string{stressTypeSig, stressTypeSBOM} {
			art := NewArtifact(at, &s, add([]byte(fmt.Sprintf("%s of subject %d (%d)", at, i, j))))
			sm := &stressManifest{
				digest: art.Digest(), mediaType: art.Descriptor().MediaType, bytes: art.Bytes(),
				config: art.Config.Descriptor.Digest, subject: s.Digest, artifactType: at,
			}
			for _, b := range art.Blobs() {
				sm.blobs = append(sm.blobs, add(b.Data))
			}
			w.referrers = append(w.referrers, sm)
		}
		w.subjects = append(w.subjects, s.Digest)
	}
	for _, m := range slices.Concat(w.images, w.referrers) {
		w.manifests[m.digest] = m
	}
	for _, t := range stressTags {
		w.tagSet[t] = true
	}
	return w
}

func (m *stressManifest) descriptor() ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: m.mediaType, Digest: m.digest, Size: int64(len(m.bytes))}
}

// seed stores what exists before the workers start: per repository a few
// blobs (mount sources) and a base image under the tag "base".
func (w *stressWorld) seed(t *testing.T, reg *Registry) {
	t.Helper()
	base := w.base
	for _, repo := range stressRepos {
		for _, d := range w.seeded[repo] {
			reg.PushBlob(t, repo, w.blobs[d])
		}
		for _, b := range base.blobs {
			reg.PushBlob(t, repo, b)
		}
		if _, err := reg.Store().PutManifest(repo, stressBaseTag, base.mediaType, slices.Clone(base.bytes)); err != nil {
			t.Fatal(err)
		}
	}
}

// stressRun is the state the workers share.
type stressRun struct {
	t        *testing.T
	reg      *Registry
	base     string
	client   *http.Client
	world    *stressWorld
	closed   atomic.Bool  // the registry is being closed: failures are expected
	requests atomic.Int64 // HTTP requests sent
	aborted  atomic.Int64 // of which deliberately cut by the client
	errors   atomic.Int64

	mu        sync.Mutex
	abandoned map[string]stressUpload // upload id → session left open on purpose
	ended     []stressUpload          // sessions completed or cancelled
}

type stressUpload struct {
	id, repo string
	size     int64
}

// stressWorker is one goroutine's view: its rng, its counts, and the blobs
// it stored (which stay, unless they are shared ones that workers delete).
type stressWorker struct {
	run   *stressRun
	id    int
	rng   *rand.Rand
	op    string
	ops   map[string]int
	known []stressBlobRef
}

type stressBlobRef struct {
	repo string
	d    digest.Digest
}

// failf reports a failure; t.Errorf is safe from any goroutine.
func (w *stressWorker) failf(format string, args ...any) {
	if w.run.closed.Load() {
		return // the registry went away under the request; stopped() ends the worker
	}
	w.run.errors.Add(1)
	w.run.t.Errorf("worker %d, %s: %s", w.id, w.op, fmt.Sprintf(format, args...))
}

func (w *stressWorker) stopped() bool {
	return w.run.errors.Load() >= stressMaxErrors || w.run.closed.Load()
}

// send makes one request. header holds "Name: value" pairs. A transport
// error is a failure unless the caller expects it (ok is then false).
func (w *stressWorker) send(method, path string, body io.Reader, header ...string) (response, bool) {
	r, err := w.sendErr(method, path, body, header...)
	if err != nil {
		w.failf("%s %s: %v", method, path, err)
		return response{}, false
	}
	return r, true
}

func (w *stressWorker) sendErr(method, path string, body io.Reader, header ...string) (response, error) {
	w.run.requests.Add(1)
	req, err := http.NewRequest(method, w.run.base+path, body)
	if err != nil {
		return response{}, err
	}
	for _, h := range header {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	resp, err := w.run.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("reading body: %w", err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// want checks the status against those allowed.
func (w *stressWorker) want(r response, what string, statuses ...int) bool {
	if slices.Contains(statuses, r.Status) {
		return true
	}
	w.failf("%s: status %d, want one of %v; body: %.300s", what, r.Status, statuses, r.Body)
	return false
}

func (w *stressWorker) pick(list []string) string { return list[w.rng.IntN(len(list))] }

// blob picks a blob to push: shared with every worker or this worker's own.
func (w *stressWorker) blob() []byte {
	if w.rng.IntN(2) == 0 {
		return w.run.world.shared[w.rng.IntN(len(w.run.world.shared))]
	}
	mine := w.run.world.unique[w.id]
	return mine[w.rng.IntN(len(mine))]
}

func (w *stressWorker) remember(repo string, d digest.Digest) {
	w.known = append(w.known, stressBlobRef{repo, d})
}

func (w *stressWorker) endUpload(repo, id string, size int64) {
	w.run.mu.Lock()
	w.run.ended = append(w.run.ended, stressUpload{id, repo, size})
	w.run.mu.Unlock()
}

func (w *stressWorker) abandon(repo, id string, size int64) {
	w.run.mu.Lock()
	w.run.abandoned[id] = stressUpload{id, repo, size}
	w.run.mu.Unlock()
}

// stressRange is the Range header of a session holding size bytes.
func stressRange(size int64) string { return "0-" + strconv.FormatInt(max(size-1, 0), 10) }

// session checks an answer describing an open session of repo holding size
// bytes and returns its Location and id.
func (w *stressWorker) session(r response, what, repo string, status int, size int64) (loc, id string, ok bool) {
	if !w.want(r, what, status) {
		return "", "", false
	}
	loc, id = r.Header.Get("Location"), r.Header.Get("Docker-Upload-UUID")
	if !strings.HasPrefix(loc, "/v2/"+repo+"/blobs/uploads/") || id == "" || !strings.HasSuffix(loc, "/"+id) {
		w.failf("%s: Location %q, Docker-Upload-UUID %q", what, loc, id)
		return "", "", false
	}
	if got := r.Header.Get("Range"); got != stressRange(size) {
		w.failf("%s: Range %q, want %q", what, got, stressRange(size))
		return "", "", false
	}
	return loc, id, true
}

// created checks the 201 of a finished upload or mount.
func (w *stressWorker) created(r response, what, repo string, d digest.Digest) bool {
	if !w.want(r, what, http.StatusCreated) {
		return false
	}
	if loc, got := r.Header.Get("Location"), r.Header.Get("Docker-Content-Digest"); loc != "/v2/"+repo+"/blobs/"+string(d) || got != string(d) {
		w.failf("%s: Location %q, Docker-Content-Digest %q; want the blob %s", what, loc, got, d)
		return false
	}
	w.remember(repo, d)
	return true
}

func (w *stressWorker) start(repo string) (loc, id string, ok bool) {
	r, ok := w.send("POST", "/v2/"+repo+"/blobs/uploads/", nil)
	if !ok {
		return "", "", false
	}
	return w.session(r, "POST start", repo, http.StatusAccepted, 0)
}

// pushMonolithic is a POST carrying the blob (end-4b).
func (w *stressWorker) pushMonolithic(repo string, b []byte) bool {
	d := digest.FromBytes(b)
	r, ok := w.send("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(d), bytes.NewReader(b), stressOctetStream)
	return ok && w.created(r, "monolithic POST", repo, d)
}

// pushPostPut is a POST then a PUT carrying the whole blob (end-4a, end-6).
func (w *stressWorker) pushPostPut(repo string, b []byte) bool {
	loc, id, ok := w.start(repo)
	if !ok {
		return false
	}
	d := digest.FromBytes(b)
	r, ok := w.send("PUT", loc+"?digest="+string(d), bytes.NewReader(b), stressOctetStream)
	if !ok || !w.created(r, "PUT", repo, d) {
		return false
	}
	w.endUpload(repo, id, int64(len(b)))
	return true
}

// patch sends one chunk, with a Content-Range or streamed (chunked
// transfer encoding, no length), and checks the new Range.
func (w *stressWorker) patch(repo, loc string, start int64, chunk []byte) bool {
	var r response
	var ok bool
	if w.rng.IntN(3) == 0 {
		r, ok = w.send("PATCH", loc, struct{ io.Reader }{bytes.NewReader(chunk)}, stressOctetStream)
	} else {
		r, ok = w.send("PATCH", loc, bytes.NewReader(chunk), stressOctetStream,
			fmt.Sprintf("Content-Range: %d-%d", start, start+int64(len(chunk))-1))
	}
	if !ok {
		return false
	}
	_, _, ok = w.session(r, "PATCH", repo, http.StatusAccepted, start+int64(len(chunk)))
	return ok
}

// cuts splits n bytes into up to k non-empty pieces.
func (w *stressWorker) cuts(n, k int) []int {
	out := []int{0}
	if n > 1 {
		for range w.rng.IntN(k) {
			out = append(out, 1+w.rng.IntN(n-1))
		}
	}
	out = append(out, n)
	slices.Sort(out)
	return slices.Compact(out)
}

// pushChunked is a POST, PATCHes (sometimes a status check between them),
// and a PUT that may carry the last chunk.
func (w *stressWorker) pushChunked(repo string, b []byte) bool {
	loc, id, ok := w.start(repo)
	if !ok {
		return false
	}
	d := digest.FromBytes(b)
	cuts := w.cuts(len(b), stressChunkedLimit+1)
	lastInPut := len(cuts) > 2 && w.rng.IntN(2) == 0
	npatch := len(cuts) - 1
	if lastInPut {
		npatch--
	}
	for i := range npatch {
		if !w.patch(repo, loc, int64(cuts[i]), b[cuts[i]:cuts[i+1]]) {
			return false
		}
		if w.rng.IntN(4) == 0 {
			r, ok := w.send("GET", loc, nil)
			if !ok {
				return false
			}
			if _, _, ok := w.session(r, "upload status", repo, http.StatusNoContent, int64(cuts[i+1])); !ok {
				return false
			}
		}
	}
	var r response
	if lastInPut {
		first := cuts[len(cuts)-2]
		r, ok = w.send("PUT", loc+"?digest="+string(d), bytes.NewReader(b[first:]), stressOctetStream,
			fmt.Sprintf("Content-Range: %d-%d", first, len(b)-1))
	} else {
		r, ok = w.send("PUT", loc+"?digest="+string(d), nil)
	}
	if !ok || !w.created(r, "closing PUT", repo, d) {
		return false
	}
	w.endUpload(repo, id, int64(len(b)))
	return true
}

// putManifest pushes m's blobs and then m by ref, with extra ?tag= tags.
func (w *stressWorker) putManifest(repo, ref string, m *stressManifest, tags ...string) bool {
	for _, b := range m.blobs {
		if !w.pushMonolithic(repo, b) {
			return false
		}
	}
	path := "/v2/" + repo + "/manifests/" + ref
	for i, tag := range tags {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		path += sep + "tag=" + tag
	}
	r, ok := w.send("PUT", path, bytes.NewReader(m.bytes), "Content-Type: "+m.mediaType)
	if !ok || !w.want(r, "manifest PUT", http.StatusCreated) {
		return false
	}
	if got := r.Header.Get("Docker-Content-Digest"); got != string(m.digest) {
		w.failf("manifest PUT: Docker-Content-Digest %q, want %s", got, m.digest)
	}
	if got := r.Header.Get("OCI-Subject"); got != string(m.subject) {
		w.failf("manifest PUT: OCI-Subject %q, want %q", got, m.subject)
	}
	if got := r.Header.Values("OCI-Tag"); !slices.Equal(got, tags) && len(tags) > 0 {
		w.failf("manifest PUT: OCI-Tag %q, want %q", got, tags)
	}
	return true
}

// checkManifest checks a manifest GET answer of 200: the exact bytes of a
// pool manifest, its digest and media type. It returns the manifest.
func (w *stressWorker) checkManifest(r response, what string, want digest.Digest) *stressManifest {
	d := digest.Digest(r.Header.Get("Docker-Content-Digest"))
	m := w.run.world.manifests[d]
	switch {
	case m == nil:
		w.failf("%s: Docker-Content-Digest %q is no manifest ever pushed", what, d)
		return nil
	case want != "" && d != want:
		w.failf("%s: Docker-Content-Digest %s, want %s", what, d, want)
	case r.Header.Get("Content-Type") != m.mediaType:
		w.failf("%s: Content-Type %q, want %q", what, r.Header.Get("Content-Type"), m.mediaType)
	case r.Body != nil && !bytes.Equal(r.Body, m.bytes):
		w.failf("%s: body (%d bytes) is not the manifest %s", what, len(r.Body), d)
	}
	return m
}

// getBlob fetches a blob that was stored in repo, whole or a range, and
// checks the bytes. Only blobs that workers delete may be gone since.
func (w *stressWorker) getBlob(repo string, d digest.Digest) bool {
	want := w.run.world.blobs[d]
	path := "/v2/" + repo + "/blobs/" + string(d)
	ok := []int{http.StatusOK}
	if w.run.world.deletable[d] {
		ok = append(ok, http.StatusNotFound)
	}
	gone := func(r response) bool { return r.Status == http.StatusNotFound }
	switch {
	case w.rng.IntN(5) == 0:
		r, sent := w.send("HEAD", path, nil)
		if !sent || !w.want(r, "blob HEAD "+string(d), ok...) || gone(r) {
			return false
		}
		if r.Header.Get("Content-Length") != strconv.Itoa(len(want)) || r.Header.Get("Docker-Content-Digest") != string(d) {
			w.failf("blob HEAD %s: Content-Length %q, Docker-Content-Digest %q", d, r.Header.Get("Content-Length"), r.Header.Get("Docker-Content-Digest"))
			return false
		}
	case w.rng.IntN(4) == 0 && len(want) > 1:
		first := w.rng.IntN(len(want))
		last := first + w.rng.IntN(len(want)-first)
		r, sent := w.send("GET", path, nil, fmt.Sprintf("Range: bytes=%d-%d", first, last))
		if !sent || !w.want(r, "ranged blob GET "+string(d), append(ok[1:], http.StatusPartialContent)...) || gone(r) {
			return false
		}
		if !bytes.Equal(r.Body, want[first:last+1]) {
			w.failf("ranged blob GET %s bytes=%d-%d: %d bytes, not the stored ones", d, first, last, len(r.Body))
			return false
		}
	default:
		r, sent := w.send("GET", path, nil)
		if !sent || !w.want(r, "blob GET "+string(d), ok...) || gone(r) {
			return false
		}
		if !bytes.Equal(r.Body, want) || r.Header.Get("Docker-Content-Digest") != string(d) {
			w.failf("blob GET %s: %d bytes (want %d), Docker-Content-Digest %q", d, len(r.Body), len(want), r.Header.Get("Docker-Content-Digest"))
			return false
		}
	}
	return true
}

// The operations, chosen by weight.
var stressOpTable = []struct {
	name   string
	weight int
	run    func(w *stressWorker)
}{
	{"blob push: monolithic", 6, func(w *stressWorker) { w.pushMonolithic(w.pick(stressRepos), w.blob()) }},
	{"blob push: POST+PUT", 5, func(w *stressWorker) { w.pushPostPut(w.pick(stressRepos), w.blob()) }},
	{"blob push: chunked", 6, func(w *stressWorker) { w.pushChunked(w.pick(stressRepos), w.blob()) }},
	{"blob push: sha512", 2, (*stressWorker).opPushSHA512},
	{"tag move", 10, (*stressWorker).opTagMove},
	{"pull by tag", 12, (*stressWorker).opPullTag},
	{"pull by digest", 6, (*stressWorker).opPullDigest},
	{"manifest delete", 5, (*stressWorker).opDelete},
	{"referrer push", 6, (*stressWorker).opReferrerPush},
	{"referrer delete", 2, (*stressWorker).opReferrerDelete},
	{"referrers list", 8, (*stressWorker).opReferrersList},
	{"tags list", 6, (*stressWorker).opTagsList},
	{"mount", 6, (*stressWorker).opMount},
	{"blob get", 8, (*stressWorker).opBlobGet},
	{"upload abandoned", 4, (*stressWorker).opAbandon},
	{"upload raced", 3, (*stressWorker).opRaceSession},
	{"blob delete", 3, (*stressWorker).opBlobDelete},
	{"upload cut mid-chunk", 2, (*stressWorker).opCutChunk},
	{"bad digest", 2, (*stressWorker).opBadDigest},
}

// opPushSHA512 pushes a shared blob under its sha512 digest: monolithic, or
// a session announced with digest-algorithm=sha512.
func (w *stressWorker) opPushSHA512() {
	repo := w.pick(stressRepos)
	b := w.run.world.shared[w.rng.IntN(len(w.run.world.shared))]
	d := digest.SHA512.FromBytes(b)
	if w.rng.IntN(2) == 0 {
		r, ok := w.send("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(d), bytes.NewReader(b), stressOctetStream)
		if ok {
			w.created(r, "monolithic POST, sha512", repo, d)
		}
		return
	}
	r, ok := w.send("POST", "/v2/"+repo+"/blobs/uploads/?digest-algorithm=sha512", nil)
	if !ok {
		return
	}
	loc, id, ok := w.session(r, "POST start, sha512", repo, http.StatusAccepted, 0)
	if !ok || len(b) > 0 && !w.patch(repo, loc, 0, b) {
		return
	}
	r, ok = w.send("PUT", loc+"?digest="+string(d), nil)
	if ok && w.created(r, "closing PUT, sha512", repo, d) {
		w.endUpload(repo, id, int64(len(b)))
	}
}

func (w *stressWorker) opTagMove() {
	repo := w.pick(stressRepos)
	m := w.run.world.images[w.rng.IntN(len(w.run.world.images))]
	if w.rng.IntN(4) == 0 {
		// By digest, tags as ?tag= parameters.
		w.putManifest(repo, string(m.digest), m, w.pick(stressTags), w.pick(stressTags[:2]))
		return
	}
	w.putManifest(repo, w.pick(stressTags), m)
}

func (w *stressWorker) opPullTag() {
	repo, tag := w.pick(stressRepos), w.pick(stressTags)
	r, ok := w.send("GET", "/v2/"+repo+"/manifests/"+tag, nil, "Accept: "+ocispec.MediaTypeImageManifest+", "+ocispec.MediaTypeImageIndex)
	if !ok || !w.want(r, "manifest GET "+tag, http.StatusOK, http.StatusNotFound) || r.Status != http.StatusOK {
		return
	}
	m := w.checkManifest(r, "manifest GET "+tag, "")
	if m == nil || m.config == "" {
		return
	}
	// The config was in the repository when the manifest was, and configs
	// are never deleted, so it still is.
	w.getBlob(repo, m.config)
}

func (w *stressWorker) opPullDigest() {
	repo := w.pick(stressRepos)
	all := slices.Concat(w.run.world.images, w.run.world.referrers)
	m := all[w.rng.IntN(len(all))]
	method := "GET"
	if w.rng.IntN(3) == 0 {
		method = "HEAD"
	}
	r, ok := w.send(method, "/v2/"+repo+"/manifests/"+string(m.digest), nil)
	if !ok || !w.want(r, method+" manifest by digest", http.StatusOK, http.StatusNotFound) || r.Status != http.StatusOK {
		return
	}
	if method == "HEAD" {
		r.Body = nil
		if r.Header.Get("Content-Length") != strconv.Itoa(len(m.bytes)) {
			w.failf("manifest HEAD %s: Content-Length %q", m.digest, r.Header.Get("Content-Length"))
		}
	}
	w.checkManifest(r, method+" manifest by digest", m.digest)
}

func (w *stressWorker) opDelete() {
	repo := w.pick(stressRepos)
	ref := w.pick(stressTags)
	if w.rng.IntN(3) != 0 {
		ref = string(w.run.world.images[w.rng.IntN(len(w.run.world.images))].digest)
	}
	r, ok := w.send("DELETE", "/v2/"+repo+"/manifests/"+ref, nil)
	if ok {
		w.want(r, "manifest DELETE", http.StatusAccepted, http.StatusNotFound)
	}
}

func (w *stressWorker) opReferrerPush() {
	m := w.run.world.referrers[w.rng.IntN(len(w.run.world.referrers))]
	w.putManifest(w.pick(stressRepos), string(m.digest), m)
}

func (w *stressWorker) opReferrerDelete() {
	m := w.run.world.referrers[w.rng.IntN(len(w.run.world.referrers))]
	r, ok := w.send("DELETE", "/v2/"+w.pick(stressRepos)+"/manifests/"+string(m.digest), nil)
	if ok {
		w.want(r, "referrer DELETE", http.StatusAccepted, http.StatusNotFound)
	}
}

func (w *stressWorker) opReferrersList() {
	repo := w.pick(stressRepos)
	subject := w.run.world.subjects[w.rng.IntN(len(w.run.world.subjects))]
	path := "/v2/" + repo + "/referrers/" + string(subject)
	filter := ""
	if w.rng.IntN(3) == 0 {
		filter = stressTypeSig
		path += "?artifactType=" + filter
	}
	r, ok := w.send("GET", path, nil)
	if !ok || !w.want(r, "referrers GET", http.StatusOK) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != ocispec.MediaTypeImageIndex {
		w.failf("referrers GET: Content-Type %q", ct)
	}
	if filter != "" && r.Header.Get("OCI-Filters-Applied") != "artifactType" {
		w.failf("referrers GET with a filter: OCI-Filters-Applied %q", r.Header.Get("OCI-Filters-Applied"))
	}
	var idx ocispec.Index
	if err := json.Unmarshal(r.Body, &idx); err != nil {
		w.failf("referrers GET: %v: %.200s", err, r.Body)
		return
	}
	seen := map[digest.Digest]bool{}
	for _, desc := range idx.Manifests {
		m := w.run.world.manifests[desc.Digest]
		switch {
		case m == nil || m.subject != subject:
			w.failf("referrers of %s list %s, which does not refer to it", subject, desc.Digest)
		case seen[desc.Digest]:
			w.failf("referrers of %s list %s twice", subject, desc.Digest)
		case filter != "" && m.artifactType != filter:
			w.failf("referrers of %s filtered by %s list %s of type %s", subject, filter, desc.Digest, m.artifactType)
		case desc.Size != int64(len(m.bytes)) || desc.MediaType != m.mediaType || desc.ArtifactType != m.artifactType:
			w.failf("referrers of %s: descriptor %+v does not describe the manifest", subject, desc)
		}
		seen[desc.Digest] = true
	}
}

// stressNextLink is the target of a Link: <...>; rel="next" header.
func stressNextLink(h http.Header) string {
	l := h.Get("Link")
	if l == "" {
		return ""
	}
	start, end := strings.Index(l, "<"), strings.Index(l, ">")
	if start < 0 || end < start {
		return "malformed"
	}
	return l[start+1 : end]
}

func (w *stressWorker) opTagsList() {
	repo := w.pick(stressRepos)
	path := "/v2/" + repo + "/tags/list"
	paged := w.rng.IntN(2) == 0
	if paged {
		path += "?n=2"
	}
	prev := ""
	for pages := 0; path != ""; pages++ {
		if pages > len(w.run.world.tagSet)+1 {
			w.failf("tags list of %s: more pages than tags", repo)
			return
		}
		r, ok := w.send("GET", path, nil)
		if !ok || !w.want(r, "tags list", http.StatusOK) {
			return
		}
		var list struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(r.Body, &list); err != nil || list.Name != repo {
			w.failf("tags list: %v: %.200s", err, r.Body)
			return
		}
		for _, tag := range list.Tags {
			if tag <= prev || !w.run.world.tagSet[tag] {
				w.failf("tags list of %s: %q after %q (page %d: %q)", repo, tag, prev, pages, list.Tags)
				return
			}
			prev = tag
		}
		if paged && len(list.Tags) > 2 {
			w.failf("tags list with n=2: %d tags", len(list.Tags))
		}
		path = stressNextLink(r.Header)
		if path != "" && (!paged || !strings.HasPrefix(path, "/v2/"+repo+"/tags/list?")) {
			w.failf("tags list: Link %q", r.Header.Get("Link"))
			return
		}
	}
}

func (w *stressWorker) opMount() {
	dst := w.pick(stressRepos)
	src := w.pick(stressRepos)
	switch w.rng.IntN(3) {
	case 0: // from a repository that surely has it
		d := w.run.world.seeded[src][w.rng.IntN(stressSeedPerRepo)]
		r, ok := w.send("POST", "/v2/"+dst+"/blobs/uploads/?mount="+string(d)+"&from="+src, nil)
		if ok {
			w.created(r, "mount from "+src, dst, d)
		}
	case 1: // anonymous: from wherever it is
		d := w.run.world.seeded[src][w.rng.IntN(stressSeedPerRepo)]
		r, ok := w.send("POST", "/v2/"+dst+"/blobs/uploads/?mount="+string(d), nil)
		if ok {
			w.created(r, "anonymous mount", dst, d)
		}
	default: // maybe there, maybe not: a session when not, finished or cancelled
		b := w.run.world.unique[w.id][w.rng.IntN(stressUniqueBlobs)]
		d := digest.FromBytes(b)
		r, ok := w.send("POST", "/v2/"+dst+"/blobs/uploads/?mount="+string(d)+"&from="+src, nil)
		if !ok || !w.want(r, "mount", http.StatusCreated, http.StatusAccepted) {
			return
		}
		if r.Status == http.StatusCreated {
			w.created(r, "mount", dst, d)
			return
		}
		loc, id, ok := w.session(r, "mount fallback", dst, http.StatusAccepted, 0)
		if !ok {
			return
		}
		if w.rng.IntN(2) == 0 {
			r, ok = w.send("DELETE", loc, nil)
			if ok && w.want(r, "cancel", http.StatusNoContent) {
				w.endUpload(dst, id, 0)
			}
			return
		}
		r, ok = w.send("PUT", loc+"?digest="+string(d), bytes.NewReader(b), stressOctetStream)
		if ok && w.created(r, "PUT after mount fallback", dst, d) {
			w.endUpload(dst, id, int64(len(b)))
		}
	}
}

func (w *stressWorker) opBlobGet() {
	if len(w.known) > 0 && w.rng.IntN(2) == 0 {
		k := w.known[w.rng.IntN(len(w.known))]
		w.getBlob(k.repo, k.d)
		return
	}
	repo := w.pick(stressRepos)
	w.getBlob(repo, w.run.world.seeded[repo][w.rng.IntN(stressSeedPerRepo)])
}

// opAbandon starts an upload, maybe sends part of it, and then cancels it
// or leaves it open for good.
func (w *stressWorker) opAbandon() {
	repo := w.pick(stressRepos)
	loc, id, ok := w.start(repo)
	if !ok {
		return
	}
	b := w.blob()
	var size int64
	if len(b) > 1 && w.rng.IntN(3) != 0 {
		size = int64(1 + w.rng.IntN(len(b)-1))
		if !w.patch(repo, loc, 0, b[:size]) {
			return
		}
	}
	if w.rng.IntN(2) == 0 {
		w.abandon(repo, id, size)
		return
	}
	r, ok := w.send("DELETE", loc, nil)
	if !ok || !w.want(r, "cancel", http.StatusNoContent) {
		return
	}
	w.endUpload(repo, id, size)
	r, ok = w.send("GET", loc, nil)
	if ok {
		w.want(r, "status of a cancelled upload", http.StatusNotFound)
	}
}

// opBlobDelete unlinks a shared blob (a layer, never a config) from a
// repository while others push, pull and mount it.
func (w *stressWorker) opBlobDelete() {
	b := w.run.world.shared[w.rng.IntN(len(w.run.world.shared))]
	d := digest.FromBytes(b)
	if w.rng.IntN(4) == 0 {
		d = digest.SHA512.FromBytes(b)
	}
	r, ok := w.send("DELETE", "/v2/"+w.pick(stressRepos)+"/blobs/"+string(d), nil)
	if ok {
		w.want(r, "blob DELETE", http.StatusAccepted, http.StatusNotFound)
	}
}

// opRaceSession has two requests race for one session: two closing PUTs
// (exactly one wins; the other finds the session ended), or a chunk and a
// cancel (the cancel always finds the session; the chunk lands first or
// finds it gone).
func (w *stressWorker) opRaceSession() {
	repo := w.pick(stressRepos)
	loc, id, ok := w.start(repo)
	if !ok {
		return
	}
	b := w.blob()
	d := digest.FromBytes(b)
	cancelRace := w.rng.IntN(2) == 0
	var rs [2]response
	var sent [2]bool
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			switch {
			case !cancelRace:
				rs[i], sent[i] = w.send("PUT", loc+"?digest="+string(d), bytes.NewReader(b), stressOctetStream)
			case i == 0:
				rs[i], sent[i] = w.send("PATCH", loc, bytes.NewReader(b), stressOctetStream)
			default:
				rs[i], sent[i] = w.send("DELETE", loc, nil)
			}
		})
	}
	wg.Wait()
	if !sent[0] || !sent[1] {
		return
	}
	if cancelRace {
		if w.want(rs[1], "cancel racing a chunk", http.StatusNoContent) &&
			w.want(rs[0], "chunk racing a cancel", http.StatusAccepted, http.StatusNotFound) {
			w.endUpload(repo, id, 0)
		}
	} else {
		if rs[0].Status == rs[1].Status || !slices.Contains([]int{rs[0].Status, rs[1].Status}, http.StatusNotFound) {
			w.failf("two closing PUTs of one session: %d and %d, want 201 and 404", rs[0].Status, rs[1].Status)
			return
		}
		win := rs[0]
		if win.Status == http.StatusNotFound {
			win = rs[1]
		}
		if !w.created(win, "closing PUT that won", repo, d) {
			return
		}
		w.endUpload(repo, id, int64(len(b)))
	}
	r, ok := w.send("GET", loc, nil)
	if ok {
		w.want(r, "status of a raced session", http.StatusNotFound)
	}
}

var errStressCut = errors.New("stress: client gave up mid-body")

// stressCutReader yields the first cut bytes of data, then fails: the
// client stops sending part way and its connection is closed.
type stressCutReader struct {
	data []byte
	cut  int
}

func (r *stressCutReader) Read(p []byte) (int, error) {
	if r.cut == 0 {
		return 0, errStressCut
	}
	n := copy(p, r.data[:r.cut])
	r.data, r.cut = r.data[n:], r.cut-n
	return n, nil
}

// opCutChunk sends a chunk that the client abandons mid-body: the session
// must stay as it was, and can then be finished or left open.
func (w *stressWorker) opCutChunk() {
	repo := w.pick(stressRepos)
	loc, id, ok := w.start(repo)
	if !ok {
		return
	}
	b := w.run.world.unique[w.id][w.rng.IntN(stressUniqueBlobs)]
	for len(b) < 2 {
		b = w.run.world.unique[w.id][w.rng.IntN(stressUniqueBlobs)]
	}
	d := digest.FromBytes(b)
	req, err := http.NewRequest("PATCH", w.run.base+loc, &stressCutReader{data: b, cut: len(b) / 2})
	if err != nil {
		w.failf("%v", err)
		return
	}
	req.ContentLength = int64(len(b))
	req.Header.Set("Content-Type", "application/octet-stream")
	w.run.requests.Add(1)
	w.run.aborted.Add(1)
	if resp, err := w.run.client.Do(req); err == nil {
		resp.Body.Close()
		w.failf("PATCH cut mid-body got an answer: %s", resp.Status)
		return
	} else if !errors.Is(err, errStressCut) {
		w.failf("PATCH cut mid-body: %v, want the reader's error", err)
	}
	// Whether or not the server has seen the cut chunk yet, the session
	// holds nothing: a cut chunk is never kept.
	r, ok := w.send("GET", loc, nil)
	if !ok {
		return
	}
	if _, _, ok := w.session(r, "status after a cut chunk", repo, http.StatusNoContent, 0); !ok {
		return
	}
	switch w.rng.IntN(3) {
	case 0:
		w.abandon(repo, id, 0)
	case 1:
		r, ok = w.send("DELETE", loc, nil)
		if ok && w.want(r, "cancel", http.StatusNoContent) {
			w.endUpload(repo, id, 0)
		}
	default:
		r, ok = w.send("PUT", loc+"?digest="+string(d), bytes.NewReader(b), stressOctetStream)
		if ok && w.created(r, "PUT after a cut chunk", repo, d) {
			w.endUpload(repo, id, int64(len(b)))
		}
	}
}

// opBadDigest pushes bytes under a digest they do not have: refused, and
// nothing stored; an upload refused at its close stays open for a retry.
func (w *stressWorker) opBadDigest() {
	repo := w.pick(stressRepos)
	b := w.blob()
	wrong := digest.FromBytes(append(slices.Clone(b), 'x'))
	if w.rng.IntN(2) == 0 {
		r, ok := w.send("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(wrong), bytes.NewReader(b), stressOctetStream)
		if ok {
			w.want(r, "monolithic POST, wrong digest", http.StatusBadRequest)
		}
		return
	}
	loc, id, ok := w.start(repo)
	if !ok {
		return
	}
	if len(b) > 0 && !w.patch(repo, loc, 0, b) {
		return
	}
	r, ok := w.send("PUT", loc+"?digest="+string(wrong), nil)
	if !ok || !w.want(r, "closing PUT, wrong digest", http.StatusBadRequest) {
		return
	}
	r, ok = w.send("GET", loc, nil)
	if !ok {
		return
	}
	if _, _, ok := w.session(r, "status after a refused close", repo, http.StatusNoContent, int64(len(b))); !ok {
		return
	}
	d := digest.FromBytes(b)
	r, ok = w.send("PUT", loc+"?digest="+string(d), nil)
	if ok && w.created(r, "closing PUT, retried", repo, d) {
		w.endUpload(repo, id, int64(len(b)))
	}
}

// loop runs n operations. The sequence of operations, and each one's own
// random choices, depend only on the worker's id: one generator picks the
// operations, and the other is reseeded for each, so an answer that sends
// one operation down another branch does not change the ones after it.
func (w *stressWorker) loop(n int) {
	total := 0
	for _, op := range stressOpTable {
		total += op.weight
	}
	choose := rand.New(rand.NewPCG(stressSeed, uint64(w.id)))
	pcg := rand.NewPCG(0, 0)
	w.rng = rand.New(pcg)
	for i := range n {
		if w.stopped() {
			return
		}
		pcg.Seed(uint64(w.id)+1, uint64(i))
		x := choose.IntN(total)
		for _, op := range stressOpTable {
			if x < op.weight {
				w.op = op.name
				w.ops[op.name]++
				op.run(w)
				break
			}
			x -= op.weight
		}
	}
}

func TestStressConcurrentHTTP(t *testing.T) {
	n := stressOps
	if testing.Short() {
		n = stressOpsShort
	}
	world := newStressWorld()
	// Every request arriving at the registry is counted (a fault hook that
	// never applies), and every one recorded (the log hook runs after the
	// recorder), to know when the last one has been served.
	var arrived, recorded atomic.Int64
	reg := New(t, WithLogf(func(string, ...any) { recorded.Add(1) }))
	world.seed(t, reg)
	reg.Inject(Fault{Match: Match{Func: func(Request) bool { arrived.Add(1); return false }}})

	run := newStressRun(t, reg, world)
	start := time.Now()
	summary := run.work(n)
	elapsed := time.Since(start)
	sent := run.requests.Load()
	t.Logf("%d workers: %s, %d HTTP requests (%d cut by the client) in %v (%.0f req/s); %d uploads left open on purpose%s",
		stressWorkers, summary.total, sent, run.aborted.Load(), elapsed.Round(time.Millisecond),
		float64(sent)/elapsed.Seconds(), len(run.abandoned), summary.table)
	if t.Failed() {
		return
	}

	// Quiesce: every request the registry received has been recorded
	// (requests cut by the client may never arrive).
	got := stressSettle(t, &arrived, &recorded, sent-run.aborted.Load(), sent)
	if n := int64(len(reg.Requests())); n < got || n > sent {
		t.Errorf("%d requests recorded, want %d to %d", n, got, sent)
	}
	snap := reg.Store().Snapshot()
	stressCheckSnapshot(t, world, snap)
	stressCheckUploads(t, run, snap, true)
	stressCheckHTTP(t, run, snap)
}

// newStressRun prepares workers' shared state, with a client of its own
// that keeps a connection per worker alive.
func newStressRun(t *testing.T, reg *Registry, world *stressWorld) *stressRun {
	tr := reg.Transport().Clone()
	tr.MaxIdleConnsPerHost = stressWorkers * 2
	t.Cleanup(tr.CloseIdleConnections)
	return &stressRun{
		t: t, reg: reg, base: reg.URL(), client: &http.Client{Transport: tr},
		world: world, abandoned: map[string]stressUpload{},
	}
}

type stressSummary struct {
	total string // "N operations"
	table string // one line per operation kind
}

// work runs stressWorkers workers of n operations each and waits for them.
func (run *stressRun) work(n int) stressSummary {
	workers := make([]*stressWorker, stressWorkers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &stressWorker{run: run, id: i, ops: map[string]int{}}
		workers[i] = w
		wg.Go(func() { w.loop(n) })
	}
	wg.Wait()
	ops := map[string]int{}
	total := 0
	for _, w := range workers {
		for k, v := range w.ops {
			ops[k] += v
			total += v
		}
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		fmt.Fprintf(&b, "\n  %-22s %5d", k, ops[k])
	}
	return stressSummary{total: fmt.Sprintf("%d operations", total), table: b.String()}
}

// stressSettle waits until every request that arrived has been served and
// recorded: all that were sent, or at least minimum with nothing new for a
// moment (a request cut by its client may never arrive). It checks that no
// more arrived than were sent, and returns how many did.
func stressSettle(t *testing.T, arrived, recorded *atomic.Int64, minimum, maximum int64) int64 {
	t.Helper()
	deadline := time.Now().Add(stressSettleWait)
	last, since := int64(-1), time.Now()
	for {
		a, rec := arrived.Load(), recorded.Load()
		if a != last {
			last, since = a, time.Now()
		}
		if a == rec && (a == maximum || a >= minimum && time.Since(since) > 250*time.Millisecond) {
			return a
		}
		if a > maximum {
			t.Fatalf("%d requests arrived, but only %d were sent", a, maximum)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d requests arrived, %d recorded, %d to %d sent", stressSettleWait, a, rec, minimum, maximum)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stressCheckSnapshot checks the invariants a snapshot shows by itself,
// with the world's knowledge of what each manifest references.
func stressCheckSnapshot(t *testing.T, world *stressWorld, snap memstore.Snapshot) {
	t.Helper()
	if got := slices.Sorted(maps.Keys(snap.Repositories)); !slices.Equal(got, stressRepos) {
		t.Errorf("repositories %q, want %q", got, stressRepos)
	}
	// Only bytes that were pushed are stored, at their size.
	for d, size := range snap.Blobs {
		want, ok := world.blobs[d]
		switch {
		case !ok:
			t.Errorf("stored blob %s (%d bytes) was never pushed", d, size)
		case int64(len(want)) != size:
			t.Errorf("stored blob %s has %d bytes, want %d", d, size, len(want))
		}
	}
	for _, repo := range stressRepos {
		rs := snap.Repositories[repo]
		has := func(list []digest.Digest, d digest.Digest) bool {
			_, ok := slices.BinarySearch(list, d)
			return ok
		}
		for _, d := range world.seeded[repo] {
			if !has(rs.Blobs, d) {
				t.Errorf("seeded blob %s of %s is gone", d, repo)
			}
		}
		if rs.Tags[stressBaseTag] != world.base.digest {
			t.Errorf("%s:%s = %q, want the seeded %s (never moved)", repo, stressBaseTag, rs.Tags[stressBaseTag], world.base.digest)
		}
		for tag, d := range rs.Tags {
			if !has(rs.Manifests, d) {
				t.Errorf("%s:%s points at %s, which is not stored", repo, tag, d)
			}
		}
		recomputed := map[digest.Digest][]digest.Digest{}
		for _, d := range rs.Manifests {
			m := world.manifests[d]
			if m == nil {
				t.Errorf("stored manifest %s of %s was never pushed", d, repo)
				continue
			}
			if m.config != "" && !has(rs.Blobs, m.config) {
				t.Errorf("manifest %s of %s: config %s is not in the repository", d, repo, m.config)
			}
			if m.subject != "" {
				recomputed[m.subject] = append(recomputed[m.subject], d)
			}
		}
		if !stressSameSets(recomputed, rs.Referrers) {
			t.Errorf("%s: referrers index %v, the stored manifests' subjects give %v", repo, rs.Referrers, recomputed)
		}
	}
}

// stressCheckUploads checks the open sessions: every one left open on
// purpose is there holding what it was sent, and (when exact) no other.
func stressCheckUploads(t *testing.T, run *stressRun, snap memstore.Snapshot, exact bool) {
	t.Helper()
	run.mu.Lock()
	defer run.mu.Unlock()
	for id, u := range snap.Uploads {
		if _, ok := run.abandoned[id]; !ok && exact {
			t.Errorf("upload %s of %s (%d bytes) is open, but was finished or cancelled (or never started)", id, u.Repository, u.Size)
		}
	}
	for id, want := range run.abandoned {
		u, ok := snap.Uploads[id]
		switch {
		case !ok:
			t.Errorf("upload %s of %s, left open, is gone", id, want.repo)
		case u.Repository != want.repo || u.Size != want.size:
			t.Errorf("upload %s: %s with %d bytes, want %s with %d", id, u.Repository, u.Size, want.repo, want.size)
		}
	}
	for _, u := range run.ended {
		if _, ok := snap.Uploads[u.id]; ok {
			t.Errorf("upload %s ended but is open", u.id)
		}
	}
}

// stressCheckHTTP checks over HTTP what the snapshot says: every blob's
// bytes, tags, manifests (parsed from what is served), the referrers API,
// and upload sessions.
func stressCheckHTTP(t *testing.T, run *stressRun, snap memstore.Snapshot) {
	t.Helper()
	world := run.world
	get := func(method, path string) response {
		t.Helper()
		req, err := http.NewRequest(method, run.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := run.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	checks := 0
	for _, repo := range stressRepos {
		rs := snap.Repositories[repo]
		// Every blob: bytes that hash to its digest, exactly those pushed.
		for _, d := range rs.Blobs {
			r := get("GET", "/v2/"+repo+"/blobs/"+string(d))
			checks++
			if r.Status != http.StatusOK {
				t.Errorf("GET blob %s of %s: %d", d, repo, r.Status)
				continue
			}
			if got := d.Algorithm().FromBytes(r.Body); got != d {
				t.Errorf("blob %s of %s: its bytes hash to %s", d, repo, got)
			}
			if !bytes.Equal(r.Body, world.blobs[d]) {
				t.Errorf("blob %s of %s: %d bytes served, not the %d pushed", d, repo, len(r.Body), len(world.blobs[d]))
			}
		}
		// Tags: the list, and each one served.
		r := get("GET", "/v2/"+repo+"/tags/list")
		checks++
		var list struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(r.Body, &list); err != nil || r.Status != http.StatusOK {
			t.Fatalf("tags list of %s: %d %v", repo, r.Status, err)
		}
		if want := slices.Sorted(maps.Keys(rs.Tags)); !slices.Equal(list.Tags, want) {
			t.Errorf("tags list of %s = %q, snapshot has %q", repo, list.Tags, want)
		}
		for tag, d := range rs.Tags {
			r := get("GET", "/v2/"+repo+"/manifests/"+tag)
			checks++
			if r.Status != http.StatusOK || r.Header.Get("Docker-Content-Digest") != string(d) {
				t.Errorf("GET %s:%s: %d, digest %q, want %s", repo, tag, r.Status, r.Header.Get("Docker-Content-Digest"), d)
			}
		}
		// Manifests as served: exact bytes; an image's config is served
		// from the repository at its size; the subjects give the
		// referrers the API lists.
		recomputed := map[digest.Digest][]digest.Digest{}
		for _, d := range rs.Manifests {
			r := get("GET", "/v2/"+repo+"/manifests/"+string(d))
			checks++
			if r.Status != http.StatusOK {
				t.Errorf("GET manifest %s of %s: %d", d, repo, r.Status)
				continue
			}
			if got := digest.FromBytes(r.Body); got != d {
				t.Errorf("manifest %s of %s: its bytes hash to %s", d, repo, got)
			}
			if m := world.manifests[d]; m == nil || !bytes.Equal(m.bytes, r.Body) {
				t.Errorf("manifest %s of %s is not one that was pushed", d, repo)
			}
			var parsed struct {
				Config  *ocispec.Descriptor `json:"config"`
				Subject *ocispec.Descriptor `json:"subject"`
			}
			if err := json.Unmarshal(r.Body, &parsed); err != nil {
				t.Errorf("manifest %s of %s: %v", d, repo, err)
				continue
			}
			if parsed.Config != nil {
				h := get("HEAD", "/v2/"+repo+"/blobs/"+string(parsed.Config.Digest))
				checks++
				if h.Status != http.StatusOK || h.Header.Get("Content-Length") != strconv.FormatInt(parsed.Config.Size, 10) {
					t.Errorf("HEAD config %s of %s: %d, Content-Length %q", parsed.Config.Digest, repo, h.Status, h.Header.Get("Content-Length"))
				}
			}
			if parsed.Subject != nil {
				recomputed[parsed.Subject.Digest] = append(recomputed[parsed.Subject.Digest], d)
			}
		}
		for _, subject := range world.subjects {
			r := get("GET", "/v2/"+repo+"/referrers/"+string(subject))
			checks++
			var idx ocispec.Index
			if err := json.Unmarshal(r.Body, &idx); err != nil || r.Status != http.StatusOK {
				t.Errorf("referrers of %s in %s: %d %v", subject, repo, r.Status, err)
				continue
			}
			var got []digest.Digest
			for _, desc := range idx.Manifests {
				got = append(got, desc.Digest)
			}
			if !stressSameSet(got, recomputed[subject]) {
				t.Errorf("referrers of %s in %s: API lists %v, served manifests give %v", subject, repo, got, recomputed[subject])
			}
		}
	}
	// Sessions: those left open answer with what they hold; those that
	// ended are gone (a sample).
	run.mu.Lock()
	defer run.mu.Unlock()
	for id, u := range run.abandoned {
		r := get("GET", "/v2/"+u.repo+"/blobs/uploads/"+id)
		checks++
		if r.Status != http.StatusNoContent || r.Header.Get("Range") != stressRange(u.size) {
			t.Errorf("status of open upload %s: %d, Range %q, want 204 %s", id, r.Status, r.Header.Get("Range"), stressRange(u.size))
		}
	}
	for i, u := range run.ended {
		if i%4 != 0 {
			continue
		}
		r := get("GET", "/v2/"+u.repo+"/blobs/uploads/"+u.id)
		checks++
		if r.Status != http.StatusNotFound {
			t.Errorf("status of ended upload %s: %d, want 404", u.id, r.Status)
		}
	}
	t.Logf("after the run: %d blobs, %d open uploads (%d ended); %d checks over HTTP", len(snap.Blobs), len(snap.Uploads), len(run.ended), checks)
}

func stressSameSet(a, b []digest.Digest) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	// Equal sorted lists with no repeats: a repeat in either fails.
	return slices.Equal(a, b) && len(slices.Compact(a)) == len(b)
}

func stressSameSets(a, b map[digest.Digest][]digest.Digest) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !stressSameSet(v, b[k]) {
			return false
		}
	}
	return true
}
