package ocitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pageParams reads the n and last query parameters of a list request. n
// is -1 when absent (the whole list); a value that is not a non-negative
// integer is a 400.
func pageParams(q url.Values) (last string, n int, err error) {
	n = -1
	if q.Has("n") {
		v := q.Get("n")
		n, err = strconv.Atoi(v)
		if err != nil || n < 0 {
			return "", 0, newAPIError(http.StatusBadRequest, memstore.ErrUnsupported,
				fmt.Sprintf("invalid n=%q: want a non-negative integer", v))
		}
	}
	return q.Get("last"), n, nil
}

// setNextLink sets the RFC 5988 Link header to the page after last.
func setNextLink(w http.ResponseWriter, path, last string, n int) {
	q := url.Values{"last": {last}, "n": {strconv.Itoa(n)}}
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, path, q.Encode()))
}

// writeJSON writes v as a 200 JSON response of the given content type.
func writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ocitest: encoding response: %w", err)
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}

type tagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// listTags serves a repository's tags (end-8), paginated by n and last
// with a Link header to the next page. n=0 gives an empty list and no Link.
func (s *server) listTags(w http.ResponseWriter, r *http.Request, rt route) error {
	last, n, err := pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	tags, more, err := s.store.Tags(rt.Repo, last, n)
	if err != nil {
		return err
	}
	if more && n > 0 {
		setNextLink(w, "/v2/"+rt.Repo+"/tags/list", tags[len(tags)-1], n)
	}
	return writeJSON(w, r, "application/json", tagList{Name: rt.Repo, Tags: tags})
}

type catalogList struct {
	Repositories []string `json:"repositories"`
}

// catalog lists repositories (Docker's /v2/_catalog), paginated like tags.
func (s *server) catalog(w http.ResponseWriter, r *http.Request, rt route) error {
	last, n, err := pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	repos, more := s.store.Repositories(last, n)
	if more && n > 0 {
		setNextLink(w, "/v2/_catalog", repos[len(repos)-1], n)
	}
	return writeJSON(w, r, "application/json", catalogList{Repositories: repos})
}

// listReferrers serves the referrers of a digest (end-12) as an image
// index, filtered by artifactType when asked (with OCI-Filters-Applied).
// A subject with no referrers, even in a repository that does not exist,
// gets an empty index, never a 404.
func (s *server) listReferrers(w http.ResponseWriter, r *http.Request, rt route) error {
	d, err := parseDigest(rt.Reference)
	if err != nil {
		return err
	}
	artifactType := r.URL.Query().Get("artifactType")
	descs := s.store.Referrers(rt.Repo, d, artifactType)
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, r, ocispec.MediaTypeImageIndex, ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: descs,
	})
}
