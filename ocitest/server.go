package ocitest

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
)

// server is the distribution-spec HTTP API over a memstore.Store.
type server struct {
	store *memstore.Store
	cfg   *config
	// otherHost is the base URL of the registry's second registry listener
	// (started on first use), for quirks that move a client to another host.
	otherHost func() (string, error)
}

// handlerFunc serves one endpoint kind. Handlers return errors instead of
// writing them, so that every error response is written by writeError.
type handlerFunc func(s *server, w http.ResponseWriter, r *http.Request, c *call) error

// handlers is the dispatch table from endpoint kind to handler.
var handlers = map[Kind]handlerFunc{
	Ping:             (*server).ping,
	BlobGet:          (*server).getBlob,
	BlobHead:         (*server).getBlob,
	BlobDelete:       (*server).deleteBlob,
	UploadStart:      (*server).startUpload,
	UploadMonolithic: (*server).monolithicUpload,
	BlobMount:        (*server).mountBlob,
	UploadChunk:      (*server).patchUpload,
	UploadComplete:   (*server).completeUpload,
	UploadStatus:     (*server).uploadStatus,
	UploadCancel:     (*server).cancelUpload,
	ManifestGet:      (*server).getManifest,
	ManifestHead:     (*server).getManifest,
	ManifestPut:      (*server).putManifest,
	ManifestDelete:   (*server).deleteManifest,
	TagsList:         (*server).listTags,
	ReferrersList:    (*server).listReferrers,
	Catalog:          (*server).catalog,
}

// serveRoute answers a request whose route is already parsed.
func (s *server) serveRoute(w http.ResponseWriter, r *http.Request, c *call) {
	err := s.serve(w, r, c)
	var qe *quirkError
	switch {
	case err == nil:
	case errors.As(err, &qe):
		writeQuirkError(w, r, qe.resp)
	default:
		writeError(w, rewriteErrorCode(c, err))
	}
}

// serve validates what every endpoint shares (the repository name) and
// dispatches to the kind's handler.
func (s *server) serve(w http.ResponseWriter, r *http.Request, c *call) (err error) {
	defer func() {
		// A handler bug must not take the test binary down with it.
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = fmt.Errorf("ocitest: internal error serving %s %s: %v", r.Method, r.URL.Path, p)
		}
	}()
	if c.Allow != "" {
		e := newAPIError(http.StatusMethodNotAllowed, memstore.ErrUnsupported,
			fmt.Sprintf("method %s not allowed here; allowed: %s", r.Method, c.Allow))
		e.Header = http.Header{"Allow": {c.Allow}}
		return e
	}
	h := handlers[c.Kind]
	if h == nil {
		return newAPIError(http.StatusNotFound, memstore.ErrUnsupported,
			fmt.Sprintf("%s %s is not an endpoint of the distribution API", r.Method, r.URL.Path))
	}
	if c.Kind != Ping && c.Kind != Catalog && !memstore.ValidName(c.Repo) {
		e := newAPIError(http.StatusBadRequest, memstore.ErrNameInvalid, fmt.Sprintf("invalid repository name %q", c.Repo))
		e.Err.Detail = map[string]string{"name": c.Repo}
		return e
	}
	if err := s.manifestRouteQuirks(r, c); err != nil {
		return err
	}
	w = withHeaderQuirks(w, c)
	return h(s, w, r, c)
}

func (s *server) ping(w http.ResponseWriter, r *http.Request, c *call) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "3")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte("{}\n"))
	}
	return nil
}

// parseDigest validates a digest taken from a request.
func parseDigest(s string) (digest.Digest, error) {
	d, err := memstore.ParseDigest(s)
	if err != nil {
		return "", err
	}
	return d, nil
}

// blobLocation is the path a stored blob is pulled from.
func blobLocation(repo string, d digest.Digest) string {
	return "/v2/" + repo + "/blobs/" + string(d)
}

// uploadLocation is the <blob-push-location> of a session.
func uploadLocation(repo, id string) string {
	return "/v2/" + repo + "/blobs/uploads/" + id
}

// manifestLocation is the path a stored manifest is pulled from.
func manifestLocation(repo string, d digest.Digest) string {
	return "/v2/" + repo + "/manifests/" + string(d)
}
