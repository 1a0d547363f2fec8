package bench

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
)

// floor answers each request shape of the distribution API with the least
// any HTTP server must do: a GET writes a prebuilt body with its headers,
// an upload reads its body and throws it away. It hashes nothing and
// stores nothing, so a registry cannot be faster; the workloads compare
// the registries with it.
type floor struct {
	mu      sync.RWMutex
	answers map[string]*answer // by path, for GET and HEAD
}

type answer struct {
	header http.Header
	body   []byte
}

func newFloor() *floor { return &floor{answers: map[string]*answer{}} }

func (f *floor) set(path string, a *answer) {
	f.mu.Lock()
	f.answers[path] = a
	f.mu.Unlock()
}

func (f *floor) setBlob(path string, data []byte) {
	f.set(path, &answer{header: http.Header{
		"Content-Type":          {"application/octet-stream"},
		"Content-Length":        {strconv.Itoa(len(data))},
		"Docker-Content-Digest": {string(digest.FromBytes(data))},
	}, body: data})
}

func (f *floor) setManifest(path, contentType string, d digest.Digest, body []byte) {
	h := http.Header{
		"Content-Type":   {contentType},
		"Content-Length": {strconv.Itoa(len(body))},
	}
	if d != "" {
		h["Docker-Content-Digest"] = []string{string(d)}
	}
	f.set(path, &answer{header: h, body: body})
}

// Fixed upload answers: the floor computes nothing, not even a digest.
var (
	floorSession = "/v2/floor/blobs/uploads/session"
	floorDigest  = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
)

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Docker-Distribution-Api-Version"] = []string{"registry/2.0"}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if r.URL.Path == "/v2/" {
			h["Content-Type"] = []string{"application/json"}
			h["Content-Length"] = []string{"3"}
			if r.Method == http.MethodGet {
				io.WriteString(w, "{}\n")
			}
			return
		}
		f.mu.RLock()
		a := f.answers[r.URL.Path]
		f.mu.RUnlock()
		if a == nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		for k, v := range a.header {
			h[k] = v
		}
		if r.Method == http.MethodGet {
			w.Write(a.body)
		}
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		io.Copy(io.Discard, r.Body)
		h["Content-Length"] = []string{"0"}
		switch {
		case r.Method == http.MethodPatch:
			h["Location"] = []string{floorSession}
			h["Range"] = []string{"0-0"}
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPost && !r.URL.Query().Has("digest"):
			h["Location"] = []string{floorSession}
			w.WriteHeader(http.StatusAccepted)
		case strings.Contains(r.URL.Path, "/manifests/"):
			h["Location"] = []string{r.URL.Path}
			h["Docker-Content-Digest"] = []string{floorDigest}
			w.WriteHeader(http.StatusCreated)
		default:
			h["Location"] = []string{"/v2/floor/blobs/" + floorDigest}
			h["Docker-Content-Digest"] = []string{floorDigest}
			w.WriteHeader(http.StatusCreated)
		}
	case http.MethodDelete:
		w.WriteHeader(http.StatusAccepted)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}
