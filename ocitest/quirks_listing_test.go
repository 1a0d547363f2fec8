package ocitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
)

// lqSeedTags pushes one image to repo and tags it with each tag, in order.
func lqSeedTags(t *testing.T, reg *Registry, repo string, tags ...string) {
	t.Helper()
	img := NewImage()
	reg.PushImage(t, repo, "", img)
	for _, tag := range tags {
		reg.Tag(t, repo, tag, img.Digest())
	}
}

// lqTags decodes a tags list body.
func lqTags(t *testing.T, resp response) []string {
	t.Helper()
	var body struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("tags list is not JSON: %v: %s", err, resp.Body)
	}
	return body.Tags
}

// lqQuirks returns the quirks recorded for the last request.
func lqQuirks(t *testing.T, reg *Registry) []string {
	t.Helper()
	last, ok := reg.LastRequest()
	if !ok {
		t.Fatal("no request recorded")
	}
	return last.Quirks
}

func lqWantQuirks(t *testing.T, reg *Registry, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, lqQuirks(t, reg), cmpEmpty()); diff != "" {
		t.Errorf("recorded quirks differ (-want +got):\n%s", diff)
	}
}

func cmpEmpty() cmp.Option {
	return cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())
}

func TestQuirkMaxPageSize(t *testing.T) {
	reg := New(t, WithQuirks(quirks.MaxPageSize(3)))
	lqSeedTags(t, reg, "app", "a", "b", "c", "d")

	resp := do(t, reg, "GET", "/v2/app/tags/list?n=4", nil)
	wantError(t, resp, http.StatusMethodNotAllowed, "UNSUPPORTED")
	if !strings.Contains(string(resp.Body), "Member must have value less than or equal to 3") {
		t.Errorf("body lacks ECR's message: %s", resp.Body)
	}
	lqWantQuirks(t, reg, "ecr-page-limit(3)")

	// Neighbours: a page within the limit, no n at all, and the catalog.
	resp = do(t, reg, "GET", "/v2/app/tags/list?n=3", nil)
	wantStatus(t, resp, http.StatusOK)
	if got := lqTags(t, resp); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("tags = %v", got)
	}
	lqWantQuirks(t, reg)
	resp = do(t, reg, "GET", "/v2/app/tags/list", nil)
	wantStatus(t, resp, http.StatusOK)
	if got := lqTags(t, resp); len(got) != 4 {
		t.Errorf("without n, %d tags, want all 4", len(got))
	}
	wantError(t, do(t, reg, "GET", "/v2/_catalog?n=4", nil), http.StatusMethodNotAllowed, "UNSUPPORTED")
}

func TestQuirkDefaultPageSize(t *testing.T) {
	reg := New(t, WithQuirks(quirks.DefaultPageSize(2)))
	lqSeedTags(t, reg, "app", "a", "b", "c")

	resp := do(t, reg, "GET", "/v2/app/tags/list", nil)
	wantStatus(t, resp, http.StatusOK)
	if got := lqTags(t, resp); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("first page = %v", got)
	}
	wantHeader(t, resp, "Link", `</v2/app/tags/list?last=b&n=2>; rel="next"`)
	lqWantQuirks(t, reg, "list-default-page-size(2)")

	// Following the Link gets the rest, without more Links.
	resp = do(t, reg, "GET", "/v2/app/tags/list?last=b&n=2", nil)
	if got := lqTags(t, resp); !slices.Equal(got, []string{"c"}) || resp.Header.Get("Link") != "" {
		t.Errorf("second page = %v, Link %q", got, resp.Header.Get("Link"))
	}
	lqWantQuirks(t, reg)
	// A client that asks for n gets what it asked for.
	resp = do(t, reg, "GET", "/v2/app/tags/list?n=10", nil)
	if got := lqTags(t, resp); len(got) != 3 {
		t.Errorf("n=10 gave %v", got)
	}
	// A repository that fits in one page is not changed.
	lqSeedTags(t, reg, "small", "x")
	resp = do(t, reg, "GET", "/v2/small/tags/list", nil)
	if resp.Header.Get("Link") != "" {
		t.Error("a one-page list has a Link")
	}
	lqWantQuirks(t, reg)
}

func TestQuirkIgnorePageParams(t *testing.T) {
	reg := New(t, WithQuirks(quirks.IgnorePageParams()))
	lqSeedTags(t, reg, "app", "a", "b", "c")
	resp := do(t, reg, "GET", "/v2/app/tags/list?n=1&last=a", nil)
	wantStatus(t, resp, http.StatusOK)
	if got := lqTags(t, resp); !slices.Equal(got, []string{"a", "b", "c"}) || resp.Header.Get("Link") != "" {
		t.Errorf("got %v with Link %q, want everything and no Link", got, resp.Header.Get("Link"))
	}
	lqWantQuirks(t, reg, "list-no-pagination")
	do(t, reg, "GET", "/v2/app/tags/list", nil)
	lqWantQuirks(t, reg) // nothing to ignore
}

func TestQuirkIgnoreLast(t *testing.T) {
	reg := New(t, WithQuirks(quirks.IgnoreLast()))
	lqSeedTags(t, reg, "app", "a", "b", "c")
	resp := do(t, reg, "GET", "/v2/app/tags/list?n=2&last=b", nil)
	if got := lqTags(t, resp); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("got %v, want the first page again", got)
	}
	lqWantQuirks(t, reg, "list-ignore-last")
	resp = do(t, reg, "GET", "/v2/app/tags/list?n=2", nil)
	if got := lqTags(t, resp); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("got %v", got)
	}
	wantHeader(t, resp, "Link", `</v2/app/tags/list?last=b&n=2>; rel="next"`)
	lqWantQuirks(t, reg)
}

func TestQuirkOpaqueListCursor(t *testing.T) {
	reg := New(t, WithQuirks(quirks.OpaqueListCursor()))
	lqSeedTags(t, reg, "app", "a", "b", "c")
	resp := do(t, reg, "GET", "/v2/app/tags/list?n=2", nil)
	link := resp.Header.Get("Link")
	if !strings.Contains(link, "next=") || strings.Contains(link, "last=") {
		t.Fatalf("Link = %q, want an opaque next= cursor", link)
	}
	lqWantQuirks(t, reg, "ecr-opaque-cursor")

	// Following the Link verbatim works...
	next := strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	resp = do(t, reg, "GET", next, nil)
	if got := lqTags(t, resp); !slices.Equal(got, []string{"c"}) {
		t.Errorf("next page = %v", got)
	}
	// ...rebuilding it with last= does not.
	resp = do(t, reg, "GET", "/v2/app/tags/list?n=2&last=b", nil)
	wantError(t, resp, http.StatusMethodNotAllowed, "UNSUPPORTED")
	if !strings.Contains(string(resp.Body), "Invalid next token provided") {
		t.Errorf("body = %s", resp.Body)
	}
	lqWantQuirks(t, reg, "ecr-opaque-cursor")
	wantStatus(t, do(t, reg, "GET", "/v2/app/tags/list?next=***", nil), http.StatusMethodNotAllowed)
}

func TestQuirkUnsortedTags(t *testing.T) {
	for _, tt := range []struct {
		order quirks.TagOrder
		want  []string
	}{
		{quirks.TagsInsertion, []string{"v2", "latest", "v10", "a"}},
		{quirks.TagsReverse, []string{"v2", "v10", "latest", "a"}},
		{quirks.TagsLexical, []string{"a", "latest", "v10", "v2"}},
	} {
		t.Run(fmt.Sprint(tt.order), func(t *testing.T) {
			reg := New(t, WithQuirks(quirks.UnsortedTags(tt.order)))
			lqSeedTags(t, reg, "app", "v2", "latest", "v10", "a")
			resp := do(t, reg, "GET", "/v2/app/tags/list", nil)
			if got := lqTags(t, resp); !slices.Equal(got, tt.want) {
				t.Errorf("tags = %v, want %v", got, tt.want)
			}
			// Paging with last follows the same order.
			resp = do(t, reg, "GET", "/v2/app/tags/list?n=2&last="+tt.want[1], nil)
			if got := lqTags(t, resp); !slices.Equal(got, tt.want[2:]) {
				t.Errorf("page after %s = %v, want %v", tt.want[1], got, tt.want[2:])
			}
		})
	}
}

func TestQuirkEmptyTags(t *testing.T) {
	for _, tt := range []struct {
		enc        quirks.EmptyTagList
		status     int
		wantSubstr string
	}{
		{quirks.EmptyTagsNull, 200, `"tags":null`},
		{quirks.EmptyTagsOmitted, 200, `{"name":"app"}`},
		{quirks.EmptyTagsNotFound, 404, `NAME_UNKNOWN`},
		{quirks.EmptyTagsArray, 200, `"tags":[]`},
	} {
		q := quirks.EmptyTags(tt.enc)
		t.Run(q.String(), func(t *testing.T) {
			reg := New(t, WithQuirks(q))
			reg.PushImage(t, "app", "", NewImage()) // a repository with no tags
			resp := do(t, reg, "GET", "/v2/app/tags/list", nil)
			if resp.Status != tt.status || !strings.Contains(string(resp.Body), tt.wantSubstr) {
				t.Errorf("got %d %s, want %d containing %s", resp.Status, resp.Body, tt.status, tt.wantSubstr)
			}
			// A repository with tags, and an empty page past its end, are untouched.
			reg.Tag(t, "app", "v1", NewImage().Digest())
			resp = do(t, reg, "GET", "/v2/app/tags/list?last=v1", nil)
			if resp.Status != 200 || !strings.Contains(string(resp.Body), `"tags":[]`) {
				t.Errorf("page past the end: %d %s", resp.Status, resp.Body)
			}
			lqWantQuirks(t, reg)
		})
	}
}

func TestQuirkInvalidTagEntries(t *testing.T) {
	reg := New(t, WithQuirks(quirks.InvalidTagEntries(`null`, `"sha256:abc"`)))
	lqSeedTags(t, reg, "app", "v1")
	resp := do(t, reg, "GET", "/v2/app/tags/list", nil)
	if want := `{"name":"app","tags":["v1",null,"sha256:abc"]}` + "\n"; string(resp.Body) != want {
		t.Errorf("body = %s, want %s", resp.Body, want)
	}
	lqWantQuirks(t, reg, "tags-list-invalid-entries(2)")
	// Other listings are unchanged.
	resp = do(t, reg, "GET", "/v2/_catalog", nil)
	if string(resp.Body) != `{"repositories":["app"]}`+"\n" {
		t.Errorf("catalog = %s", resp.Body)
	}
}

func TestQuirkCatalogUnsupported(t *testing.T) {
	for status, code := range map[int]memstore.Code{401: "UNAUTHORIZED", 404: "NAME_UNKNOWN", 405: "UNSUPPORTED"} {
		reg := New(t, WithQuirks(quirks.CatalogUnsupported(status)))
		lqSeedTags(t, reg, "app", "v1")
		wantError(t, do(t, reg, "GET", "/v2/_catalog", nil), status, code)
		lqWantQuirks(t, reg, fmt.Sprintf("catalog-unsupported(%d)", status))
		wantStatus(t, do(t, reg, "GET", "/v2/app/tags/list", nil), http.StatusOK)
		lqWantQuirks(t, reg)
	}
}

func TestQuirksScopedToRepos(t *testing.T) {
	reg := New(t, WithQuirks(quirks.ForRepos("legacy/*", quirks.IgnorePageParams())...))
	lqSeedTags(t, reg, "legacy/app", "a", "b")
	lqSeedTags(t, reg, "new/app", "a", "b")
	if got := lqTags(t, do(t, reg, "GET", "/v2/legacy/app/tags/list?n=1", nil)); len(got) != 2 {
		t.Errorf("legacy repo: %v, want both tags", got)
	}
	if got := lqTags(t, do(t, reg, "GET", "/v2/new/app/tags/list?n=1", nil)); len(got) != 1 {
		t.Errorf("new repo: %v, want one tag", got)
	}
}

func TestSetAndEnableQuirks(t *testing.T) {
	reg := New(t)
	lqSeedTags(t, reg, "app", "a", "b")
	page := func() int { return len(lqTags(t, do(t, reg, "GET", "/v2/app/tags/list?n=1", nil))) }
	if page() != 1 {
		t.Fatal("spec mode should page")
	}
	t.Run("enabled for a subtest", func(t *testing.T) {
		reg.EnableQuirks(t, quirks.IgnorePageParams())
		if page() != 2 {
			t.Error("EnableQuirks had no effect")
		}
	})
	if page() != 1 || len(reg.Quirks()) != 0 {
		t.Error("EnableQuirks was not undone when the subtest ended")
	}
	reg.SetQuirks(quirks.IgnorePageParams())
	if page() != 2 {
		t.Error("SetQuirks had no effect")
	}
	reg.SetQuirks()
	if page() != 1 {
		t.Error("SetQuirks() did not restore the spec")
	}
}

// TestEnableQuirksParallelSubtests: subtests that enable quirks on one
// registry in parallel keep each other's quirks, and each takes out only
// its own when it ends.
func TestEnableQuirksParallelSubtests(t *testing.T) {
	reg := New(t, WithQuirks(quirks.IgnoreLast()))
	t.Run("group", func(t *testing.T) {
		for i, q := range []quirks.Quirk{quirks.MaxPageSize(10), quirks.DefaultPageSize(5), quirks.CatalogUnsupported(404)} {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				reg.EnableQuirks(t, q)
				if !slices.Contains(quirks.Names(reg.Quirks()), q.String()) {
					t.Errorf("%s is not active", q)
				}
			})
		}
	})
	if got := quirks.Names(reg.Quirks()); !slices.Equal(got, []string{"list-ignore-last"}) {
		t.Errorf("after the subtests: %v, want only the registry's own quirk", got)
	}
}
