package ocitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Golden digests of the content generated with default options. They pin
// the generation algorithm (random stream, tar and gzip framing, JSON field
// order): if one of these changes, every user's hard-coded digest breaks,
// so a change here must be deliberate.
const (
	cntGoldenImage = "sha256:6d947f5b97a03d04610376010026766d355ffafd0b113131d0b883d1f9933893"
	cntGoldenIndex = "sha256:0ae8deda7dac71c62744c422df8f20c5b2447b245c9f1c333c1a645be03d49fa"
)

// The empty JSON blob "{}" the image-spec uses for artifacts.
const cntEmptyJSONDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

// cntManifest decodes a generated image manifest.
func cntManifest(t *testing.T, m Manifest) ocispec.Manifest {
	t.Helper()
	var out ocispec.Manifest
	if err := json.Unmarshal(m.Bytes(), &out); err != nil {
		t.Fatalf("manifest is not JSON: %v\n%s", err, m.Bytes())
	}
	return out
}

// cntIndex decodes a generated index.
func cntIndex(t *testing.T, m Manifest) ocispec.Index {
	t.Helper()
	var out ocispec.Index
	if err := json.Unmarshal(m.Bytes(), &out); err != nil {
		t.Fatalf("index is not JSON: %v\n%s", err, m.Bytes())
	}
	return out
}

// cntConfig decodes an image's config blob.
func cntConfig(t *testing.T, img *Image) ocispec.Image {
	t.Helper()
	var out ocispec.Image
	if err := json.Unmarshal(img.Config.Data, &out); err != nil {
		t.Fatalf("config is not JSON: %v\n%s", err, img.Config.Data)
	}
	return out
}

// cntRawKeys decodes a JSON object's top-level keys.
func cntRawKeys(t *testing.T, b []byte) map[string]json.RawMessage {
	t.Helper()
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, b)
	}
	return out
}

// cntCheckBlob checks that a blob's descriptor describes its data.
func cntCheckBlob(t *testing.T, what string, b Blob) {
	t.Helper()
	if got := digest.FromBytes(b.Data); b.Descriptor.Digest != got {
		t.Errorf("%s: descriptor digest %s, data hashes to %s", what, b.Descriptor.Digest, got)
	}
	if b.Descriptor.Size != int64(len(b.Data)) {
		t.Errorf("%s: descriptor size %d, data has %d bytes", what, b.Descriptor.Size, len(b.Data))
	}
}

// cntCheckDescriptor checks that m's descriptor describes its bytes.
func cntCheckDescriptor(t *testing.T, m Manifest) {
	t.Helper()
	d := m.Descriptor()
	if got := digest.FromBytes(m.Bytes()); d.Digest != got {
		t.Errorf("descriptor digest %s, manifest hashes to %s", d.Digest, got)
	}
	if d.Size != int64(len(m.Bytes())) {
		t.Errorf("descriptor size %d, manifest has %d bytes", d.Size, len(m.Bytes()))
	}
}

// cntUntar gunzips and untars a layer, returning its entries' headers and
// contents, and the uncompressed tar bytes.
func cntUntar(t *testing.T, gz []byte) ([]*tar.Header, [][]byte, []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("layer is not gzip: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	var hdrs []*tar.Header
	var files [][]byte
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("layer is not tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s: %v", h.Name, err)
		}
		hdrs = append(hdrs, h)
		files = append(files, b)
	}
	return hdrs, files, raw
}

func TestContentDeterministic(t *testing.T) {
	subject := NewImage(Seed(99)).Descriptor()
	gens := map[string]func(seed uint64) Manifest{
		"image":    func(s uint64) Manifest { return NewImage(Seed(s)) },
		"layers":   func(s uint64) Manifest { return NewImage(Seed(s), Layers(3), LayerSize(100)) },
		"docker":   func(s uint64) Manifest { return NewImage(Seed(s), DockerMediaTypes()) },
		"index":    func(s uint64) Manifest { return NewIndex(Seed(s)) },
		"dockerix": func(s uint64) Manifest { return NewIndex(Seed(s), DockerMediaTypes()) },
		"referrer": func(s uint64) Manifest {
			return NewImage(Seed(s), Subject(subject), ArtifactType("application/vnd.example"))
		},
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			a, b := gen(1), gen(1)
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Errorf("same options, different bytes:\n%s\n%s", a.Bytes(), b.Bytes())
			}
			if diff := cmp.Diff(a.Descriptor(), b.Descriptor()); diff != "" {
				t.Errorf("same options, different descriptors (-a +b):\n%s", diff)
			}
			if diff := cmp.Diff(cntAllBlobs(a), cntAllBlobs(b)); diff != "" {
				t.Errorf("same options, different blobs (-a +b):\n%s", diff)
			}
			c := gen(2)
			if a.Descriptor().Digest == c.Descriptor().Digest {
				t.Errorf("Seed(1) and Seed(2) give the same digest %s", a.Descriptor().Digest)
			}
			// Different seeds must give different layer bytes too, not just
			// a different manifest, or pushes of "different" images would
			// share every blob.
			la, lc := cntLayerDigests(a), cntLayerDigests(c)
			for d := range la {
				if lc[d] {
					t.Errorf("layer %s is shared by Seed(1) and Seed(2)", d)
				}
			}
		})
	}

	t.Run("artifact", func(t *testing.T) {
		a := NewArtifact("application/vnd.example.sbom", &subject, []byte("one"), []byte("two"))
		b := NewArtifact("application/vnd.example.sbom", &subject, []byte("one"), []byte("two"))
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("same arguments, different bytes:\n%s\n%s", a.Bytes(), b.Bytes())
		}
	})
}

// cntAllBlobs lists every blob of m and its children, depth first.
func cntAllBlobs(m Manifest) []Blob {
	switch m := m.(type) {
	case *Image:
		return m.Blobs()
	case *Index:
		var out []Blob
		for _, c := range m.Manifests {
			out = append(out, cntAllBlobs(c)...)
		}
		return out
	}
	return nil
}

// cntLayerDigests is the set of layer digests in m and its children.
func cntLayerDigests(m Manifest) map[digest.Digest]bool {
	out := map[digest.Digest]bool{}
	var walk func(Manifest)
	walk = func(m Manifest) {
		switch m := m.(type) {
		case *Image:
			for _, l := range m.Layers {
				out[l.Descriptor.Digest] = true
			}
		case *Index:
			for _, c := range m.Manifests {
				walk(c)
			}
		}
	}
	walk(m)
	return out
}

func TestContentGoldenDigests(t *testing.T) {
	img := NewImage()
	if got := img.Digest(); got != cntGoldenImage {
		t.Errorf("NewImage() digest = %s, want %s (generation changed?)\n%s", got, cntGoldenImage, img.Bytes())
	}
	idx := NewIndex()
	if got := idx.Digest(); got != cntGoldenIndex {
		t.Errorf("NewIndex() digest = %s, want %s (generation changed?)\n%s", got, cntGoldenIndex, idx.Bytes())
	}
	cntCheckDescriptor(t, img)
	cntCheckDescriptor(t, idx)
	if img.Digest() != img.Descriptor().Digest || idx.Digest() != idx.Descriptor().Digest {
		t.Errorf("Digest() and Descriptor().Digest disagree")
	}
}

func TestContentLayers(t *testing.T) {
	tests := []struct {
		name      string
		opts      []ContentOption
		layers    int
		layerSize int
	}{
		{"default", nil, 1, 1024},
		{"three small", []ContentOption{Layers(3), LayerSize(100)}, 3, 100},
		{"one large", []ContentOption{LayerSize(256 << 10)}, 1, 256 << 10},
		{"empty files", []ContentOption{Layers(2), LayerSize(0)}, 2, 0},
		{"no layers", []ContentOption{Layers(0)}, 0, 1024},
		{"docker", []ContentOption{Layers(2), LayerSize(10), DockerMediaTypes()}, 2, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := NewImage(tt.opts...)
			if len(img.Layers) != tt.layers {
				t.Fatalf("%d layers, want %d", len(img.Layers), tt.layers)
			}
			m := cntManifest(t, img)
			cfg := cntConfig(t, img)
			cntCheckBlob(t, "config", img.Config)
			if diff := cmp.Diff(img.Config.Descriptor, m.Config); diff != "" {
				t.Errorf("manifest config descriptor (-blob +manifest):\n%s", diff)
			}
			if len(m.Layers) != tt.layers {
				t.Fatalf("manifest lists %d layers, want %d", len(m.Layers), tt.layers)
			}
			if cfg.RootFS.Type != "layers" {
				t.Errorf("rootfs.type = %q, want layers", cfg.RootFS.Type)
			}
			if len(cfg.RootFS.DiffIDs) != tt.layers {
				t.Fatalf("config has %d diff_ids, want %d", len(cfg.RootFS.DiffIDs), tt.layers)
			}
			seen := map[string]bool{}
			for i, l := range img.Layers {
				cntCheckBlob(t, "layer", l)
				if diff := cmp.Diff(l.Descriptor, m.Layers[i]); diff != "" {
					t.Errorf("layer %d descriptor (-blob +manifest):\n%s", i, diff)
				}
				hdrs, files, raw := cntUntar(t, l.Data)
				if len(hdrs) != 1 {
					t.Fatalf("layer %d holds %d entries, want 1", i, len(hdrs))
				}
				if hdrs[0].Typeflag != tar.TypeReg {
					t.Errorf("layer %d entry %s has type %q, want a regular file", i, hdrs[0].Name, hdrs[0].Typeflag)
				}
				if hdrs[0].Size != int64(tt.layerSize) || len(files[0]) != tt.layerSize {
					t.Errorf("layer %d file has %d bytes (header %d), want %d", i, len(files[0]), hdrs[0].Size, tt.layerSize)
				}
				if got := digest.FromBytes(raw); cfg.RootFS.DiffIDs[i] != got {
					t.Errorf("diff_ids[%d] = %s, uncompressed tar hashes to %s", i, cfg.RootFS.DiffIDs[i], got)
				}
				if tt.layerSize > 0 {
					if seen[string(files[0])] {
						t.Errorf("layer %d repeats another layer's file content", i)
					}
					seen[string(files[0])] = true
				}
			}
		})
	}
}

func TestContentPlatform(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		img := NewImage()
		cfg := cntConfig(t, img)
		if cfg.OS != "linux" || cfg.Architecture != "amd64" {
			t.Errorf("config platform = %s/%s, want linux/amd64", cfg.OS, cfg.Architecture)
		}
		want := &ocispec.Platform{OS: "linux", Architecture: "amd64"}
		if diff := cmp.Diff(want, img.Descriptor().Platform); diff != "" {
			t.Errorf("descriptor platform (-want +got):\n%s", diff)
		}
	})
	t.Run("arm64 v8", func(t *testing.T) {
		p := ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
		img := NewImage(Platform(p))
		cfg := cntConfig(t, img)
		if diff := cmp.Diff(p, cfg.Platform); diff != "" {
			t.Errorf("config platform (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(&p, img.Descriptor().Platform); diff != "" {
			t.Errorf("descriptor platform (-want +got):\n%s", diff)
		}
		// The index lists the image with its platform.
		idx := NewIndex(Children(img))
		ix := cntIndex(t, idx)
		if len(ix.Manifests) != 1 {
			t.Fatalf("index lists %d manifests, want 1", len(ix.Manifests))
		}
		if diff := cmp.Diff(&p, ix.Manifests[0].Platform); diff != "" {
			t.Errorf("index entry platform (-want +got):\n%s", diff)
		}
		if NewImage().Digest() == img.Digest() {
			t.Errorf("Platform did not change the image digest")
		}
	})
	t.Run("windows", func(t *testing.T) {
		p := ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1"}
		cfg := cntConfig(t, NewImage(Platform(p)))
		if cfg.OS != "windows" || cfg.OSVersion != "10.0.17763.1" {
			t.Errorf("config platform = %+v, want %+v", cfg.Platform, p)
		}
	})
}

func TestContentAnnotations(t *testing.T) {
	ann := map[string]string{
		ocispec.AnnotationCreated: "2024-01-02T03:04:05Z",
		"com.example.key":         "value",
	}
	img := NewImage(Annotations(ann))
	if diff := cmp.Diff(ann, cntManifest(t, img).Annotations); diff != "" {
		t.Errorf("image annotations (-want +got):\n%s", diff)
	}
	if img.Digest() == NewImage().Digest() {
		t.Errorf("annotations did not change the digest")
	}
	idx := NewIndex(Annotations(ann))
	if diff := cmp.Diff(ann, cntIndex(t, idx).Annotations); diff != "" {
		t.Errorf("index annotations (-want +got):\n%s", diff)
	}
	// Without annotations the field is left out, not written as null.
	if _, ok := cntRawKeys(t, NewImage().Bytes())["annotations"]; ok {
		t.Errorf("manifest without annotations has an annotations field: %s", NewImage().Bytes())
	}
}

func TestContentDockerMediaTypes(t *testing.T) {
	img := NewImage(DockerMediaTypes(), Layers(2))
	m := cntManifest(t, img)
	if m.MediaType != memstore.MediaTypeDockerManifest || img.Descriptor().MediaType != memstore.MediaTypeDockerManifest {
		t.Errorf("manifest mediaType %q, descriptor %q, want %s", m.MediaType, img.Descriptor().MediaType, memstore.MediaTypeDockerManifest)
	}
	if m.SchemaVersion != 2 {
		t.Errorf("schemaVersion = %d, want 2", m.SchemaVersion)
	}
	if m.Config.MediaType != "application/vnd.docker.container.image.v1+json" {
		t.Errorf("config mediaType = %q", m.Config.MediaType)
	}
	for i, l := range m.Layers {
		if l.MediaType != "application/vnd.docker.image.rootfs.diff.tar.gzip" {
			t.Errorf("layer %d mediaType = %q", i, l.MediaType)
		}
	}
	// The layers are the same gzipped tars; only the types differ.
	cfg := cntConfig(t, img)
	if len(cfg.RootFS.DiffIDs) != 2 {
		t.Errorf("docker config has %d diff_ids, want 2", len(cfg.RootFS.DiffIDs))
	}

	idx := NewIndex(DockerMediaTypes())
	ix := cntIndex(t, idx)
	if ix.MediaType != memstore.MediaTypeDockerManifestList || idx.Descriptor().MediaType != memstore.MediaTypeDockerManifestList {
		t.Errorf("index mediaType %q, descriptor %q, want %s", ix.MediaType, idx.Descriptor().MediaType, memstore.MediaTypeDockerManifestList)
	}
	for i, d := range ix.Manifests {
		if d.MediaType != memstore.MediaTypeDockerManifest {
			t.Errorf("manifest list entry %d has mediaType %q, want %s", i, d.MediaType, memstore.MediaTypeDockerManifest)
		}
		if d.Platform == nil {
			t.Errorf("manifest list entry %d has no platform", i)
		}
	}
	for i, c := range idx.Manifests {
		if got := cntManifest(t, c).MediaType; got != memstore.MediaTypeDockerManifest {
			t.Errorf("child %d mediaType %q", i, got)
		}
	}
}

func TestContentSubjectArtifactType(t *testing.T) {
	subject := NewImage(Seed(5)).Descriptor()
	subject.Platform = nil // a subject is a plain descriptor
	const at = "application/vnd.example.signature+json"

	img := NewImage(Subject(subject), ArtifactType(at))
	m := cntManifest(t, img)
	if diff := cmp.Diff(&subject, m.Subject); diff != "" {
		t.Errorf("image subject (-want +got):\n%s", diff)
	}
	if m.ArtifactType != at || img.Descriptor().ArtifactType != at {
		t.Errorf("artifactType manifest %q, descriptor %q, want %q", m.ArtifactType, img.Descriptor().ArtifactType, at)
	}

	idx := NewIndex(Subject(subject), ArtifactType(at))
	ix := cntIndex(t, idx)
	if diff := cmp.Diff(&subject, ix.Subject); diff != "" {
		t.Errorf("index subject (-want +got):\n%s", diff)
	}
	if ix.ArtifactType != at || idx.Descriptor().ArtifactType != at {
		t.Errorf("index artifactType manifest %q, descriptor %q, want %q", ix.ArtifactType, idx.Descriptor().ArtifactType, at)
	}

	// Neither field appears unless set.
	for _, b := range [][]byte{NewImage().Bytes(), NewIndex().Bytes()} {
		keys := cntRawKeys(t, b)
		for _, k := range []string{"subject", "artifactType"} {
			if _, ok := keys[k]; ok {
				t.Errorf("%s present without being set: %s", k, b)
			}
		}
	}
}

func TestContentArtifact(t *testing.T) {
	subject := NewImage().Descriptor()
	subject.Platform = nil
	const at = "application/vnd.example.sbom.v1+json"

	t.Run("no blobs", func(t *testing.T) {
		a := NewArtifact(at, &subject)
		m := cntManifest(t, a)
		cntCheckDescriptor(t, a)
		if m.MediaType != ocispec.MediaTypeImageManifest {
			t.Errorf("mediaType = %q", m.MediaType)
		}
		if m.ArtifactType != at || a.Descriptor().ArtifactType != at {
			t.Errorf("artifactType manifest %q, descriptor %q, want %q", m.ArtifactType, a.Descriptor().ArtifactType, at)
		}
		empty := ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: cntEmptyJSONDigest, Size: 2}
		if diff := cmp.Diff(empty, m.Config); diff != "" {
			t.Errorf("config (-want +got):\n%s", diff)
		}
		if string(a.Config.Data) != "{}" {
			t.Errorf("config data = %q, want {}", a.Config.Data)
		}
		if diff := cmp.Diff([]ocispec.Descriptor{empty}, m.Layers); diff != "" {
			t.Errorf("layers (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(&subject, m.Subject); diff != "" {
			t.Errorf("subject (-want +got):\n%s", diff)
		}
		if a.Descriptor().Platform != nil {
			t.Errorf("artifact descriptor has platform %+v", a.Descriptor().Platform)
		}
	})

	t.Run("blobs", func(t *testing.T) {
		blobs := [][]byte{[]byte(`{"sbom":1}`), []byte("second blob")}
		a := NewArtifact(at, nil, blobs...)
		m := cntManifest(t, a)
		if m.Config.MediaType != ocispec.MediaTypeEmptyJSON || m.Config.Digest != cntEmptyJSONDigest {
			t.Errorf("config = %+v, want the empty descriptor", m.Config)
		}
		if len(m.Layers) != len(blobs) || len(a.Layers) != len(blobs) {
			t.Fatalf("%d layers (%d blobs), want %d", len(m.Layers), len(a.Layers), len(blobs))
		}
		for i, b := range blobs {
			want := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(b), Size: int64(len(b))}
			if diff := cmp.Diff(want, m.Layers[i]); diff != "" {
				t.Errorf("layer %d (-want +got):\n%s", i, diff)
			}
			if !bytes.Equal(a.Layers[i].Data, b) {
				t.Errorf("layer %d data = %q, want %q", i, a.Layers[i].Data, b)
			}
		}
		if _, ok := cntRawKeys(t, a.Bytes())["subject"]; ok {
			t.Errorf("artifact without subject has a subject field: %s", a.Bytes())
		}
		if m.ArtifactType != at {
			t.Errorf("artifactType = %q, want %q", m.ArtifactType, at)
		}
	})
}

func TestContentIndexChildren(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		idx := NewIndex()
		ix := cntIndex(t, idx)
		if ix.MediaType != ocispec.MediaTypeImageIndex || idx.Descriptor().MediaType != ocispec.MediaTypeImageIndex {
			t.Errorf("mediaType %q, descriptor %q", ix.MediaType, idx.Descriptor().MediaType)
		}
		if ix.SchemaVersion != 2 {
			t.Errorf("schemaVersion = %d", ix.SchemaVersion)
		}
		if len(idx.Manifests) != 2 || len(ix.Manifests) != 2 {
			t.Fatalf("%d children, index lists %d, want 2", len(idx.Manifests), len(ix.Manifests))
		}
		for i, arch := range []string{"amd64", "arm64"} {
			img, ok := idx.Manifests[i].(*Image)
			if !ok {
				t.Fatalf("child %d is %T, want *Image", i, idx.Manifests[i])
			}
			want := &ocispec.Platform{OS: "linux", Architecture: arch}
			if diff := cmp.Diff(want, ix.Manifests[i].Platform); diff != "" {
				t.Errorf("entry %d platform (-want +got):\n%s", i, diff)
			}
			if cfg := cntConfig(t, img); cfg.OS != "linux" || cfg.Architecture != arch {
				t.Errorf("child %d config platform %s/%s, want linux/%s", i, cfg.OS, cfg.Architecture, arch)
			}
			if diff := cmp.Diff(img.Descriptor(), ix.Manifests[i]); diff != "" {
				t.Errorf("entry %d differs from the child's descriptor (-child +entry):\n%s", i, diff)
			}
		}
		if idx.Manifests[0].Descriptor().Digest == idx.Manifests[1].Descriptor().Digest {
			t.Errorf("both children have the same digest")
		}
	})

	t.Run("children", func(t *testing.T) {
		a := NewImage(Seed(10))
		b := NewArtifact("application/vnd.example", nil, []byte("x"))
		c := NewImage(Seed(11), Platform(ocispec.Platform{OS: "linux", Architecture: "s390x"}))
		idx := NewIndex(Children(a, b, c))
		ix := cntIndex(t, idx)
		want := []ocispec.Descriptor{a.Descriptor(), b.Descriptor(), c.Descriptor()}
		if diff := cmp.Diff(want, ix.Manifests); diff != "" {
			t.Errorf("index entries (-want +got):\n%s", diff)
		}
		if len(idx.Manifests) != 3 || idx.Manifests[1] != Manifest(b) {
			t.Errorf("Index.Manifests = %v, want the three children", idx.Manifests)
		}
		if ix.Manifests[1].ArtifactType != "application/vnd.example" {
			t.Errorf("artifact entry artifactType = %q", ix.Manifests[1].ArtifactType)
		}
	})

	t.Run("nested", func(t *testing.T) {
		inner := NewIndex(Seed(3))
		img := NewImage(Seed(4))
		outer := NewIndex(Children(inner, img))
		ix := cntIndex(t, outer)
		if len(ix.Manifests) != 2 {
			t.Fatalf("outer lists %d, want 2", len(ix.Manifests))
		}
		if ix.Manifests[0].MediaType != ocispec.MediaTypeImageIndex || ix.Manifests[0].Digest != inner.Digest() {
			t.Errorf("outer entry 0 = %+v, want the inner index", ix.Manifests[0])
		}
		if _, ok := outer.Manifests[0].(*Index); !ok {
			t.Errorf("outer child 0 is %T, want *Index", outer.Manifests[0])
		}
		if len(cntAllBlobs(outer)) != 2*2+2 {
			t.Errorf("outer reaches %d blobs, want 6 (two per image)", len(cntAllBlobs(outer)))
		}
	})

	t.Run("empty", func(t *testing.T) {
		// Children() with nothing lists nothing: an empty index is valid
		// and a useful edge case.
		idx := NewIndex(Children())
		ix := cntIndex(t, idx)
		if len(ix.Manifests) != 0 || len(idx.Manifests) != 0 {
			t.Errorf("Children() gave %d entries, want none: %s", len(ix.Manifests), idx.Bytes())
		}
		if keys := cntRawKeys(t, idx.Bytes()); string(keys["manifests"]) != "[]" {
			t.Errorf("manifests = %s, want []", keys["manifests"])
		}
	})

	t.Run("seeded", func(t *testing.T) {
		if NewIndex(Seed(1)).Manifests[0].Descriptor().Digest == NewIndex(Seed(2)).Manifests[0].Descriptor().Digest {
			t.Errorf("index seed does not reach the children")
		}
	})
}

// cntPutAll stores m in a store the way a client pushes: blobs, then
// children depth first, then the manifest by digest with its media type.
func cntPutAll(t *testing.T, s *memstore.Store, repo string, m Manifest) {
	t.Helper()
	switch m := m.(type) {
	case *Image:
		for _, b := range m.Blobs() {
			if _, err := s.PutBlob(repo, b.Descriptor.Digest, bytes.NewReader(b.Data), int64(len(b.Data))); err != nil {
				t.Fatalf("PutBlob %s: %v", b.Descriptor.Digest, err)
			}
		}
	case *Index:
		for _, c := range m.Manifests {
			cntPutAll(t, s, repo, c)
		}
	}
	d := m.Descriptor()
	got, err := s.PutManifest(repo, string(d.Digest), d.MediaType, m.Bytes())
	if err != nil {
		t.Fatalf("strict store refuses generated %s: %v\n%s", d.MediaType, err, m.Bytes())
	}
	if got.Digest != d.Digest || got.MediaType != d.MediaType {
		t.Errorf("stored as %s %s, want %s %s", got.MediaType, got.Digest, d.MediaType, d.Digest)
	}
	if d.ArtifactType != "" && got.ArtifactType != d.ArtifactType {
		t.Errorf("store sees artifactType %q, want %q", got.ArtifactType, d.ArtifactType)
	}
}

func TestContentAcceptedByStrictStore(t *testing.T) {
	subject := NewImage().Descriptor()
	subject.Platform = nil
	ann := map[string]string{"org.opencontainers.image.title": "x"}
	cases := map[string]Manifest{
		"image":            NewImage(),
		"image layers":     NewImage(Layers(4), LayerSize(1)),
		"image no layers":  NewImage(Layers(0)),
		"image annotated":  NewImage(Annotations(ann), Platform(ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"})),
		"image referrer":   NewImage(Seed(3), Subject(subject), ArtifactType("application/vnd.example")),
		"docker image":     NewImage(DockerMediaTypes()),
		"docker annotated": NewImage(DockerMediaTypes(), Annotations(ann)),
		"index":            NewIndex(),
		"index referrer":   NewIndex(Seed(4), Subject(subject), ArtifactType("application/vnd.example"), Annotations(ann)),
		"docker index":     NewIndex(DockerMediaTypes()),
		"nested index":     NewIndex(Children(NewIndex(Seed(5)), NewImage(Seed(6)), NewArtifact("application/vnd.example", nil))),
		"empty index":      NewIndex(Children()),
		"artifact":         NewArtifact("application/vnd.example", nil),
		"artifact blobs":   NewArtifact("application/vnd.example", &subject, []byte("a"), []byte("b")),
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			s := memstore.New(memstore.WithRequireReferences())
			if m.Descriptor().MediaType == "" {
				t.Fatal("generated manifest has no media type")
			}
			cntPutAll(t, s, "team/app", m)
			// Pushing the same content again is accepted and changes nothing.
			before := s.Snapshot()
			cntPutAll(t, s, "team/app", m)
			if diff := cmp.Diff(before, s.Snapshot()); diff != "" {
				t.Errorf("second push changed the store:\n%s", diff)
			}
		})
	}
}
