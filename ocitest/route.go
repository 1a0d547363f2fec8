package ocitest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// route is what a request's method, path and query address.
type route struct {
	Kind Kind
	// Repo is the repository name as written in the path (not yet validated).
	Repo string
	// Reference is the tag or digest of a manifest, or the digest of a blob
	// or referrers subject, as written in the path.
	Reference string
	// UploadID is the upload session id of <blob-push-location> requests.
	UploadID string
	// Allow lists the methods the path supports when the method used is
	// not one of them (a 405); empty otherwise.
	Allow string
}

// endpoint shapes: the fixed path segments that end each kind of URL.
type shape int

const (
	shapeNone shape = iota
	shapeBlob
	shapeUploads
	shapeUpload
	shapeManifest
	shapeTags
	shapeReferrers
)

// parseRoute maps a request to the spec endpoint it addresses. It is pure:
// names and references are not validated here. Repository names may
// themselves contain segments such as "blobs" or "manifests", so paths are
// matched from their end.
func parseRoute(method, path string, query url.Values) route {
	rest, ok := strings.CutPrefix(path, "/v2")
	if !ok {
		return route{Kind: Unknown}
	}
	if rest == "" || rest == "/" {
		return methods(route{Kind: Ping}, method, "GET", "HEAD")
	}
	if rest == "/_catalog" {
		return methods(route{Kind: Catalog}, method, "GET", "HEAD")
	}
	// "/v2" must be a whole segment: "/v2foo/blobs/<digest>" is not an
	// endpoint (without this check it routed as repository "foo").
	rest, ok = strings.CutPrefix(rest, "/")
	if !ok {
		return route{Kind: Unknown}
	}
	var buf [16]string // most paths: no allocation for the segments
	segs := splitPath(buf[:0], rest)
	sh, repoSegs, rt := matchShape(segs)
	if sh == shapeNone || repoSegs == 0 {
		return route{Kind: Unknown}
	}
	rt.Kind = Unknown       // until the method is known to fit the path
	repoLen := repoSegs - 1 // the slashes between the repository's segments
	for _, seg := range segs[:repoSegs] {
		repoLen += len(seg)
	}
	rt.Repo = rest[:repoLen]
	switch sh {
	case shapeBlob:
		switch method {
		case http.MethodGet:
			rt.Kind = BlobGet
		case http.MethodHead:
			rt.Kind = BlobHead
		case http.MethodDelete:
			rt.Kind = BlobDelete
		default:
			rt.Allow = "GET, HEAD, DELETE"
		}
	case shapeUploads:
		if method != http.MethodPost {
			rt.Allow = "POST"
			break
		}
		switch {
		case query.Has("mount"):
			rt.Kind = BlobMount
		case query.Has("digest"):
			rt.Kind = UploadMonolithic
		default:
			rt.Kind = UploadStart
		}
	case shapeUpload:
		switch method {
		case http.MethodPatch:
			rt.Kind = UploadChunk
		case http.MethodPut:
			rt.Kind = UploadComplete
		case http.MethodGet, http.MethodHead:
			rt.Kind = UploadStatus
		case http.MethodDelete:
			rt.Kind = UploadCancel
		default:
			rt.Allow = "GET, HEAD, PATCH, PUT, DELETE"
		}
	case shapeManifest:
		switch method {
		case http.MethodGet:
			rt.Kind = ManifestGet
		case http.MethodHead:
			rt.Kind = ManifestHead
		case http.MethodPut:
			rt.Kind = ManifestPut
		case http.MethodDelete:
			rt.Kind = ManifestDelete
		default:
			rt.Allow = "GET, HEAD, PUT, DELETE"
		}
	case shapeTags:
		rt = methods(rt, method, "GET", "HEAD")
		if rt.Allow == "" {
			rt.Kind = TagsList
		}
	case shapeReferrers:
		rt = methods(rt, method, "GET", "HEAD")
		if rt.Allow == "" {
			rt.Kind = ReferrersList
		}
	}
	return rt
}

// matchShape recognises the endpoint suffix of a path split into segments
// and reports how many leading segments form the repository name.
// splitPath appends the "/"-separated segments of p to segs, as
// strings.Split does.
func splitPath(segs []string, p string) []string {
	for {
		seg, more, found := strings.Cut(p, "/")
		segs = append(segs, seg)
		if !found {
			return segs
		}
		p = more
	}
}

func matchShape(segs []string) (shape, int, route) {
	n := len(segs)
	last := func(i int) string { // i-th segment from the end, 1-based
		if n-i < 0 {
			return ""
		}
		return segs[n-i]
	}
	switch {
	case n >= 3 && last(3) == "blobs" && last(2) == "uploads" && last(1) == "":
		return shapeUploads, n - 3, route{}
	case n >= 2 && last(2) == "blobs" && last(1) == "uploads":
		return shapeUploads, n - 2, route{}
	case n >= 3 && last(3) == "blobs" && last(2) == "uploads":
		return shapeUpload, n - 3, route{UploadID: last(1)}
	case n >= 2 && last(2) == "blobs" && last(1) != "":
		return shapeBlob, n - 2, route{Reference: last(1)}
	case n >= 2 && last(2) == "manifests" && last(1) != "":
		return shapeManifest, n - 2, route{Reference: last(1)}
	case n >= 2 && last(2) == "tags" && last(1) == "list":
		return shapeTags, n - 2, route{}
	case n >= 2 && last(2) == "referrers" && last(1) != "":
		return shapeReferrers, n - 2, route{Reference: last(1)}
	}
	return shapeNone, 0, route{}
}

// methods sets rt.Allow unless method is one of allowed (HEAD comes with GET).
func methods(rt route, method string, allowed ...string) route {
	for _, m := range allowed {
		if method == m {
			return rt
		}
	}
	rt.Kind = Unknown
	rt.Allow = strings.Join(allowed, ", ")
	return rt
}

func itoa(i int) string { return strconv.Itoa(i) }
