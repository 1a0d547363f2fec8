package memstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	mtConfig       = ocispec.MediaTypeImageConfig
	mtLayer        = ocispec.MediaTypeImageLayerGzip
	mtDockerConfig = "application/vnd.docker.container.image.v1+json"
	mtDockerLayer  = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	mtSBOM         = "application/vnd.example.sbom.v1"
	mtSig          = "application/vnd.example.signature.v1"
)

// descOf describes data as a blob of media type mt.
func descOf(mt string, data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mt, Digest: sha256Of(data), Size: int64(len(data))}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture is a store with a config and two layers pushed into "app".
type fixture struct {
	s              *Store
	config         ocispec.Descriptor
	layer, layer2  ocispec.Descriptor
	dockerConfig   ocispec.Descriptor
	dockerLayer    ocispec.Descriptor
	missing        ocispec.Descriptor // a layer that was never pushed
	missingConfig  ocispec.Descriptor
	configBytes    []byte
	layerBytes     []byte
	missingLayerBs []byte
}

func newFixture(t testing.TB, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{
		s:              New(opts...),
		configBytes:    []byte(`{"architecture":"amd64","os":"linux"}`),
		layerBytes:     []byte("layer one"),
		missingLayerBs: []byte("never pushed"),
	}
	mustPutBlob(t, f.s, "app", f.configBytes)
	mustPutBlob(t, f.s, "app", f.layerBytes)
	mustPutBlob(t, f.s, "app", []byte("layer two"))
	f.config = descOf(mtConfig, f.configBytes)
	f.layer = descOf(mtLayer, f.layerBytes)
	f.layer2 = descOf(mtLayer, []byte("layer two"))
	f.dockerConfig = descOf(mtDockerConfig, f.configBytes)
	f.dockerLayer = descOf(mtDockerLayer, f.layerBytes)
	f.missing = descOf(mtLayer, f.missingLayerBs)
	f.missingConfig = descOf(mtConfig, []byte(`{"missing":true}`))
	return f
}

// image builds an OCI image manifest; mod may adjust it first.
func (f *fixture) image(t testing.TB, mod func(*ocispec.Manifest)) []byte {
	t.Helper()
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: MediaTypeOCIManifest,
		Config:    f.config,
		Layers:    []ocispec.Descriptor{f.layer, f.layer2},
	}
	if mod != nil {
		mod(&m)
	}
	return mustJSON(t, m)
}

// index builds an OCI image index over children.
func index(t testing.TB, mod func(*ocispec.Index), children ...ocispec.Descriptor) []byte {
	t.Helper()
	ix := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: MediaTypeOCIIndex,
		Manifests: children,
	}
	if ix.Manifests == nil {
		ix.Manifests = []ocispec.Descriptor{}
	}
	if mod != nil {
		mod(&ix)
	}
	return mustJSON(t, ix)
}

// mustPutManifest pushes b into repo under ref, failing the test on error.
func mustPutManifest(t testing.TB, s *Store, repo, ref, ct string, b []byte, tags ...string) *Manifest {
	t.Helper()
	m, err := s.PutManifest(repo, ref, ct, b, tags...)
	if err != nil {
		t.Fatalf("PutManifest(%q, %q): %v", repo, ref, err)
	}
	return m
}

func manifestDesc(mt string, b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mt, Digest: sha256Of(b), Size: int64(len(b))}
}

func TestPutManifestKinds(t *testing.T) {
	f := newFixture(t)
	img := f.image(t, nil)
	// Exact bytes are kept, whitespace and all.
	indented := func(b []byte) []byte {
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "   "); err != nil {
			t.Fatal(err)
		}
		out.WriteString("\n\n")
		return out.Bytes()
	}
	noMediaType := bytes.Replace(img, []byte(`"mediaType":"`+MediaTypeOCIManifest+`",`), nil, 1)
	if bytes.Equal(noMediaType, img) {
		t.Fatal("could not remove the mediaType field")
	}
	child := manifestDesc(MediaTypeOCIManifest, img)
	idx := index(t, nil, child)
	idxNoMediaType := []byte(fmt.Sprintf(`{"schemaVersion":2,"manifests":[%s]}`, mustJSON(t, child)))
	docker := mustJSON(t, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: MediaTypeDockerManifest,
		Config:    f.dockerConfig,
		Layers:    []ocispec.Descriptor{f.dockerLayer},
	})
	dockerList := mustJSON(t, ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: MediaTypeDockerManifestList,
		Manifests: []ocispec.Descriptor{{
			MediaType: MediaTypeDockerManifest, Digest: sha256Of(docker), Size: int64(len(docker)),
			Platform: &ocispec.Platform{Architecture: "amd64", OS: "linux"},
		}},
	})

	tests := []struct {
		name   string
		ct     string
		body   []byte
		wantMT string
	}{
		{"OCI manifest", MediaTypeOCIManifest, img, MediaTypeOCIManifest},
		{"OCI manifest, indented", MediaTypeOCIManifest, indented(img), MediaTypeOCIManifest},
		{"OCI manifest, Content-Type parameters", MediaTypeOCIManifest + "; charset=utf-8", img, MediaTypeOCIManifest},
		{"OCI manifest, no Content-Type", "", img, MediaTypeOCIManifest},
		{"OCI manifest, application/json", "application/json", img, MediaTypeOCIManifest},
		{"OCI manifest, octet-stream", "application/octet-stream", img, MediaTypeOCIManifest},
		{"OCI manifest without mediaType", MediaTypeOCIManifest, noMediaType, MediaTypeOCIManifest},
		{"OCI manifest without mediaType or Content-Type", "", noMediaType, MediaTypeOCIManifest},
		{"OCI index", MediaTypeOCIIndex, idx, MediaTypeOCIIndex},
		{"OCI index, no Content-Type", "", idx, MediaTypeOCIIndex},
		{"OCI index without mediaType", MediaTypeOCIIndex, idxNoMediaType, MediaTypeOCIIndex},
		{"OCI index without mediaType or Content-Type", "", idxNoMediaType, MediaTypeOCIIndex},
		{"empty OCI index", MediaTypeOCIIndex, index(t, nil), MediaTypeOCIIndex},
		{"Docker manifest", MediaTypeDockerManifest, docker, MediaTypeDockerManifest},
		{"Docker manifest, no Content-Type", "", docker, MediaTypeDockerManifest},
		{"Docker manifest list", MediaTypeDockerManifestList, dockerList, MediaTypeDockerManifestList},
		{"Docker manifest list, application/json", "application/json", dockerList, MediaTypeDockerManifestList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			body := append([]byte(nil), tt.body...)
			m, err := f.s.PutManifest("app", "v1", tt.ct, body)
			if err != nil {
				t.Fatal(err)
			}
			if m.Digest != sha256Of(tt.body) || m.MediaType != tt.wantMT {
				t.Errorf("manifest = %s %s, want %s %s", m.Digest, m.MediaType, sha256Of(tt.body), tt.wantMT)
			}
			if !bytes.Equal(m.Content, tt.body) || !sameBacking(m.Content, body) {
				t.Error("Content is not the exact bytes pushed")
			}
			for _, ref := range []string{"v1", string(sha256Of(tt.body)), string(digest.SHA512.FromBytes(tt.body))} {
				got, err := f.s.Manifest("app", ref)
				if err != nil || got != m {
					t.Errorf("Manifest(%s) = %v, %v; want the pushed manifest", ref, got, err)
				}
			}
			rs := f.s.Snapshot().Repositories["app"]
			if diff := cmp.Diff([]digest.Digest{m.Digest}, rs.Manifests); diff != "" {
				t.Errorf("Snapshot manifests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]digest.Digest{"v1": m.Digest}, rs.Tags); diff != "" {
				t.Errorf("Snapshot tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPutManifestReferences(t *testing.T) {
	f0 := newFixture(t)
	nondist := []ocispec.Descriptor{
		{MediaType: ocispec.MediaTypeImageLayerNonDistributableGzip, Digest: sha256Of([]byte("nd")), Size: 2}, //nolint:staticcheck // deprecated, still valid
		{MediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Digest: sha256Of([]byte("foreign")), Size: 7},
		{MediaType: mtLayer, Digest: sha256Of([]byte("remote")), Size: 6, URLs: []string{"https://example.com/layer"}},
	}
	imgChild := f0.image(t, nil)
	tests := []struct {
		name       string
		body       func(f *fixture) []byte
		setup      func(t *testing.T, f *fixture)
		ct         string
		lax, stric error // expected error by default and with WithRequireReferences
	}{
		{
			name:  "all present",
			body:  func(f *fixture) []byte { return f.image(t, nil) },
			lax:   nil,
			stric: nil,
		},
		{
			name: "missing config",
			body: func(f *fixture) []byte {
				return f.image(t, func(m *ocispec.Manifest) { m.Config = f.missingConfig })
			},
			lax: ErrManifestBlobUnknown, stric: ErrManifestBlobUnknown,
		},
		{
			name: "config only in another repository",
			body: func(f *fixture) []byte {
				return f.image(t, func(m *ocispec.Manifest) { m.Config = descOf(mtConfig, []byte("elsewhere")) })
			},
			setup: func(t *testing.T, f *fixture) { mustPutBlob(t, f.s, "other", []byte("elsewhere")) },
			lax:   ErrManifestBlobUnknown, stric: ErrManifestBlobUnknown,
		},
		{
			name: "missing layer (sparse)",
			body: func(f *fixture) []byte {
				return f.image(t, func(m *ocispec.Manifest) { m.Layers = append(m.Layers, f.missing) })
			},
			lax: nil, stric: ErrManifestBlobUnknown,
		},
		{
			name: "layer only in another repository",
			body: func(f *fixture) []byte {
				return f.image(t, func(m *ocispec.Manifest) { m.Layers = []ocispec.Descriptor{descOf(mtLayer, []byte("elsewhere"))} })
			},
			setup: func(t *testing.T, f *fixture) { mustPutBlob(t, f.s, "other", []byte("elsewhere")) },
			lax:   nil, stric: ErrManifestBlobUnknown,
		},
		{
			name: "missing non-distributable layers",
			body: func(f *fixture) []byte {
				return f.image(t, func(m *ocispec.Manifest) { m.Layers = append(m.Layers, nondist...) })
			},
			lax: nil, stric: nil,
		},
		{
			name: "no layers",
			body: func(f *fixture) []byte { return f.image(t, func(m *ocispec.Manifest) { m.Layers = nil }) },
			lax:  nil, stric: nil,
		},
		{
			name: "config size differs from the stored blob",
			body: func(f *fixture) []byte {
				return f.image(t, func(m *ocispec.Manifest) { m.Config.Size++ })
			},
			lax: ErrManifestInvalid, stric: ErrManifestInvalid,
		},
		{
			name: "layer size differs from the stored blob",
			body: func(f *fixture) []byte {
				return f.image(t, func(m *ocispec.Manifest) { m.Layers[1].Size-- })
			},
			lax: ErrManifestInvalid, stric: ErrManifestInvalid,
		},
		{
			name: "missing layer with any size",
			body: func(f *fixture) []byte {
				return f.image(t, func(m *ocispec.Manifest) {
					m.Layers = []ocispec.Descriptor{{MediaType: mtLayer, Digest: f.missing.Digest, Size: 12345}}
				})
			},
			lax: nil, stric: ErrManifestBlobUnknown,
		},
		{
			name: "index with missing child",
			ct:   MediaTypeOCIIndex,
			body: func(f *fixture) []byte { return index(t, nil, manifestDesc(MediaTypeOCIManifest, imgChild)) },
			lax:  nil, stric: ErrManifestBlobUnknown,
		},
		{
			name: "index with present child",
			ct:   MediaTypeOCIIndex,
			body: func(f *fixture) []byte { return index(t, nil, manifestDesc(MediaTypeOCIManifest, imgChild)) },
			setup: func(t *testing.T, f *fixture) {
				mustPutManifest(t, f.s, "app", string(sha256Of(imgChild)), MediaTypeOCIManifest, imgChild)
			},
			lax: nil, stric: nil,
		},
		{
			name: "index with child only in another repository",
			ct:   MediaTypeOCIIndex,
			body: func(f *fixture) []byte { return index(t, nil, manifestDesc(MediaTypeOCIManifest, imgChild)) },
			setup: func(t *testing.T, f *fixture) {
				for _, b := range [][]byte{f.configBytes, f.layerBytes, []byte("layer two")} {
					mustPutBlob(t, f.s, "other", b)
				}
				mustPutManifest(t, f.s, "other", "v1", MediaTypeOCIManifest, imgChild)
			},
			lax: nil, stric: ErrManifestBlobUnknown,
		},
		{
			name: "index with a child present by its sha512 digest",
			ct:   MediaTypeOCIIndex,
			body: func(f *fixture) []byte {
				return index(t, nil, ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: digest.SHA512.FromBytes(imgChild), Size: int64(len(imgChild))})
			},
			setup: func(t *testing.T, f *fixture) {
				mustPutManifest(t, f.s, "app", "child", MediaTypeOCIManifest, imgChild)
			},
			lax: nil, stric: nil,
		},
	}
	for _, tt := range tests {
		for _, strict := range []bool{false, true} {
			name := tt.name + "/default"
			want := tt.lax
			var opts []Option
			if strict {
				name = tt.name + "/strict"
				want = tt.stric
				opts = append(opts, WithRequireReferences())
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, opts...)
				if tt.setup != nil {
					tt.setup(t, f)
				}
				ct := tt.ct
				if ct == "" {
					ct = MediaTypeOCIManifest
				}
				before := f.s.Snapshot()
				body := tt.body(f)
				m, err := f.s.PutManifest("app", "v1", ct, body)
				checkErr(t, err, want)
				if want != nil {
					if m != nil {
						t.Errorf("failed PutManifest returned %v", m)
					}
					checkUnchanged(t, f.s, before)
					return
				}
				if _, err := f.s.Manifest("app", "v1"); err != nil {
					t.Errorf("accepted manifest not stored: %v", err)
				}
			})
		}
	}

	t.Run("missing reference detail", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.s.PutManifest("app", "v1", MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) { m.Config = f.missingConfig }))
		e, ok := AsError(err)
		if !ok {
			t.Fatalf("error %v is not an *Error", err)
		}
		if diff := cmp.Diff(map[string]string{"digest": string(f.missingConfig.Digest)}, e.Detail); diff != "" {
			t.Errorf("Detail (-want +got):\n%s", diff)
		}
		if e.Code != CodeManifestBlobUnknown {
			t.Errorf("Code = %s", e.Code)
		}
	})

	t.Run("missing config in a repository that does not exist", func(t *testing.T) {
		f := newFixture(t)
		before := f.s.Snapshot()
		_, err := f.s.PutManifest("fresh", "v1", MediaTypeOCIManifest, f.image(t, nil))
		checkErr(t, err, ErrManifestBlobUnknown)
		checkUnchanged(t, f.s, before)
		if f.s.RepositoryExists("fresh") {
			t.Error("failed push created the repository")
		}
	})
}

func TestPutManifestSizeLimit(t *testing.T) {
	f := newFixture(t)
	body := f.image(t, nil)
	n := int64(len(body))
	if got := New().MaxManifestSize(); got != DefaultMaxManifestSize {
		t.Errorf("default MaxManifestSize() = %d, want %d", got, DefaultMaxManifestSize)
	}
	tests := []struct {
		limit   int64
		wantMax int64
		want    error
	}{
		{n - 1, n - 1, ErrTooLarge},
		{1, 1, ErrTooLarge},
		{n, n, nil},
		{0, 0, nil},
		{-5, 0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			f := newFixture(t, WithMaxManifestSize(tt.limit))
			if got := f.s.MaxManifestSize(); got != tt.wantMax {
				t.Errorf("MaxManifestSize() = %d, want %d", got, tt.wantMax)
			}
			before := f.s.Snapshot()
			_, err := f.s.PutManifest("app", "v1", MediaTypeOCIManifest, body)
			checkErr(t, err, tt.want)
			if tt.want != nil {
				if errors.Is(err, ErrSizeInvalid) {
					t.Error("ErrTooLarge matches ErrSizeInvalid")
				}
				checkUnchanged(t, f.s, before)
			}
		})
	}
	t.Run("default limit", func(t *testing.T) {
		f := newFixture(t)
		big := f.image(t, func(m *ocispec.Manifest) {
			m.Annotations = map[string]string{"pad": strings.Repeat("x", DefaultMaxManifestSize)}
		})
		_, err := f.s.PutManifest("app", "v1", MediaTypeOCIManifest, big)
		checkErr(t, err, ErrTooLarge)
	})
}

func TestPutManifestByDigest(t *testing.T) {
	f := newFixture(t)
	body := f.image(t, nil)
	d256, d512 := sha256Of(body), digest.SHA512.FromBytes(body)

	t.Run("sha256", func(t *testing.T) {
		f := newFixture(t)
		m := mustPutManifest(t, f.s, "app", string(d256), MediaTypeOCIManifest, body)
		if m.Digest != d256 {
			t.Errorf("Digest = %s, want %s", m.Digest, d256)
		}
		tags, _, _ := f.s.Tags("app", "", -1)
		if len(tags) != 0 {
			t.Errorf("push by digest created tags %v", tags)
		}
	})
	t.Run("sha512", func(t *testing.T) {
		f := newFixture(t)
		m := mustPutManifest(t, f.s, "app", string(d512), MediaTypeOCIManifest, body)
		if m.Digest != d512 {
			t.Errorf("Digest = %s, want %s", m.Digest, d512)
		}
		for _, ref := range []digest.Digest{d512, d256} {
			if got, err := f.s.Manifest("app", string(ref)); err != nil || got != m {
				t.Errorf("Manifest(%s) = %v, %v", ref, got, err)
			}
		}
		if diff := cmp.Diff([]digest.Digest{d512}, f.s.Snapshot().Repositories["app"].Manifests); diff != "" {
			t.Errorf("Snapshot manifests (-want +got):\n%s", diff)
		}
	})
	t.Run("with tags", func(t *testing.T) {
		f := newFixture(t)
		mustPutManifest(t, f.s, "app", string(d256), MediaTypeOCIManifest, body, "a", "b")
		tags, _, _ := f.s.Tags("app", "", -1)
		if diff := cmp.Diff([]string{"a", "b"}, tags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})

	other := f.image(t, func(m *ocispec.Manifest) { m.Layers = m.Layers[:1] })
	errTests := []struct {
		name string
		ref  string
	}{
		{"sha256 of other bytes", string(sha256Of(other))},
		{"sha512 of other bytes", string(digest.SHA512.FromBytes(other))},
		{"sha384", string(digest.SHA384.FromBytes(body))},
		{"malformed", "sha256:1234"},
		{"unknown algorithm", "foo:bar"},
		{"upper-case hex", "sha256:" + strings.ToUpper(d256.Encoded())},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.s.Snapshot()
			_, err := f.s.PutManifest("app", tt.ref, MediaTypeOCIManifest, body, "also")
			checkErr(t, err, ErrDigestInvalid)
			checkUnchanged(t, f.s, before)
		})
	}
	t.Run("mismatch detail", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.s.PutManifest("app", string(sha256Of(other)), MediaTypeOCIManifest, body)
		e, _ := AsError(err)
		if e == nil {
			t.Fatalf("error %v is not an *Error", err)
		}
		want := map[string]string{"expected": string(sha256Of(other)), "computed": string(d256)}
		if diff := cmp.Diff(want, e.Detail); diff != "" {
			t.Errorf("Detail (-want +got):\n%s", diff)
		}
	})
}

func TestPutManifestTags(t *testing.T) {
	t.Run("extra tags", func(t *testing.T) {
		f := newFixture(t)
		m := mustPutManifest(t, f.s, "app", "v1", MediaTypeOCIManifest, f.image(t, nil), "latest", "stable", "v1")
		tags, more, err := f.s.Tags("app", "", -1)
		if err != nil || more {
			t.Fatalf("Tags = %v, %v", more, err)
		}
		if diff := cmp.Diff([]string{"latest", "stable", "v1"}, tags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		for _, tag := range tags {
			if got, _ := f.s.Manifest("app", tag); got != m {
				t.Errorf("tag %s points elsewhere", tag)
			}
		}
	})

	invalid := []string{"", "-x", ".x", "a/b", "a:b", "tag with space", strings.Repeat("t", 129), "ünï"}
	for _, tag := range invalid {
		t.Run(fmt.Sprintf("invalid tag %.20q", tag), func(t *testing.T) {
			f := newFixture(t)
			body := f.image(t, nil)
			before := f.s.Snapshot()
			// A ':' makes a reference a digest, so such a tag is only
			// tried as an extra tag.
			if !IsDigest(tag) {
				_, err := f.s.PutManifest("app", tag, MediaTypeOCIManifest, body)
				checkErr(t, err, ErrTagInvalid)
			}
			// As an extra tag, pushed by tag and by digest: the valid tags of
			// the same request are not applied either.
			_, err := f.s.PutManifest("app", "ok", MediaTypeOCIManifest, body, "fine", tag)
			checkErr(t, err, ErrTagInvalid)
			_, err = f.s.PutManifest("app", string(sha256Of(body)), MediaTypeOCIManifest, body, tag)
			checkErr(t, err, ErrTagInvalid)
			if e, _ := AsError(err); e == nil || e.Code != CodeManifestInvalid {
				t.Errorf("ErrTagInvalid code = %v, want MANIFEST_INVALID", e)
			}
			checkUnchanged(t, f.s, before)
		})
	}
	t.Run("longest valid tag", func(t *testing.T) {
		f := newFixture(t)
		tag := "_" + strings.Repeat("A", 127)
		mustPutManifest(t, f.s, "app", tag, MediaTypeOCIManifest, f.image(t, nil))
	})

	t.Run("retag moves the tag", func(t *testing.T) {
		f := newFixture(t)
		m1 := mustPutManifest(t, f.s, "app", "v1", MediaTypeOCIManifest, f.image(t, nil), "latest")
		m2 := mustPutManifest(t, f.s, "app", "latest", MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) { m.Layers = m.Layers[:1] }))
		if m1 == m2 || m1.Digest == m2.Digest {
			t.Fatal("the two manifests are the same")
		}
		if got, _ := f.s.Manifest("app", "latest"); got != m2 {
			t.Error("latest did not move")
		}
		if got, _ := f.s.Manifest("app", "v1"); got != m1 {
			t.Error("v1 moved")
		}
		if got, _ := f.s.Manifest("app", string(m1.Digest)); got != m1 {
			t.Error("the untagged manifest is gone")
		}
		tags, _, _ := f.s.Tags("app", "", -1)
		if diff := cmp.Diff([]string{"latest", "v1"}, tags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		want := map[string]digest.Digest{"latest": m2.Digest, "v1": m1.Digest}
		if diff := cmp.Diff(want, f.s.Snapshot().Repositories["app"].Tags); diff != "" {
			t.Errorf("Snapshot tags (-want +got):\n%s", diff)
		}
	})
}

func TestPutManifestAgain(t *testing.T) {
	f := newFixture(t)
	subject := ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: sha256Of([]byte("subject")), Size: 7}
	body := f.image(t, func(m *ocispec.Manifest) { m.Subject = &subject })
	m1 := mustPutManifest(t, f.s, "app", "v1", MediaTypeOCIManifest, body)
	m2 := mustPutManifest(t, f.s, "app", "v2", MediaTypeOCIManifest, append([]byte(nil), body...))
	m3 := mustPutManifest(t, f.s, "app", string(sha256Of(body)), "", append([]byte(nil), body...))
	if m1 != m2 || m1 != m3 {
		t.Error("pushing the same bytes again made a second manifest")
	}
	if got := f.s.Referrers("app", subject.Digest, ""); len(got) != 1 {
		t.Errorf("%d referrers after pushing the same manifest three times, want 1", len(got))
	}
	rs := f.s.Snapshot().Repositories["app"]
	if len(rs.Manifests) != 1 || len(rs.Tags) != 2 {
		t.Errorf("Snapshot = %+v", rs)
	}
}

func TestManifestLookupErrors(t *testing.T) {
	f := newFixture(t)
	mustPutManifest(t, f.s, "app", "v1", MediaTypeOCIManifest, f.image(t, nil))
	tests := []struct {
		repo, ref string
		want      error
	}{
		{"ghost", "v1", ErrNameUnknown},
		{"ghost", string(sha256Of([]byte("x"))), ErrNameUnknown},
		{"app", "v2", ErrManifestUnknown},
		{"app", string(sha256Of([]byte("x"))), ErrManifestUnknown},
		{"app", "sha256:garbage", ErrManifestUnknown},
		{"app", string(f.config.Digest), ErrManifestUnknown}, // a blob is not a manifest
	}
	for _, tt := range tests {
		m, err := f.s.Manifest(tt.repo, tt.ref)
		if !errors.Is(err, tt.want) || m != nil {
			t.Errorf("Manifest(%q, %q) = %v, %v; want %v", tt.repo, tt.ref, m, err, tt.want)
		}
	}
	_, err := f.s.Manifest("app", "v2")
	if e, _ := AsError(err); e == nil || cmp.Diff(map[string]string{"reference": "v2"}, e.Detail) != "" {
		t.Errorf("ErrManifestUnknown detail = %#v", e)
	}
}

func TestTags(t *testing.T) {
	f := newFixture(t)
	body := f.image(t, nil)
	all := []string{"1.0", "B", "Z", "_x", "a", "a-1", "a.1", "a_1", "b", "latest", "v1", "v10", "v2"}
	// Push in a scrambled order; the list must come back ASCIIbetical.
	for _, i := range []int{7, 2, 11, 0, 9, 4, 12, 1, 6, 3, 10, 5, 8} {
		mustPutManifest(t, f.s, "app", all[i], MediaTypeOCIManifest, body)
	}
	tests := []struct {
		name     string
		last     string
		n        int
		want     []string
		wantMore bool
	}{
		{"all", "", -1, all, false},
		{"n beyond end", "", 100, all, false},
		{"n equal to count", "", len(all), all, false},
		{"first page", "", 3, all[:3], true},
		{"second page", "Z", 3, all[3:6], true},
		{"last page exact", "v1", 3, all[11:], false},
		{"last page short", "v10", 3, all[12:], false},
		{"n=0", "", 0, []string{}, false},
		{"n=0 at the end", "v2", 0, []string{}, false},
		{"last only", "latest", -1, all[10:], false},
		{"last is the final tag", "v2", 5, []string{}, false},
		{"last beyond end", "zzz", 5, []string{}, false},
		{"last not a tag, between", "a0", 2, []string{"a_1", "b"}, true},
		{"last not a tag, before all", "0", 2, all[:2], true},
		{"last sorts like a tag", "a-1", 1, []string{"a.1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := f.s.Tags("app", tt.last, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Error("Tags returned a nil slice")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Tags(%q, %d) (-want +got):\n%s", tt.last, tt.n, diff)
			}
			if more != tt.wantMore {
				t.Errorf("more = %v, want %v", more, tt.wantMore)
			}
		})
	}

	t.Run("paging through", func(t *testing.T) {
		var got []string
		last := ""
		for pages := 0; ; pages++ {
			if pages > len(all) {
				t.Fatal("pagination does not end")
			}
			page, more, err := f.s.Tags("app", last, 4)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if !more {
				break
			}
			last = page[len(page)-1]
		}
		if diff := cmp.Diff(all, got); diff != "" {
			t.Errorf("pages joined (-want +got):\n%s", diff)
		}
	})

	t.Run("result is a copy", func(t *testing.T) {
		got, _, _ := f.s.Tags("app", "", 2)
		got[0] = "mutated"
		if again, _, _ := f.s.Tags("app", "", 2); again[0] != all[0] {
			t.Errorf("changing the result changed the store: %v", again)
		}
	})

	t.Run("unknown repository", func(t *testing.T) {
		tags, more, err := f.s.Tags("ghost", "", -1)
		checkErr(t, err, ErrNameUnknown)
		if tags != nil || more {
			t.Errorf("Tags(ghost) = %v, %v", tags, more)
		}
	})
	t.Run("repository without tags", func(t *testing.T) {
		mustPutBlob(t, f.s, "blobsonly", []byte("x"))
		tags, more, err := f.s.Tags("blobsonly", "", -1)
		if err != nil || more || tags == nil || len(tags) != 0 {
			t.Errorf("Tags(blobsonly) = %#v, %v, %v; want an empty list", tags, more, err)
		}
	})
}

func TestDeleteManifest(t *testing.T) {
	subject := ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: sha256Of([]byte("subject")), Size: 7}
	setup := func(t *testing.T) (*fixture, *Manifest, *Manifest) {
		f := newFixture(t)
		m := mustPutManifest(t, f.s, "app", "v1", MediaTypeOCIManifest,
			f.image(t, func(m *ocispec.Manifest) { m.Subject = &subject }), "latest", "stable")
		other := mustPutManifest(t, f.s, "app", "v2", MediaTypeOCIManifest,
			f.image(t, func(m *ocispec.Manifest) { m.Subject = &subject; m.Layers = nil }))
		return f, m, other
	}

	t.Run("by tag", func(t *testing.T) {
		f, m, other := setup(t)
		before := f.s.Snapshot()
		if err := f.s.DeleteManifest("app", "latest"); err != nil {
			t.Fatal(err)
		}
		want := before
		rs := want.Repositories["app"]
		delete(rs.Tags, "latest")
		if diff := cmp.Diff(want, f.s.Snapshot()); diff != "" {
			t.Errorf("state after untagging (-want +got):\n%s", diff)
		}
		if got, _ := f.s.Manifest("app", "v1"); got != m {
			t.Error("the other tags lost the manifest")
		}
		if got := f.s.Referrers("app", subject.Digest, ""); len(got) != 2 {
			t.Errorf("referrers = %v", got)
		}
		_ = other
		tags, _, _ := f.s.Tags("app", "", -1)
		if diff := cmp.Diff([]string{"stable", "v1", "v2"}, tags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})

	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		t.Run("by "+string(alg)+" digest", func(t *testing.T) {
			f, m, other := setup(t)
			before := f.s.Snapshot()
			if err := f.s.DeleteManifest("app", string(alg.FromBytes(m.Content))); err != nil {
				t.Fatal(err)
			}
			for _, ref := range []string{"v1", "latest", "stable", string(sha256Of(m.Content)), string(digest.SHA512.FromBytes(m.Content))} {
				if _, err := f.s.Manifest("app", ref); !errors.Is(err, ErrManifestUnknown) {
					t.Errorf("Manifest(%s) after delete: %v", ref, err)
				}
			}
			want := Snapshot{Blobs: before.Blobs, Uploads: before.Uploads, Repositories: map[string]RepositorySnapshot{"app": {
				Blobs:     before.Repositories["app"].Blobs,
				Manifests: []digest.Digest{other.Digest},
				Tags:      map[string]digest.Digest{"v2": other.Digest},
				Referrers: map[digest.Digest][]digest.Digest{subject.Digest: {other.Digest}},
			}}}
			if diff := cmp.Diff(want, f.s.Snapshot()); diff != "" {
				t.Errorf("state after delete (-want +got):\n%s", diff)
			}
			// Deleting the last referrer removes the subject's entry.
			if err := f.s.DeleteManifest("app", string(other.Digest)); err != nil {
				t.Fatal(err)
			}
			rs := f.s.Snapshot().Repositories["app"]
			if len(rs.Referrers) != 0 || len(rs.Manifests) != 0 || len(rs.Tags) != 0 {
				t.Errorf("repository not empty: %+v", rs)
			}
			if got := f.s.Referrers("app", subject.Digest, ""); len(got) != 0 {
				t.Errorf("referrers after deleting both = %v", got)
			}
			// The blobs the manifests used stay.
			if diff := cmp.Diff(before.Blobs, f.s.Snapshot().Blobs); diff != "" {
				t.Errorf("blobs changed (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("delete then push again", func(t *testing.T) {
		f, m, other := setup(t)
		if err := f.s.DeleteManifest("app", string(m.Digest)); err != nil {
			t.Fatal(err)
		}
		again := mustPutManifest(t, f.s, "app", "v1", MediaTypeOCIManifest, append([]byte(nil), m.Content...))
		got := f.s.Referrers("app", subject.Digest, "")
		if len(got) != 2 || got[0].Digest != other.Digest || got[1].Digest != again.Digest {
			t.Errorf("referrers after re-push = %v", got)
		}
	})

	errTests := []struct {
		name, repo, ref string
		want            error
	}{
		{"unknown repository, tag", "ghost", "v1", ErrNameUnknown},
		{"unknown repository, digest", "ghost", string(sha256Of([]byte("x"))), ErrNameUnknown},
		{"unknown tag", "app", "nope", ErrManifestUnknown},
		{"unknown digest", "app", string(sha256Of([]byte("x"))), ErrManifestUnknown},
		{"a blob's digest", "app", string(sha256Of([]byte("layer one"))), ErrManifestUnknown},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := setup(t)
			before := f.s.Snapshot()
			checkErr(t, f.s.DeleteManifest(tt.repo, tt.ref), tt.want)
			checkUnchanged(t, f.s, before)
		})
	}
	t.Run("twice", func(t *testing.T) {
		f, m, _ := setup(t)
		if err := f.s.DeleteManifest("app", string(m.Digest)); err != nil {
			t.Fatal(err)
		}
		checkErr(t, f.s.DeleteManifest("app", string(m.Digest)), ErrManifestUnknown)
		checkErr(t, f.s.DeleteManifest("app", "v1"), ErrManifestUnknown)
	})
}

func TestReferrers(t *testing.T) {
	f := newFixture(t)
	emptyConfig := []byte("{}")
	mustPutBlob(t, f.s, "app", emptyConfig)
	emptyDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: sha256Of(emptyConfig), Size: 2}
	subject := ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: sha256Of([]byte("not pushed")), Size: 10}
	other := ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: sha256Of([]byte("another subject")), Size: 15}

	// 1. artifactType field set.
	sbom := mustPutManifest(t, f.s, "app", "sbom", MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) {
		m.ArtifactType = mtSBOM
		m.Config = emptyDesc
		m.Subject = &subject
		m.Annotations = map[string]string{"org.example.sbom.format": "json", "org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
	}))
	// 2. No artifactType: the config's mediaType stands in.
	sigConfig := []byte(`{"sig":1}`)
	mustPutBlob(t, f.s, "app", sigConfig)
	sig := mustPutManifest(t, f.s, "app", string(sha256Of(f.image(t, func(m *ocispec.Manifest) {
		m.Config = descOf(mtSig, sigConfig)
		m.Subject = &subject
	}))), MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) {
		m.Config = descOf(mtSig, sigConfig)
		m.Subject = &subject
	}))
	// 3. An index with an artifactType.
	idxTyped := mustPutManifest(t, f.s, "app", "idx-typed", MediaTypeOCIIndex, index(t, func(ix *ocispec.Index) {
		ix.ArtifactType = mtSBOM
		ix.Subject = &subject
		ix.Annotations = map[string]string{"k": "v"}
	}))
	// 4. An index without one: artifactType omitted.
	idxPlain := mustPutManifest(t, f.s, "app", "idx-plain", MediaTypeOCIIndex, index(t, func(ix *ocispec.Index) {
		ix.Subject = &subject
	}))
	// 5. A manifest about another subject, and one without a subject.
	otherRef := mustPutManifest(t, f.s, "app", "other", MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) {
		m.ArtifactType = mtSBOM
		m.Subject = &other
	}))
	mustPutManifest(t, f.s, "app", "plain", MediaTypeOCIManifest, f.image(t, nil))

	desc := func(m *Manifest, at string, ann map[string]string) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(m.Content)), ArtifactType: at, Annotations: ann}
	}
	all := []ocispec.Descriptor{
		desc(sbom, mtSBOM, map[string]string{"org.example.sbom.format": "json", "org.opencontainers.image.created": "2024-01-01T00:00:00Z"}),
		desc(sig, mtSig, nil),
		desc(idxTyped, mtSBOM, map[string]string{"k": "v"}),
		desc(idxPlain, "", nil),
	}
	tests := []struct {
		name   string
		repo   string
		d      digest.Digest
		filter string
		want   []ocispec.Descriptor
	}{
		{"all, in push order", "app", subject.Digest, "", all},
		{"filtered", "app", subject.Digest, mtSBOM, []ocispec.Descriptor{all[0], all[2]}},
		{"filtered by config media type", "app", subject.Digest, mtSig, []ocispec.Descriptor{all[1]}},
		{"filter matching nothing", "app", subject.Digest, "application/vnd.none", []ocispec.Descriptor{}},
		{"other subject", "app", other.Digest, "", []ocispec.Descriptor{desc(otherRef, mtSBOM, nil)}},
		{"subject without referrers", "app", sbom.Digest, "", []ocispec.Descriptor{}},
		{"unknown repository", "ghost", subject.Digest, "", []ocispec.Descriptor{}},
		{"another repository", "blobsonly", subject.Digest, "", []ocispec.Descriptor{}},
	}
	mustPutBlob(t, f.s, "blobsonly", []byte("x"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.s.Referrers(tt.repo, tt.d, tt.filter)
			if got == nil {
				t.Fatal("Referrers returned nil, want an empty non-nil slice")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Referrers (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("subject in Manifest", func(t *testing.T) {
		if diff := cmp.Diff(&subject, sbom.Subject); diff != "" {
			t.Errorf("Subject (-want +got):\n%s", diff)
		}
		if m, _ := f.s.Manifest("app", "plain"); m.Subject != nil {
			t.Errorf("manifest without subject has Subject %+v", m.Subject)
		}
	})

	t.Run("index descriptor omits artifactType in JSON", func(t *testing.T) {
		b := mustJSON(t, f.s.Referrers("app", subject.Digest, "")[3])
		if bytes.Contains(b, []byte("artifactType")) {
			t.Errorf("descriptor JSON %s has an artifactType", b)
		}
	})

	t.Run("subject pushed later and deleted", func(t *testing.T) {
		// The subject need not exist when its referrer is pushed; pushing or
		// deleting it later does not change its referrers.
		f := newFixture(t)
		subjBody := f.image(t, nil)
		subj := manifestDesc(MediaTypeOCIManifest, subjBody)
		ref := mustPutManifest(t, f.s, "app", "ref", MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) {
			m.Subject = &subj
			m.Layers = nil
		}))
		want := []ocispec.Descriptor{desc(ref, mtConfig, nil)}
		check := func(when string) {
			t.Helper()
			if diff := cmp.Diff(want, f.s.Referrers("app", subj.Digest, "")); diff != "" {
				t.Errorf("referrers %s (-want +got):\n%s", when, diff)
			}
		}
		check("before the subject exists")
		mustPutManifest(t, f.s, "app", "subject", MediaTypeOCIManifest, subjBody)
		check("after pushing the subject")
		if err := f.s.DeleteManifest("app", string(subj.Digest)); err != nil {
			t.Fatal(err)
		}
		check("after deleting the subject")
	})

	t.Run("a referrer's subject is per repository", func(t *testing.T) {
		f := newFixture(t)
		mustPutBlob(t, f.s, "b", f.configBytes)
		mustPutManifest(t, f.s, "b", "r", MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) { m.Subject = &subject }))
		if got := f.s.Referrers("app", subject.Digest, ""); len(got) != 0 {
			t.Errorf("repository app sees b's referrer: %v", got)
		}
		if got := f.s.Referrers("b", subject.Digest, ""); len(got) != 1 {
			t.Errorf("repository b: %d referrers, want 1", len(got))
		}
	})

	t.Run("docker manifests cannot refer", func(t *testing.T) {
		before := f.s.Snapshot()
		body := mustJSON(t, ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: MediaTypeDockerManifest,
			Config:    f.dockerConfig,
			Subject:   &subject,
		})
		_, err := f.s.PutManifest("app", "docker", MediaTypeDockerManifest, body)
		checkErr(t, err, ErrManifestInvalid)
		checkUnchanged(t, f.s, before)
	})
}

func TestRepositories(t *testing.T) {
	s := New()
	names := []string{"a", "a/b", "a-b", "a.b", "b", "team/app", "z0"}
	for _, i := range []int{4, 0, 6, 2, 5, 1, 3} {
		mustPutBlob(t, s, names[i], []byte(names[i]))
	}
	tests := []struct {
		last     string
		n        int
		want     []string
		wantMore bool
	}{
		{"", -1, []string{"a", "a-b", "a.b", "a/b", "b", "team/app", "z0"}, false},
		{"", 2, []string{"a", "a-b"}, true},
		{"a-b", 2, []string{"a.b", "a/b"}, true},
		{"a/b", 10, []string{"b", "team/app", "z0"}, false},
		{"team/app", 1, []string{"z0"}, false},
		{"z0", 1, []string{}, false},
		{"zzz", -1, []string{}, false},
		{"c", -1, []string{"team/app", "z0"}, false},
		{"", 0, []string{}, false},
	}
	for _, tt := range tests {
		got, more := s.Repositories(tt.last, tt.n)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Repositories(%q, %d) (-want +got):\n%s", tt.last, tt.n, diff)
		}
		if more != tt.wantMore {
			t.Errorf("Repositories(%q, %d) more = %v, want %v", tt.last, tt.n, more, tt.wantMore)
		}
	}
	for _, n := range names {
		if !s.RepositoryExists(n) {
			t.Errorf("RepositoryExists(%q) = false", n)
		}
	}
	if s.RepositoryExists("ghost") {
		t.Error("RepositoryExists(ghost) = true")
	}
	if got, more := New().Repositories("", -1); got == nil || len(got) != 0 || more {
		t.Errorf("empty store: Repositories = %#v, %v", got, more)
	}
}

func TestPutManifestRepository(t *testing.T) {
	f := newFixture(t)
	img := f.image(t, nil)
	before := f.s.Snapshot()
	for _, name := range []string{"", "App", "a//b", strings.Repeat("a", MaxNameLength+1)} {
		_, err := f.s.PutManifest(name, "v1", MediaTypeOCIManifest, img)
		checkErr(t, err, ErrNameInvalid)
	}
	checkUnchanged(t, f.s, before)

	// An index needs nothing else in the repository, so it can be the first
	// thing pushed there, creating the repository.
	ix := index(t, nil, manifestDesc(MediaTypeOCIManifest, img))
	m := mustPutManifest(t, f.s, "fresh/repo", "v1", MediaTypeOCIIndex, ix)
	if !f.s.RepositoryExists("fresh/repo") {
		t.Fatal("repository not created")
	}
	want := RepositorySnapshot{
		Blobs:     []digest.Digest{},
		Manifests: []digest.Digest{m.Digest},
		Tags:      map[string]digest.Digest{"v1": m.Digest},
		Referrers: map[digest.Digest][]digest.Digest{},
	}
	if diff := cmp.Diff(want, f.s.Snapshot().Repositories["fresh/repo"]); diff != "" {
		t.Errorf("new repository (-want +got):\n%s", diff)
	}
	// In strict mode it is refused and the repository is not created.
	s := New(WithRequireReferences())
	_, err := s.PutManifest("fresh/repo", "v1", MediaTypeOCIIndex, ix)
	checkErr(t, err, ErrManifestBlobUnknown)
	if s.RepositoryExists("fresh/repo") {
		t.Error("refused index created its repository")
	}
}
