package memstore

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// wantReferrersIndex is what encoding/json makes of the index of Referrers.
func wantReferrersIndex(t testing.TB, s *Store, repo string, d digest.Digest, artifactType string) string {
	t.Helper()
	b, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: s.Referrers(repo, d, artifactType),
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReferrersIndex: the encoded index is byte for byte encoding/json's
// encoding of Referrers, filtered or not, and follows every push and
// delete of a referrer although it is cached.
func TestReferrersIndex(t *testing.T) {
	f := newFixture(t)
	subject := ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: sha256Of([]byte("subject")), Size: 7}
	other := sha256Of([]byte("no referrers"))
	check := func(step string) {
		t.Helper()
		for _, tc := range []struct {
			repo         string
			d            digest.Digest
			artifactType string
		}{
			{"app", subject.Digest, ""},
			{"app", subject.Digest, mtSBOM},
			{"app", subject.Digest, mtSig},
			{"app", subject.Digest, "application/unknown"},
			{"app", other, ""},
			{"nowhere", subject.Digest, ""},
		} {
			got := string(f.s.ReferrersIndex(tc.repo, tc.d, tc.artifactType))
			if want := wantReferrersIndex(t, f.s, tc.repo, tc.d, tc.artifactType); got != want {
				t.Errorf("%s: ReferrersIndex(%s, %.19s, %q) =\n%s\nwant\n%s", step, tc.repo, tc.d, tc.artifactType, got, want)
			}
			if again := string(f.s.ReferrersIndex(tc.repo, tc.d, tc.artifactType)); again != got {
				t.Errorf("%s: asked again: %s", step, again)
			}
		}
	}
	check("no referrers")

	var refs []digest.Digest
	for i := range 5 {
		typ := mtSBOM
		if i%2 == 1 {
			typ = mtSig
		}
		m := mustPutManifest(t, f.s, "app", "r"+fmt.Sprint(i), MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) {
			m.ArtifactType = typ
			m.Subject = &subject
			// Characters encoding/json escapes must come out the same.
			m.Annotations = map[string]string{"n": fmt.Sprint(i), "html": "<a href='x'>&amp;</a>", "z": "\u2028 \"q\" é"}
		}))
		refs = append(refs, m.Digest)
		check(fmt.Sprintf("after push %d", i))
	}
	// Re-pushing a referrer changes nothing.
	mustPutManifest(t, f.s, "app", "r0-again", MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) {
		m.ArtifactType = mtSBOM
		m.Subject = &subject
		m.Annotations = map[string]string{"n": "0", "html": "<a href='x'>&amp;</a>", "z": "\u2028 \"q\" é"}
	}))
	check("after a re-push")
	if err := f.s.DeleteManifest("app", string(refs[2])); err != nil {
		t.Fatal(err)
	}
	check("after deleting one")
	for _, d := range refs {
		f.s.DeleteManifest("app", string(d))
	}
	check("after deleting all")
}
