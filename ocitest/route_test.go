package ocitest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	routeDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	routeUpload = "00000000-0000-4000-8000-000000000001"
)

func TestParseRoute(t *testing.T) {
	const (
		allowBlob     = "GET, HEAD, DELETE"
		allowUploads  = "POST"
		allowUpload   = "GET, HEAD, PATCH, PUT, DELETE"
		allowManifest = "GET, HEAD, PUT, DELETE"
		allowGet      = "GET, HEAD"
	)
	tests := []struct {
		method, target string // target is path plus optional ?query
		want           route
	}{
		// end-1
		{"GET", "/v2/", route{Kind: Ping}},
		{"HEAD", "/v2/", route{Kind: Ping}},
		{"GET", "/v2", route{Kind: Ping}},
		{"POST", "/v2/", route{Kind: Unknown, Allow: allowGet}},
		{"DELETE", "/v2", route{Kind: Unknown, Allow: allowGet}},

		// Catalog
		{"GET", "/v2/_catalog", route{Kind: Catalog}},
		{"HEAD", "/v2/_catalog", route{Kind: Catalog}},
		{"GET", "/v2/_catalog?n=2&last=a", route{Kind: Catalog}},
		{"DELETE", "/v2/_catalog", route{Kind: Unknown, Allow: allowGet}},

		// end-2, end-10
		{"GET", "/v2/app/blobs/" + routeDigest, route{Kind: BlobGet, Repo: "app", Reference: routeDigest}},
		{"HEAD", "/v2/team/app/blobs/" + routeDigest, route{Kind: BlobHead, Repo: "team/app", Reference: routeDigest}},
		{"DELETE", "/v2/a/b/c/blobs/" + routeDigest, route{Kind: BlobDelete, Repo: "a/b/c", Reference: routeDigest}},
		{"GET", "/v2/app/blobs/not-a-digest", route{Kind: BlobGet, Repo: "app", Reference: "not-a-digest"}}, // validated later
		{"POST", "/v2/app/blobs/" + routeDigest, route{Kind: Unknown, Repo: "app", Reference: routeDigest, Allow: allowBlob}},
		{"PUT", "/v2/app/blobs/" + routeDigest, route{Kind: Unknown, Repo: "app", Reference: routeDigest, Allow: allowBlob}},
		{"PATCH", "/v2/app/blobs/" + routeDigest, route{Kind: Unknown, Repo: "app", Reference: routeDigest, Allow: allowBlob}},
		{"OPTIONS", "/v2/app/blobs/" + routeDigest, route{Kind: Unknown, Repo: "app", Reference: routeDigest, Allow: allowBlob}},

		// end-4a, end-4b, end-4c, end-11
		{"POST", "/v2/app/blobs/uploads/", route{Kind: UploadStart, Repo: "app"}},
		{"POST", "/v2/app/blobs/uploads", route{Kind: UploadStart, Repo: "app"}},
		{"POST", "/v2/app/blobs/uploads/?digest-algorithm=sha512", route{Kind: UploadStart, Repo: "app"}},
		{"POST", "/v2/app/blobs/uploads/?digest=" + routeDigest, route{Kind: UploadMonolithic, Repo: "app"}},
		{"POST", "/v2/app/blobs/uploads/?digest=", route{Kind: UploadMonolithic, Repo: "app"}}, // empty digest: handler says 400
		{"POST", "/v2/app/blobs/uploads/?mount=" + routeDigest + "&from=other", route{Kind: BlobMount, Repo: "app"}},
		{"POST", "/v2/app/blobs/uploads/?mount=" + routeDigest, route{Kind: BlobMount, Repo: "app"}},
		{"POST", "/v2/app/blobs/uploads/?mount=" + routeDigest + "&digest=" + routeDigest, route{Kind: BlobMount, Repo: "app"}},
		{"GET", "/v2/app/blobs/uploads/", route{Kind: Unknown, Repo: "app", Allow: allowUploads}},
		{"PUT", "/v2/app/blobs/uploads/", route{Kind: Unknown, Repo: "app", Allow: allowUploads}},
		{"PATCH", "/v2/app/blobs/uploads/", route{Kind: Unknown, Repo: "app", Allow: allowUploads}},
		{"DELETE", "/v2/app/blobs/uploads", route{Kind: Unknown, Repo: "app", Allow: allowUploads}},

		// end-5, end-6, end-13, end-14
		{"PATCH", "/v2/app/blobs/uploads/" + routeUpload, route{Kind: UploadChunk, Repo: "app", UploadID: routeUpload}},
		{"PUT", "/v2/app/blobs/uploads/" + routeUpload + "?digest=" + routeDigest, route{Kind: UploadComplete, Repo: "app", UploadID: routeUpload}},
		{"PUT", "/v2/app/blobs/uploads/" + routeUpload, route{Kind: UploadComplete, Repo: "app", UploadID: routeUpload}}, // no digest: handler says 400
		{"GET", "/v2/app/blobs/uploads/" + routeUpload, route{Kind: UploadStatus, Repo: "app", UploadID: routeUpload}},
		{"HEAD", "/v2/app/blobs/uploads/" + routeUpload, route{Kind: UploadStatus, Repo: "app", UploadID: routeUpload}},
		{"DELETE", "/v2/app/blobs/uploads/" + routeUpload, route{Kind: UploadCancel, Repo: "app", UploadID: routeUpload}},
		{"POST", "/v2/app/blobs/uploads/" + routeUpload, route{Kind: Unknown, Repo: "app", UploadID: routeUpload, Allow: allowUpload}},
		{"OPTIONS", "/v2/app/blobs/uploads/" + routeUpload, route{Kind: Unknown, Repo: "app", UploadID: routeUpload, Allow: allowUpload}},

		// end-3, end-7, end-9
		{"GET", "/v2/app/manifests/latest", route{Kind: ManifestGet, Repo: "app", Reference: "latest"}},
		{"HEAD", "/v2/app/manifests/" + routeDigest, route{Kind: ManifestHead, Repo: "app", Reference: routeDigest}},
		{"PUT", "/v2/app/manifests/v1?tag=a&tag=b", route{Kind: ManifestPut, Repo: "app", Reference: "v1"}},
		{"DELETE", "/v2/app/manifests/v1", route{Kind: ManifestDelete, Repo: "app", Reference: "v1"}},
		{"POST", "/v2/app/manifests/v1", route{Kind: Unknown, Repo: "app", Reference: "v1", Allow: allowManifest}},
		{"PATCH", "/v2/app/manifests/v1", route{Kind: Unknown, Repo: "app", Reference: "v1", Allow: allowManifest}},

		// end-8
		{"GET", "/v2/app/tags/list", route{Kind: TagsList, Repo: "app"}},
		{"HEAD", "/v2/team/app/tags/list?n=1&last=a", route{Kind: TagsList, Repo: "team/app"}},
		{"DELETE", "/v2/app/tags/list", route{Kind: Unknown, Repo: "app", Allow: allowGet}},

		// end-12
		{"GET", "/v2/app/referrers/" + routeDigest, route{Kind: ReferrersList, Repo: "app", Reference: routeDigest}},
		{"GET", "/v2/app/referrers/" + routeDigest + "?artifactType=a/b", route{Kind: ReferrersList, Repo: "app", Reference: routeDigest}},
		{"HEAD", "/v2/app/referrers/" + routeDigest, route{Kind: ReferrersList, Repo: "app", Reference: routeDigest}},
		{"PUT", "/v2/app/referrers/" + routeDigest, route{Kind: Unknown, Repo: "app", Reference: routeDigest, Allow: allowGet}},

		// Names that contain the endpoints' own segments: the endpoint is
		// matched at the end of the path, everything before is the name.
		{"GET", "/v2/blobs/blobs/" + routeDigest, route{Kind: BlobGet, Repo: "blobs", Reference: routeDigest}},
		{"GET", "/v2/a/blobs/b/blobs/" + routeDigest, route{Kind: BlobGet, Repo: "a/blobs/b", Reference: routeDigest}},
		{"GET", "/v2/x/blobs/blobs/" + routeDigest, route{Kind: BlobGet, Repo: "x/blobs", Reference: routeDigest}},
		{"GET", "/v2/manifests/blobs/" + routeDigest, route{Kind: BlobGet, Repo: "manifests", Reference: routeDigest}},
		{"GET", "/v2/uploads/blobs/" + routeDigest, route{Kind: BlobGet, Repo: "uploads", Reference: routeDigest}},
		{"POST", "/v2/x/blobs/blobs/uploads/", route{Kind: UploadStart, Repo: "x/blobs"}},
		{"POST", "/v2/blobs/uploads/blobs/uploads/", route{Kind: UploadStart, Repo: "blobs/uploads"}},
		{"PATCH", "/v2/blobs/uploads/blobs/uploads/" + routeUpload, route{Kind: UploadChunk, Repo: "blobs/uploads", UploadID: routeUpload}},
		{"GET", "/v2/manifests/manifests/latest", route{Kind: ManifestGet, Repo: "manifests", Reference: "latest"}},
		{"GET", "/v2/blobs/uploads/manifests/latest", route{Kind: ManifestGet, Repo: "blobs/uploads", Reference: "latest"}},
		{"GET", "/v2/a/manifests/b/manifests/latest", route{Kind: ManifestGet, Repo: "a/manifests/b", Reference: "latest"}},
		{"GET", "/v2/tags/list/tags/list", route{Kind: TagsList, Repo: "tags/list"}},
		{"GET", "/v2/referrers/x/referrers/" + routeDigest, route{Kind: ReferrersList, Repo: "referrers/x", Reference: routeDigest}},
		{"GET", "/v2/_catalog/tags/list", route{Kind: TagsList, Repo: "_catalog"}}, // name validated later
		{"GET", "/v2/v2/blobs/" + routeDigest, route{Kind: BlobGet, Repo: "v2", Reference: routeDigest}},

		// Not endpoints of the spec.
		{"GET", "/", route{Kind: Unknown}},
		{"GET", "/v1/app/blobs/" + routeDigest, route{Kind: Unknown}},
		{"GET", "/v2foo/blobs/" + routeDigest, route{Kind: Unknown}},
		{"GET", "/v2app/manifests/latest", route{Kind: Unknown}},
		{"GET", "/v2/app", route{Kind: Unknown}},
		{"GET", "/v2/app/", route{Kind: Unknown}},
		{"GET", "/v2/app/blobs", route{Kind: Unknown}},
		{"GET", "/v2/app/blobs/", route{Kind: Unknown}},
		{"GET", "/v2/app/blobs/" + routeDigest + "/", route{Kind: Unknown}},
		{"GET", "/v2/app/manifests", route{Kind: Unknown}},
		{"GET", "/v2/app/manifests/", route{Kind: Unknown}},
		{"GET", "/v2/app/tags", route{Kind: Unknown}},
		{"GET", "/v2/app/tags/list/", route{Kind: Unknown}},
		{"GET", "/v2/app/referrers/", route{Kind: Unknown}},
		{"GET", "/v2/blobs/" + routeDigest, route{Kind: Unknown}},    // no name
		{"GET", "/v2/manifests/latest", route{Kind: Unknown}},        // no name
		{"POST", "/v2/blobs/uploads/", route{Kind: Unknown}},         // no name
		{"GET", "/v2/tags/list", route{Kind: Unknown}},               // no name
		{"GET", "/v2/_catalog/", route{Kind: Unknown}},               // not the catalog
		{"GET", "/v2/app/something/else", route{Kind: Unknown}},      // unknown suffix
		{"PATCH", "/v2/app/blobs/uploads/a/b", route{Kind: Unknown}}, // id with a slash
	}
	covered := map[Kind]bool{}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			path, rawQuery, _ := strings.Cut(tt.target, "?")
			q, err := url.ParseQuery(rawQuery)
			if err != nil {
				t.Fatal(err)
			}
			got := parseRoute(tt.method, path, q)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseRoute(%s, %s) mismatch (-want +got):\n%s", tt.method, tt.target, diff)
			}
			if got.Kind == AnyKind {
				t.Errorf("route kind is AnyKind, which only a Match may have")
			}
			if got.Allow != "" && got.Kind != Unknown {
				t.Errorf("a 405 route has Kind %v, want Unknown", got.Kind)
			}
		})
		covered[tt.want.Kind] = true
	}
	// Every kind the router can produce appears in the table. Token belongs
	// to the auth layer, which sits in front of parseRoute.
	for k := Unknown; k <= Token; k++ {
		if k != Token && k != AnyKind && !covered[k] {
			t.Errorf("no parseRoute case yields %v", k)
		}
	}
}

// TestParseRouteNeverToken checks that no path reaches the Token kind
// through the spec router.
func TestParseRouteNeverToken(t *testing.T) {
	for _, p := range []string{"/token", "/v2/token", "/v2/auth/token", "/auth/token"} {
		for _, m := range []string{"GET", "POST"} {
			if got := parseRoute(m, p, nil); got.Kind == Token {
				t.Errorf("parseRoute(%s, %s) = Token", m, p)
			}
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{
		"/v2/", "/v2/_catalog", "/v2/a/blobs/" + routeDigest, "/v2/a/blobs/uploads/",
		"/v2/a/blobs/uploads/" + routeUpload, "/v2/a/manifests/v1", "/v2/a/tags/list",
		"/v2/a/referrers/" + routeDigest, "/v2//blobs//", "/v2/blobs/uploads/blobs/uploads/x",
	} {
		f.Add("GET", s, "")
		f.Add("POST", s, "mount="+routeDigest)
	}
	f.Fuzz(func(t *testing.T, method, path, rawQuery string) {
		q, _ := url.ParseQuery(rawQuery)
		rt := parseRoute(method, path, q)
		if rt.Allow != "" && rt.Kind != Unknown {
			t.Fatalf("405 route with kind %v", rt.Kind)
		}
		if rt.Kind == Token {
			t.Fatalf("router produced Token")
		}
		if rt.Kind == AnyKind {
			t.Fatalf("%q routed to AnyKind, which no request has", path)
		}
		if rt.Kind == Unknown && rt.Allow == "" {
			return
		}
		if !strings.HasPrefix(path, "/v2/") && path != "/v2" {
			t.Fatalf("%q routed to %v outside /v2/", path, rt.Kind)
		}
		if rt.Repo != "" && !strings.HasPrefix(path, "/v2/"+rt.Repo+"/") {
			t.Fatalf("%q: repository %q is not the path's prefix", path, rt.Repo)
		}
	})
}
