package ocitest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
)

// The quirks of catalog sections 3 (manifests, media types and content
// negotiation) and 5 (tags, deletion and immutability). The handlers call
// three hooks: manifestRouteQuirks for every request naming a repository,
// manifestGetQuirks on manifest GET and HEAD, manifestPutQuirks on
// manifest PUT.

// mediaTypeSchema1 is what registries label (signed) schema1 manifests.
const mediaTypeSchema1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"

// unsupportedOperation is distribution's message for a refused operation.
const unsupportedOperation = "The operation is unsupported."

// manifestRouteQuirks refuses requests the manifest quirks refuse before
// any handler runs: repository names, non-sha256 digests, DELETEs and
// uploads of the empty blob. It may also drop a ?digest-algorithm= the
// registry ignores.
func (s *server) manifestRouteQuirks(r *http.Request, c *call) error {
	mq := &c.q.Manifests
	if c.Kind == Ping || c.Kind == Catalog || c.Repo == "" {
		return nil
	}
	if mq.RepoNames.On() {
		if err := checkRepoName(c, mq.RepoNames); err != nil {
			return err
		}
	}
	if mq.DigestAlgorithms.On() {
		if err := checkDigestAlgorithms(r, c, mq.DigestAlgorithms); err != nil {
			return err
		}
	}
	if mq.Deletes.On() {
		if err := checkDelete(c, mq.Deletes); err != nil {
			return err
		}
	}
	if mq.EmptyBlobUpload.On() && (c.Kind == UploadComplete || c.Kind == UploadMonolithic) {
		d, err := digest.Parse(r.URL.Query().Get("digest"))
		if err == nil && d.Algorithm().Available() && d == d.Algorithm().FromBytes(nil) {
			// Only the empty blob has this digest: the upload either
			// stores it or fails its digest check.
			c.note(mq.EmptyBlobUpload.By)
			e := quirks.ErrorResponse{Status: http.StatusBadRequest, Code: string(memstore.CodeBlobUploadInvalid), Message: "blob upload invalid"}
			if mq.EmptyBlobUpload.Value == quirks.EmptyBlobECR {
				e.Message = fmt.Sprintf("The upload with id '%s' in the repository with name '%s' in registry with id '123456789012' cannot be completed because it does not have any parts.", c.UploadID, c.Repo)
			}
			return &quirkError{resp: e}
		}
	}
	return nil
}

// checkRepoName applies repo-name-restrictions.
func checkRepoName(c *call, s quirks.Setting[quirks.RepoNameRules]) error {
	rules, repo := s.Value, c.Repo
	invalid := func(msg string) error {
		c.note(s.By)
		e := newAPIError(http.StatusBadRequest, memstore.ErrNameInvalid, msg)
		e.Err.Detail = map[string]string{"name": repo}
		return e
	}
	if n := strings.Count(repo, "/") + 1; rules.MaxComponents > 0 && n > rules.MaxComponents {
		return invalid(fmt.Sprintf("repository name %q has %d path components; at most %d are allowed", repo, n, rules.MaxComponents))
	}
	if rules.Pattern != nil && !rules.Pattern.MatchString(repo) {
		return invalid(fmt.Sprintf("repository name %q does not match %s", repo, rules.Pattern))
	}
	if rules.Prefixes != nil && !slices.ContainsFunc(rules.Prefixes, func(p string) bool {
		p = strings.TrimSuffix(p, "/")
		return repo == p || strings.HasPrefix(repo, p+"/")
	}) {
		c.note(s.By)
		e := newAPIError(http.StatusNotFound, memstore.ErrNameUnknown, "repository name not known to registry")
		e.Err.Detail = map[string]string{"name": repo}
		return e
	}
	return nil
}

// checkDigestAlgorithms applies digest-sha256-only to the digests a
// request names: in its path, in ?digest= and ?mount=, and the upload's
// ?digest-algorithm=.
func checkDigestAlgorithms(r *http.Request, c *call, s quirks.Setting[quirks.DigestAlgorithmParam]) error {
	q := r.URL.Query()
	var refs []string
	switch c.Kind {
	case BlobGet, BlobHead, BlobDelete, ReferrersList, ManifestGet, ManifestHead, ManifestPut, ManifestDelete:
		if memstore.IsDigest(c.Reference) {
			refs = append(refs, c.Reference)
		}
	case UploadComplete, UploadMonolithic:
		refs = append(refs, q.Get("digest"))
	case BlobMount:
		refs = append(refs, q.Get("mount"))
	}
	for _, ref := range refs {
		if alg, _, ok := strings.Cut(ref, ":"); ok && alg != string(digest.SHA256) {
			c.note(s.By)
			e := newAPIError(http.StatusBadRequest, memstore.ErrDigestInvalid,
				fmt.Sprintf("unsupported digest algorithm %q: this registry accepts only sha256", alg))
			e.Err.Detail = map[string]string{"digest": ref}
			return e
		}
	}
	if alg := q.Get("digest-algorithm"); q.Has("digest-algorithm") && alg != string(digest.SHA256) {
		c.note(s.By)
		if s.Value == quirks.RefuseDigestAlgorithm {
			return newAPIError(http.StatusBadRequest, memstore.ErrDigestInvalid,
				fmt.Sprintf("unsupported digest-algorithm %q: this registry accepts only sha256", alg))
		}
		q.Del("digest-algorithm") // ignored: the session hashes sha256
		r.URL.RawQuery = q.Encode()
	}
	return nil
}

// checkDelete applies delete-unsupported.
func checkDelete(c *call, s quirks.Setting[quirks.DeleteRules]) error {
	rules := s.Value
	refuse := func(status int) error {
		c.note(s.By)
		return &quirkError{resp: quirks.ErrorResponse{Status: status, Code: string(memstore.CodeUnsupported), Message: unsupportedOperation}}
	}
	switch c.Kind {
	case ManifestDelete:
		byTag := !memstore.IsDigest(c.Reference)
		if byTag && rules.Manifests != quirks.DeleteAllowed {
			if rules.TagStatus != 0 {
				return refuse(rules.TagStatus)
			}
			return refuse(http.StatusMethodNotAllowed)
		}
		if rules.Manifests == quirks.DeleteRefused {
			return refuse(http.StatusMethodNotAllowed)
		}
	case BlobDelete:
		if rules.Blobs == quirks.DeleteRefused {
			return refuse(http.StatusMethodNotAllowed)
		}
	}
	return nil
}

// mqAccept is what a manifest request's Accept headers list.
type mqAccept struct {
	present bool     // the request has an Accept header
	read    []string // the media types the registry reads, as the quirks say
	all     []string // every media type of every line
}

// readAccept parses Accept as every line and value (like distribution),
// and as the accept-parsing quirk reads it when that is on.
func readAccept(h http.Header, ap quirks.Setting[quirks.AcceptRules]) mqAccept {
	lines := h.Values("Accept")
	a := mqAccept{present: len(lines) > 0}
	for i, line := range lines {
		for j, v := range strings.Split(line, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(v))
			if err != nil {
				continue
			}
			a.all = append(a.all, mt)
			switch {
			case !ap.On(), ap.Value.Lines == quirks.AllAcceptLines,
				ap.Value.Lines == quirks.FirstAcceptLine && i == 0,
				ap.Value.Lines == quirks.FirstAcceptValue && i == 0 && j == 0:
				a.read = append(a.read, mt)
			}
		}
	}
	return a
}

// lacks reports whether the registry finds mt missing from Accept, noting
// accept-parsing when the full header would have listed it.
func (a mqAccept) lacks(c *call, mt string) bool {
	if slices.Contains(a.read, mt) {
		return false
	}
	if slices.Contains(a.all, mt) {
		c.note(c.q.Manifests.AcceptParsing.By)
	}
	return true
}

// manifestGetQuirks applies the content-negotiation quirks to a manifest
// GET or HEAD that found m (its digest d): it may refuse the request or
// answer another manifest (the amd64 child of a list, a schema1
// rendering) in m's stead. A matching If-None-Match is left to the
// handler's 304, which distribution also answers before looking at Accept.
func (s *server) manifestGetQuirks(r *http.Request, c *call, m *memstore.Manifest, d digest.Digest) (*memstore.Manifest, digest.Digest, error) {
	mq := &c.q.Manifests
	if !mq.StrictAccept.On() && !mq.DowngradeList.On() && !mq.AcceptParsing.On() && !mq.Schema1.On() && !mq.SizeLimits.On() {
		return m, d, nil
	}
	if noneMatch(r.Header.Values("If-None-Match"), `"`+string(d)+`"`) {
		return m, d, nil
	}
	acc := readAccept(r.Header, mq.AcceptParsing)
	byTag := !memstore.IsDigest(c.Reference)

	if mq.StrictAccept.On() {
		msg := ""
		switch {
		case m.MediaType == memstore.MediaTypeOCIManifest && acc.lacks(c, m.MediaType):
			msg = "OCI manifest found, but accept header does not support OCI manifests"
		case m.MediaType == memstore.MediaTypeOCIIndex && acc.lacks(c, m.MediaType):
			msg = "OCI index found, but accept header does not support OCI indexes"
		}
		if msg != "" {
			c.note(mq.StrictAccept.By)
			return nil, "", newAPIError(http.StatusNotFound, memstore.ErrManifestUnknown, msg)
		}
	}

	schema1 := mq.Schema1.On() && byTag && wantsSchema1(acc, mq.Schema1.Value)
	if mq.DowngradeList.On() && byTag && m.MediaType == memstore.MediaTypeDockerManifestList && acc.lacks(c, m.MediaType) {
		c.note(mq.DowngradeList.By)
		child, ok := amd64Child(m.Content)
		if !ok {
			return nil, "", newAPIError(http.StatusNotFound, memstore.ErrManifestUnknown, "manifest unknown")
		}
		cm, err := s.store.Manifest(c.Repo, string(child))
		if err != nil {
			return nil, "", err
		}
		if cm.MediaType == memstore.MediaTypeDockerManifest && !schema1 && acc.lacks(c, cm.MediaType) {
			return nil, "", newAPIError(http.StatusBadRequest, memstore.ErrManifestInvalid, "Schema 2 manifest not supported by client")
		}
		m, d = cm, child
	}

	switch {
	case schema1 && (m.MediaType == memstore.MediaTypeDockerManifest || m.MediaType == memstore.MediaTypeOCIManifest):
		c.note(mq.Schema1.By)
		m = s.schema1Of(c.Repo, c.Reference, m)
		d = m.Digest
	case mq.AcceptParsing.On():
		if err := checkAcceptable(c, acc, m.MediaType); err != nil {
			return nil, "", err
		}
	}

	if lim := mq.SizeLimits.Value; mq.SizeLimits.On() && lim.Get > 0 && int64(len(m.Content)) > lim.Get {
		c.note(mq.SizeLimits.By)
		return nil, "", sizeLimitError(lim.Status, fmt.Sprintf("manifest of %d bytes exceeds the pull limit of %d bytes", len(m.Content), lim.Get))
	}
	return m, d, nil
}

// wantsSchema1 reports whether Accept asks for nothing newer than schema1.
func wantsSchema1(acc mqAccept, when quirks.Schema1When) bool {
	newer := []string{memstore.MediaTypeOCIManifest, memstore.MediaTypeOCIIndex}
	if when == quirks.Schema1NoAccept {
		newer = append(newer, memstore.MediaTypeDockerManifest, memstore.MediaTypeDockerManifestList)
	}
	return !slices.ContainsFunc(acc.read, func(mt string) bool { return slices.Contains(newer, mt) })
}

// checkAcceptable applies accept-parsing: the stored type must be among
// the Accept values the registry reads.
func checkAcceptable(c *call, acc mqAccept, mt string) error {
	ap := c.q.Manifests.AcceptParsing
	msg := ""
	switch {
	case !acc.present:
		if ap.Value.RequireAccept {
			msg = "no Accept header: the manifest type cannot be negotiated"
		}
	case slices.Contains(acc.read, mt):
	case ap.Value.HonourWildcard && slices.ContainsFunc(acc.read, func(a string) bool { return a == "*/*" || a == "application/*" }):
	default:
		msg = fmt.Sprintf("manifest of type %s does not match the Accept header", mt)
	}
	if msg == "" {
		return nil
	}
	c.note(ap.By)
	if ap.Value.Status == http.StatusNotFound {
		return newAPIError(http.StatusNotFound, memstore.ErrManifestUnknown, msg)
	}
	return newAPIError(ap.Value.Status, memstore.ErrManifestInvalid, msg)
}

// amd64Child finds the linux/amd64 entry of a manifest list.
func amd64Child(content []byte) (digest.Digest, bool) {
	var list struct {
		Manifests []struct {
			Digest   digest.Digest `json:"digest"`
			Platform *struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if json.Unmarshal(content, &list) != nil {
		return "", false
	}
	for _, e := range list.Manifests {
		if e.Platform != nil && e.Platform.OS == "linux" && e.Platform.Architecture == "amd64" {
			return e.Digest, true
		}
	}
	return "", false
}

// sizeLimitError is manifest-size-limit's refusal: 413 SIZE_INVALID, or
// with status 500 distribution's UNKNOWN "unknown error".
func sizeLimitError(status int, detail string) error {
	if status == http.StatusInternalServerError {
		return &apiError{Status: status, Err: &memstore.Error{Code: "UNKNOWN", Message: "unknown error", Detail: detail}}
	}
	return newAPIError(status, memstore.ErrTooLarge, detail)
}

// schema1Of renders an image manifest as an unsigned schema1 document for
// tag: fsLayers and history from the top layer down, the platform and
// container config from the image config when the repository holds it.
func (s *server) schema1Of(repo, tag string, m *memstore.Manifest) *memstore.Manifest {
	var img struct {
		Config struct {
			Digest digest.Digest `json:"digest"`
		} `json:"config"`
		Layers []struct {
			Digest digest.Digest `json:"digest"`
		} `json:"layers"`
	}
	_ = json.Unmarshal(m.Content, &img) // a stored image manifest is valid JSON
	cfg := map[string]any{}
	if content, err := s.store.Blob(repo, img.Config.Digest); err == nil {
		_ = json.Unmarshal(content.Bytes(), &cfg) // not JSON: no platform details
	}
	str := func(k, def string) string {
		if v, ok := cfg[k].(string); ok && v != "" {
			return v
		}
		return def
	}
	type fsLayer struct {
		BlobSum digest.Digest `json:"blobSum"`
	}
	type history struct {
		V1Compatibility string `json:"v1Compatibility"`
	}
	doc := struct {
		SchemaVersion int       `json:"schemaVersion"`
		Name          string    `json:"name"`
		Tag           string    `json:"tag"`
		Architecture  string    `json:"architecture"`
		FSLayers      []fsLayer `json:"fsLayers"`
		History       []history `json:"history"`
	}{SchemaVersion: 1, Name: repo, Tag: tag, Architecture: str("architecture", "amd64"), FSLayers: []fsLayer{}, History: []history{}}

	// Layer ids chain from the bottom layer up, as docker's v1 ids did.
	ids := make([]string, len(img.Layers))
	parent := ""
	for i, l := range img.Layers {
		sum := sha256.Sum256([]byte(string(l.Digest) + " " + parent))
		ids[i] = hex.EncodeToString(sum[:])
		parent = ids[i]
	}
	for i := len(img.Layers) - 1; i >= 0; i-- {
		v1 := map[string]any{"id": ids[i], "created": str("created", "1970-01-01T00:00:00Z")}
		if i > 0 {
			v1["parent"] = ids[i-1]
		}
		if i == len(img.Layers)-1 {
			v1["architecture"] = doc.Architecture
			v1["os"] = str("os", "linux")
			if cc, ok := cfg["config"]; ok {
				v1["config"] = cc
			}
		}
		b, _ := json.Marshal(v1) // maps of JSON values always encode
		doc.FSLayers = append(doc.FSLayers, fsLayer{BlobSum: img.Layers[i].Digest})
		doc.History = append(doc.History, history{V1Compatibility: string(b)})
	}
	b, _ := json.MarshalIndent(doc, "", "   ")
	return &memstore.Manifest{Digest: digest.FromBytes(b), MediaType: mediaTypeSchema1, Content: b}
}

// mqManifest is what the push quirks read of a manifest.
type mqManifest struct {
	MediaType    string `json:"mediaType"`
	ArtifactType string `json:"artifactType"`
	Config       *struct {
		MediaType string `json:"mediaType"`
		Size      int64  `json:"size"`
	} `json:"config"`
	Layers []struct {
		MediaType string `json:"mediaType"`
	} `json:"layers"`
	Manifests json.RawMessage `json:"manifests"`
}

// manifestPutQuirks applies the push quirks to a manifest PUT of body:
// size, media type and layer checks, empty configs and tag immutability.
// Bodies that are not JSON are left to the store to refuse.
func (s *server) manifestPutQuirks(r *http.Request, c *call, body []byte) error {
	mq := &c.q.Manifests
	if lim := mq.SizeLimits.Value; mq.SizeLimits.On() && lim.Put > 0 && int64(len(body)) > lim.Put {
		c.note(mq.SizeLimits.By)
		return sizeLimitError(lim.Status, fmt.Sprintf("manifest of %d bytes exceeds the push limit of %d bytes", len(body), lim.Put))
	}
	if !mq.RequireMediaTypeField.On() && !mq.RejectOCITypes.On() && !mq.RejectDockerTypes.On() && !mq.MediaTypes.On() &&
		!mq.MaxLayers.On() && !mq.EmptyConfig.On() && !mq.ImmutableTags.On() {
		return nil
	}
	var raw mqManifest
	if json.Unmarshal(body, &raw) != nil {
		return nil
	}
	if mq.RequireMediaTypeField.On() && raw.MediaType == "" {
		return refuse(c, mq.RequireMediaTypeField)
	}
	mt := pushedMediaType(r.Header.Get("Content-Type"), &raw)
	for _, rej := range []quirks.Setting[quirks.TypeRejection]{mq.RejectOCITypes, mq.RejectDockerTypes} {
		if rej.On() && slices.Contains(rej.Value.Types, mt) {
			c.note(rej.By)
			return quirkAPIError(rej.Value.Error, map[string]string{"mediaType": mt})
		}
	}
	if mq.MediaTypes.On() {
		if bad, ok := disallowedMediaType(mq.MediaTypes.Value, &raw); ok {
			c.note(mq.MediaTypes.By)
			return quirkAPIError(mq.MediaTypes.Value.Error, "unknown media type: "+bad)
		}
	}
	if mq.MaxLayers.On() && len(raw.Layers) > mq.MaxLayers.Value.Max {
		c.note(mq.MaxLayers.By)
		return &quirkError{resp: mq.MaxLayers.Value.Error}
	}
	if mq.EmptyConfig.On() && raw.Config != nil && raw.Config.Size == 0 {
		return refuse(c, mq.EmptyConfig)
	}
	if mq.ImmutableTags.On() {
		return s.checkImmutableTags(r, c, body)
	}
	return nil
}

// pushedMediaType is the type a pushed manifest claims: its Content-Type
// when that names a manifest type, else its mediaType field, else what its
// shape says.
func pushedMediaType(contentType string, raw *mqManifest) string {
	if ct, _, err := mime.ParseMediaType(contentType); err == nil && memstore.IsManifestMediaType(ct) {
		return ct
	}
	switch {
	case raw.MediaType != "":
		return raw.MediaType
	case raw.Manifests != nil:
		return memstore.MediaTypeOCIIndex
	}
	return memstore.MediaTypeOCIManifest
}

// disallowedMediaType finds the first media type of raw outside the
// allow-lists.
func disallowedMediaType(rules quirks.MediaTypeRules, raw *mqManifest) (string, bool) {
	out := func(list []string, mt string) bool { return list != nil && !slices.Contains(list, mt) }
	if raw.Config != nil && out(rules.Config, raw.Config.MediaType) {
		return raw.Config.MediaType, true
	}
	if raw.ArtifactType != "" && out(rules.ArtifactType, raw.ArtifactType) {
		return raw.ArtifactType, true
	}
	for _, l := range raw.Layers {
		if out(rules.Layers, l.MediaType) {
			return l.MediaType, true
		}
	}
	return "", false
}

// quirkAPIError is a quirk's JSON error answer with a detail, or its raw
// body when it has one.
func quirkAPIError(e quirks.ErrorResponse, detail any) error {
	if e.Body != "" {
		return &quirkError{resp: e}
	}
	return &apiError{Status: e.Status, Err: &memstore.Error{Code: memstore.Code(e.Code), Message: e.Message, Detail: detail}}
}

// checkImmutableTags applies immutable-tags to the tags a PUT would set.
func (s *server) checkImmutableTags(r *http.Request, c *call, body []byte) error {
	set := c.q.Manifests.ImmutableTags
	tags := r.URL.Query()["tag"]
	if !memstore.IsDigest(c.Reference) {
		tags = append([]string{c.Reference}, tags...)
	}
	for _, tag := range tags {
		if slices.ContainsFunc(set.Value.Except, func(p string) bool { ok, _ := path.Match(p, tag); return ok }) {
			continue
		}
		old, err := s.store.Manifest(c.Repo, tag)
		if err != nil {
			continue // a new tag
		}
		if set.Value.Mode == quirks.ImmutableRejectDifferentDigest && bytes.Equal(old.Content, body) {
			continue
		}
		c.note(set.By)
		e := set.Value.Error
		if e.Status == 0 {
			e = quirks.ErrorResponse{
				Status: http.StatusBadRequest,
				Code:   "TAG_INVALID",
				Message: fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.",
					tag, c.Repo),
			}
		}
		return &quirkError{resp: e}
	}
	return nil
}
