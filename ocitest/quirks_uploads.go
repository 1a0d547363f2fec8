package ocitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The blob upload quirks (quirks.UploadBehavior). Requests are checked
// before their handler runs (uploadQuirks, a hook at the top of each upload
// handler; uploadRequireRepo also guards manifest PUTs), and their answers
// are rewritten as the status line goes out (uploadAnswers, installed by
// ServeHTTP), so the handlers keep writing the spec's answers.

// uploadKind reports whether k is an upload endpoint: pushes, sessions
// and mounts.
func uploadKind(k Kind) bool {
	switch k {
	case UploadStart, UploadMonolithic, BlobMount, UploadChunk, UploadComplete, UploadStatus, UploadCancel:
		return true
	}
	return false
}

// uploadKey is the key of what a quirk remembers about session id. Session
// ids repeat from one store to the next, and a quirk value may serve several
// registries, so keys are scoped to this registry's store.
func (s *server) uploadKey(id, what string) string {
	return fmt.Sprintf("%p %s %s", s.store, id, what)
}

// uploadNow is the registry's time (WithClock).
func (s *server) uploadNow() time.Time {
	if s.cfg.clock != nil {
		return s.cfg.clock.Now()
	}
	return time.Now()
}

// uploadError is an error answer in the spec's JSON shape.
func uploadError(status int, code memstore.Code, format string, args ...any) error {
	return &quirkError{resp: quirks.ErrorResponse{Status: status, Code: string(code), Message: fmt.Sprintf(format, args...)}}
}

// uploadQuirks applies the upload quirks that refuse or divert a request
// before its handler runs. When done is true the request has been
// answered: err is the answer, or nil when a session answer was written.
func (s *server) uploadQuirks(w http.ResponseWriter, r *http.Request, c *call) (done bool, err error) {
	if !uploadKind(c.Kind) {
		return false, nil
	}
	for _, check := range []func(*http.Request, *call) error{
		s.uploadBodyLimits,
		s.uploadRequireRepo,
		s.uploadSessionGone,
		s.uploadContentRange,
		s.uploadRetriedChunk,
		s.uploadShortChunk,
		s.uploadReupload,
	} {
		if err := check(r, c); err != nil {
			return true, err
		}
	}
	switch c.Kind {
	case UploadMonolithic:
		return s.uploadSinglePost(w, r, c)
	case BlobMount:
		return s.uploadMount(w, r, c)
	}
	return false, nil
}

// uploadBodyLimits refuses POST, PATCH and PUT bodies without
// Content-Length (upload-requires-content-length) or over the size limit
// (request-body-size-limit). A streamed body is read up to the limit here
// and replayed to the handler.
func (s *server) uploadBodyLimits(r *http.Request, c *call) error {
	if r.Method != http.MethodPost && r.Method != http.MethodPatch && r.Method != http.MethodPut {
		return nil
	}
	u := &c.q.Uploads
	if u.RequireContentLength.On() && r.ContentLength < 0 {
		return refuse(c, u.RequireContentLength)
	}
	if !u.MaxBody.On() {
		return nil
	}
	limit := u.MaxBody.Value
	tooLarge := func() error {
		c.note(u.MaxBody.By)
		if limit.Answer == quirks.TooLargeReset {
			panic(http.ErrAbortHandler) // cut the connection: no answer
		}
		return &quirkError{resp: limit.Error}
	}
	if r.ContentLength > limit.Max {
		return tooLarge()
	}
	if r.ContentLength < 0 {
		buf, err := io.ReadAll(io.LimitReader(r.Body, limit.Max+1))
		if int64(len(buf)) > limit.Max {
			return tooLarge()
		}
		r.Body = &replayBody{r: bytes.NewReader(buf), err: err, c: r.Body}
	}
	return nil
}

// uploadRequireRepo refuses pushes (upload POSTs and manifest PUTs) to a
// repository that does not exist yet (no-create-on-push).
func (s *server) uploadRequireRepo(_ *http.Request, c *call) error {
	rr := c.q.Uploads.RequireRepo
	if !rr.On() {
		return nil
	}
	switch c.Kind {
	case UploadStart, UploadMonolithic, BlobMount, ManifestPut:
	default:
		return nil
	}
	if s.store.RepositoryExists(c.Repo) {
		return nil
	}
	for _, p := range rr.Value.Precreated {
		if ok, err := path.Match(p, c.Repo); ok && err == nil {
			return nil
		}
	}
	c.note(rr.By)
	return uploadError(http.StatusNotFound, memstore.CodeNameUnknown,
		"The repository with name '%s' does not exist in the registry with id '%s'", c.Repo, rr.Value.RegistryID)
}

// uploadSessionGone answers requests to a session that a quirk has taken
// away: expired (upload-session-expiry), addressed by a stale Location
// (upload-location-styles, rotating), or lost on every Nth PATCH or PUT
// (upload-not-resumable).
func (s *server) uploadSessionGone(r *http.Request, c *call) error {
	switch c.Kind {
	case UploadChunk, UploadComplete, UploadStatus, UploadCancel:
	default:
		return nil
	}
	u := &c.q.Uploads
	id := c.UploadID
	if se := u.SessionExpiry; se.On() {
		opened, ok := se.Value.State.Get(s.uploadKey(id, "opened"))
		if ok && s.uploadNow().Sub(time.Unix(0, opened)) > se.Value.TTL && s.uploadKill(c) {
			c.note(se.By)
			return uploadError(http.StatusNotFound, memstore.CodeBlobUploadUnknown, "upload %s expired after %s", id, se.Value.TTL)
		}
	}
	if rl := u.RotateLocation; rl.On() {
		gen, ok := rl.Value.Get(s.uploadKey(id, "location"))
		if ok && r.URL.Query().Get("_state") != strconv.FormatInt(gen, 10) {
			c.note(rl.By)
			return uploadError(http.StatusNotFound, memstore.CodeBlobUploadUnknown,
				"upload location is stale: use the Location of the last answer")
		}
	}
	if nr := u.NotResumable; nr.On() && nr.Value.LoseEvery > 0 && (c.Kind == UploadChunk || c.Kind == UploadComplete) {
		if _, err := s.store.Upload(c.Repo, id); err != nil {
			return nil // no such session: the handler says so
		}
		if n := nr.Value.State.Add(s.uploadKey("", "requests"), 1); n%int64(nr.Value.LoseEvery) == 0 && s.uploadKill(c) {
			c.note(nr.By)
			return uploadError(http.StatusNotFound, memstore.CodeBlobUploadUnknown, "blob upload unknown to registry")
		}
	}
	return nil
}

// uploadKill ends session c.UploadID and forgets what the quirks remember
// of it. It reports whether there was a session to end.
func (s *server) uploadKill(c *call) bool {
	err := s.store.CancelUpload(c.Repo, c.UploadID)
	s.uploadForget(c, c.UploadID)
	return err == nil
}

// uploadForget drops what the active quirks remember of session id.
func (s *server) uploadForget(c *call, id string) {
	u := &c.q.Uploads
	if u.PatchRange.On() {
		u.PatchRange.Value.State.Delete(s.uploadKey(id, "first"))
	}
	if u.ChunkMin.On() {
		u.ChunkMin.Value.State.Delete(s.uploadKey(id, "size"), s.uploadKey(id, "short"))
	}
	if u.RotateLocation.On() {
		u.RotateLocation.Value.Delete(s.uploadKey(id, "location"))
	}
	if u.SessionExpiry.On() {
		u.SessionExpiry.Value.State.Delete(s.uploadKey(id, "opened"))
	}
}

// acrRangeError is ACR's answer to a Content-Range it cannot parse.
type acrRangeError struct {
	Range  string `json:"Range"`
	Reason string `json:"Reason"`
}

// uploadContentRange enforces Content-Range on PATCH and PUT
// (content-range-strict).
func (s *server) uploadContentRange(r *http.Request, c *call) error {
	cr := c.q.Uploads.ContentRange
	if !cr.On() || (c.Kind != UploadChunk && c.Kind != UploadComplete) {
		return nil
	}
	h := r.Header.Get("Content-Range")
	switch cr.Value.Mode {
	case quirks.ContentRangeRequired:
		if c.Kind == UploadChunk && h == "" {
			c.note(cr.By)
			return uploadError(http.StatusBadRequest, memstore.CodeBlobUploadInvalid, "the Content-Range header is required")
		}
	case quirks.ContentRangeRejectBytesUnit:
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(h)), "bytes") {
			c.note(cr.By)
			body, _ := json.Marshal(acrRangeError{Range: h, Reason: "the Content-Range header format is invalid"})
			return &quirkError{resp: quirks.ErrorResponse{Status: http.StatusBadRequest, Body: string(body), ContentType: "application/json"}}
		}
	case quirks.ContentRangePutAsChunk:
		if c.Kind == UploadComplete && h != "" {
			first, last, err := parseContentRange(h)
			// last-first >= MaxChunk, not last-first+1 > MaxChunk: the
			// sum overflows for last near the largest int64.
			if err == nil && last-first >= cr.Value.MaxChunk {
				c.note(cr.By)
				return uploadError(http.StatusBadRequest, memstore.CodeSizeInvalid,
					"chunk of %d bytes exceeds the maximum chunk size of %d bytes", last-first+1, cr.Value.MaxChunk)
			}
		}
	}
	return nil
}

// uploadRetriedChunk ends the session when a PATCH or PUT sends bytes at
// an offset the session already holds (upload-not-resumable).
func (s *server) uploadRetriedChunk(r *http.Request, c *call) error {
	nr := c.q.Uploads.NotResumable
	if !nr.On() || nr.Value.Retry == quirks.RetriedChunkResumable || (c.Kind != UploadChunk && c.Kind != UploadComplete) {
		return nil
	}
	h := r.Header.Get("Content-Range")
	if h == "" {
		return nil
	}
	first, _, err := parseContentRange(h)
	if err != nil {
		return nil
	}
	info, err := s.store.Upload(c.Repo, c.UploadID)
	if err != nil || first >= info.Size {
		return nil // not a retry: the handler answers
	}
	s.uploadKill(c)
	c.note(nr.By)
	if nr.Value.Retry == quirks.RetriedChunkFailsECR {
		return uploadError(http.StatusRequestedRangeNotSatisfiable, memstore.CodeBlobUploadInvalid,
			"First byte of the layer part is %d instead of %d", first, info.Size)
	}
	return uploadError(http.StatusNotFound, memstore.CodeBlobUploadInvalid, "blob upload invalid")
}

// uploadShortChunk refuses more bytes after a chunk shorter than the
// minimum, which therefore was not the last (chunk-min-length).
func (s *server) uploadShortChunk(r *http.Request, c *call) error {
	cm := c.q.Uploads.ChunkMin
	if !cm.On() || (c.Kind != UploadChunk && c.Kind != UploadComplete) || r.ContentLength == 0 {
		return nil
	}
	if _, short := cm.Value.State.Get(s.uploadKey(c.UploadID, "short")); !short {
		return nil
	}
	c.note(cm.By)
	return uploadError(http.StatusBadRequest, memstore.CodeBlobUploadInvalid,
		"All layer parts except the last part should be at least %d bytes", cm.Value.Min)
}

// uploadReupload refuses to complete an upload of a blob the repository
// already has (reupload-existing-blob-rejected).
func (s *server) uploadReupload(r *http.Request, c *call) error {
	rr := c.q.Uploads.RejectReupload
	if !rr.On() || (c.Kind != UploadComplete && c.Kind != UploadMonolithic) {
		return nil
	}
	d, err := parseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		return nil
	}
	if c.Kind == UploadComplete {
		if _, err := s.store.Upload(c.Repo, c.UploadID); err != nil {
			return nil
		}
	}
	if _, err := s.store.StatBlob(c.Repo, d); err != nil {
		return nil
	}
	return refuse(c, rr)
}

// uploadSinglePost answers a monolithic POST with a session or an error
// (no-single-post-upload).
func (s *server) uploadSinglePost(w http.ResponseWriter, r *http.Request, c *call) (bool, error) {
	sp := c.q.Uploads.SinglePost
	if !sp.On() {
		return false, nil
	}
	c.note(sp.By)
	if !sp.Value.StartSession {
		return true, &quirkError{resp: sp.Value.Error}
	}
	io.Copy(io.Discard, r.Body) // ignored, as distribution 2.x ignores it
	var alg digest.Algorithm
	if d, err := parseDigest(r.URL.Query().Get("digest")); err == nil {
		alg = d.Algorithm()
	}
	return true, s.openSession(w, c.Repo, alg)
}

// uploadMount answers mounts as the mount-misbehaviour mode says.
func (s *server) uploadMount(w http.ResponseWriter, r *http.Request, c *call) (bool, error) {
	m := c.q.Uploads.Mount
	if !m.On() {
		return false, nil
	}
	q := r.URL.Query()
	d, err := parseDigest(q.Get("mount"))
	from := q.Get("from")
	if err != nil || (from != "" && !memstore.ValidName(from)) {
		return false, nil // the handler refuses it
	}
	session := func() (bool, error) {
		if s.uploadMountable(from, d) {
			c.note(m.By) // the spec would have mounted it
		}
		return true, s.openSession(w, c.Repo, d.Algorithm())
	}
	switch m.Value {
	case quirks.MountRequireFrom:
		if from == "" {
			c.note(m.By)
			return true, uploadError(http.StatusBadRequest, "INVALID_REQUEST", "Invalid request")
		}
	case quirks.MountUnauthorizedIfSourceMissing:
		if project, _, _ := strings.Cut(from, "/"); from != "" && !s.uploadProjectExists(project) {
			c.note(m.By)
			return true, uploadError(http.StatusUnauthorized, memstore.CodeUnauthorized, "project %s not found", project)
		}
	case quirks.MountBadRequestOnUnknownSource:
		if from != "" && !s.store.RepositoryExists(from) {
			c.note(m.By)
			return true, &quirkError{resp: quirks.ErrorResponse{Status: http.StatusBadRequest,
				Body: `{"details":"invalid repository name"}` + "\n", ContentType: "application/json"}}
		}
	case quirks.MountForbidden:
		if from != "" && from != c.Repo {
			c.note(m.By)
			return true, uploadError(http.StatusForbidden, memstore.CodeDenied, "requested access to the resource is denied")
		}
	case quirks.MountOnlyIfReferenced:
		if from == "" || !s.uploadReferenced(from, d) {
			return session()
		}
	case quirks.MountIgnored:
		return session()
	}
	return false, nil
}

// uploadMountable reports whether the spec's mount would succeed: from has
// the blob, or without from, any repository has it.
func (s *server) uploadMountable(from string, d digest.Digest) bool {
	if from != "" {
		_, err := s.store.StatBlob(from, d)
		return err == nil
	}
	repos, _ := s.store.Repositories("", -1)
	for _, repo := range repos {
		if _, err := s.store.StatBlob(repo, d); err == nil {
			return true
		}
	}
	return false
}

// uploadProjectExists reports whether a Harbor project exists: a
// repository named project or below it.
func (s *server) uploadProjectExists(project string) bool {
	repos, _ := s.store.Repositories("", -1)
	for _, repo := range repos {
		if repo == project || strings.HasPrefix(repo, project+"/") {
			return true
		}
	}
	return false
}

// uploadReferenced reports whether a manifest of repo references blob d as
// its config or a layer.
func (s *server) uploadReferenced(repo string, d digest.Digest) bool {
	for _, md := range s.store.Snapshot().Repositories[repo].Manifests {
		m, err := s.store.Manifest(repo, string(md))
		if err != nil {
			continue
		}
		var doc struct {
			Config *ocispec.Descriptor  `json:"config"`
			Layers []ocispec.Descriptor `json:"layers"`
		}
		if json.Unmarshal(m.Content, &doc) != nil {
			continue
		}
		if doc.Config != nil && doc.Config.Digest == d {
			return true
		}
		for _, l := range doc.Layers {
			if l.Digest == d {
				return true
			}
		}
	}
	return false
}

// uploadAnswers wraps w so that the upload quirks can rewrite answers as
// their status line goes out: statuses, Range, Location and
// OCI-Chunk-Min-Length. Without such quirks it returns w itself.
func (s *server) uploadAnswers(w http.ResponseWriter, r *http.Request, c *call) http.ResponseWriter {
	u := &c.q.Uploads
	if !uploadKind(c.Kind) || !(u.PatchStatus.On() || u.CompleteStatus.On() || u.PatchRange.On() || u.ChunkMin.On() ||
		u.Location.On() || u.RotateLocation.On() || u.SessionExpiry.On()) {
		return w
	}
	return &uploadAnswerWriter{ResponseWriter: w, s: s, r: r, c: c}
}

// uploadAnswerWriter rewrites an upload answer's status line and headers
// once, when they are written.
type uploadAnswerWriter struct {
	http.ResponseWriter
	s     *server
	r     *http.Request
	c     *call
	wrote bool
}

func (w *uploadAnswerWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		code = w.s.uploadRewrite(w.Header(), w.r, w.c, code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *uploadAnswerWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *uploadAnswerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// uploadRewrite applies the upload quirks to an answer about to be sent
// with status code, and returns the status to send instead.
func (s *server) uploadRewrite(h http.Header, r *http.Request, c *call, code int) int {
	u := &c.q.Uploads
	id := h.Get("Docker-Upload-UUID") // on answers that open a session
	if id == "" {
		id = c.UploadID // a 416's headers are not in canonical form
	}
	switch {
	case code == http.StatusAccepted && id != "" && (c.Kind == UploadStart || c.Kind == UploadMonolithic || c.Kind == BlobMount):
		s.uploadOpened(h, c, id)
	case code == http.StatusAccepted && c.Kind == UploadChunk:
		s.uploadChunkAccepted(h, c)
		if ps := u.PatchStatus; ps.On() && ps.Value != code {
			c.note(ps.By)
			code = ps.Value
		}
	case code == http.StatusCreated && c.Kind == UploadComplete:
		s.uploadForget(c, c.UploadID)
		if cs := u.CompleteStatus; cs.On() && cs.Value != code {
			c.note(cs.By)
			code = cs.Value
		}
	case code == http.StatusNoContent && c.Kind == UploadCancel:
		s.uploadForget(c, c.UploadID)
	}
	if id != "" {
		s.uploadRestyle(h, r, c, id)
	}
	if code == http.StatusNoContent {
		h.Del("Content-Length") // a 204 has no body to measure
	}
	return code
}

// uploadOpened notes a new session: the minimum chunk size it announces,
// the first of its rotating Locations, the time it expires from.
func (s *server) uploadOpened(h http.Header, c *call, id string) {
	u := &c.q.Uploads
	if cm := u.ChunkMin; cm.On() {
		const name = "OCI-Chunk-Min-Length"
		if v := strconv.FormatInt(cm.Value.Min, 10); cm.Value.Advertise && h.Get(name) != v {
			h.Set(name, v)
			c.note(cm.By)
		} else if !cm.Value.Advertise && h.Get(name) != "" {
			h.Del(name)
			c.note(cm.By)
		}
	}
	if rl := u.RotateLocation; rl.On() {
		rl.Value.Set(s.uploadKey(id, "location"), 1)
	}
	if se := u.SessionExpiry; se.On() {
		se.Value.State.Set(s.uploadKey(id, "opened"), s.uploadNow().UnixNano())
	}
}

// uploadChunkAccepted rewrites the answer to a stored chunk: a wrong
// Range, the chunk sizes seen, the next rotating Location.
func (s *server) uploadChunkAccepted(h http.Header, c *call) {
	u := &c.q.Uploads
	id := c.UploadID
	info, err := s.store.Upload(c.Repo, id)
	if err != nil {
		return
	}
	if cm := u.ChunkMin; cm.On() {
		st := cm.Value.State
		prev, _ := st.Get(s.uploadKey(id, "size"))
		st.Set(s.uploadKey(id, "size"), info.Size)
		if info.Size-prev < cm.Value.Min {
			st.Set(s.uploadKey(id, "short"), 1) // fine if it was the last
		}
	}
	if pr := u.PatchRange; pr.On() {
		want := h.Get("Range")
		switch pr.Value.Mode {
		case quirks.PatchRangeStuckAtFirstChunk:
			key := s.uploadKey(id, "first")
			if first, ok := pr.Value.State.Get(key); ok {
				want = uploadRange(first)
			} else {
				pr.Value.State.Set(key, info.Size)
			}
		case quirks.PatchRangeOffBy:
			want = "0-" + strconv.FormatInt(max(max(info.Size-1, 0)+pr.Value.Offset, 0), 10)
		case quirks.PatchRangeOmit:
			want = ""
		}
		if want != h.Get("Range") {
			if want == "" {
				h.Del("Range")
			} else {
				h.Set("Range", want)
			}
			c.note(pr.By)
		}
	}
	if rl := u.RotateLocation; rl.On() {
		rl.Value.Add(s.uploadKey(id, "location"), 1)
	}
}

// uploadRestyle rewrites the session Location of an answer: the rotating
// Location's state, then the style.
func (s *server) uploadRestyle(h http.Header, r *http.Request, c *call, id string) {
	loc := h.Get("Location")
	if loc != uploadLocation(c.Repo, id) {
		return // not the spec's Location: another quirk's, or none
	}
	u := &c.q.Uploads
	if rl := u.RotateLocation; rl.On() {
		if gen, ok := rl.Value.Get(s.uploadKey(id, "location")); ok {
			loc += "?_state=" + strconv.FormatInt(gen, 10)
			c.note(rl.By)
		}
	}
	if ls := u.Location; ls.On() && ls.Value != quirks.UploadLocationRelative {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		switch ls.Value {
		case quirks.UploadLocationAbsolute:
			loc = scheme + "://" + r.Host + loc
		case quirks.UploadLocationSchemeless:
			loc = r.Host + loc
		case quirks.UploadLocationDropPort:
			host := r.Host
			if hn, _, err := net.SplitHostPort(host); err == nil {
				host = hn
				if strings.Contains(hn, ":") {
					host = "[" + hn + "]"
				}
			}
			loc = scheme + "://" + host + loc
		case quirks.UploadLocationHTTPScheme:
			loc = "http://" + r.Host + loc
		case quirks.UploadLocationOtherHost:
			other, err := s.otherHost()
			if err != nil {
				return // the registry is closing: keep the spec's Location
			}
			loc = other + loc
		}
		c.note(ls.By)
	}
	h.Set("Location", loc)
}
