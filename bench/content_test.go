package bench

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pattern is the bytes every generated blob is made of: a fixed
// pseudo-random block, so that no implementation gains from compression
// or zero pages.
var pattern = func() []byte {
	b := make([]byte, 1<<20)
	x := uint64(0x9e3779b97f4a7c15)
	for i := 0; i < len(b); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(b[i:], x)
	}
	return b
}()

// genReader yields blob k of size bytes without holding it: the pattern,
// with k in its first 8 bytes so that every k has its own digest.
type genReader struct {
	k, size, off int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if rest := g.size - g.off; n > rest {
		n = rest
	}
	pos := g.off % int64(len(pattern))
	if rest := int64(len(pattern)) - pos; n > rest {
		n = rest
	}
	copy(p[:n], pattern[pos:pos+n])
	for i := g.off; i < 8 && i < g.off+n; i++ {
		p[i-g.off] = byte(uint64(g.k) >> (8 * i))
	}
	g.off += n
	return int(n), nil
}

// genBytes is generated blob k of size bytes, in memory.
func genBytes(k, size int64) []byte {
	b := make([]byte, size)
	io.ReadFull(&genReader{k: k, size: size}, b)
	return b
}

var genDigests sync.Map // [2]int64{k, size} -> digest.Digest

// genDigest is the digest of generated blob k of size bytes.
func genDigest(k, size int64) digest.Digest {
	key := [2]int64{k, size}
	if d, ok := genDigests.Load(key); ok {
		return d.(digest.Digest)
	}
	h := sha256.New()
	io.CopyBuffer(h, &genReader{k: k, size: size}, make([]byte, 1<<20))
	d := digest.NewDigest(digest.SHA256, h)
	genDigests.Store(key, d)
	return d
}

// blob is content with its digest, made once.
type blob struct {
	data []byte
	d    digest.Digest
}

func newBlob(k, size int64) blob {
	data := genBytes(k, size)
	return blob{data, digest.FromBytes(data)}
}

var (
	blob4K  = sync.OnceValue(func() blob { return newBlob(1, 4<<10) })
	blob64M = sync.OnceValue(func() blob { return newBlob(2, 64<<20) })
	blob16M = sync.OnceValue(func() blob { return newBlob(3, 16<<20) })
)

// smallPushes are distinct 4 KiB blobs for the small-push workloads, so
// that every push stores new content (until the pool wraps around).
const smallPushes = 1 << 14

var smallPool = sync.OnceValue(func() []blob {
	out := make([]blob, smallPushes)
	for i := range out {
		out[i] = newBlob(int64(1000+i), 4<<10)
	}
	return out
})

// image is a small OCI image: a config and one 4 KiB layer.
type image struct {
	config, layer    ocispec.Descriptor
	configData       []byte
	manifest         []byte
	manifestDigest   digest.Digest
	manifestDescript ocispec.Descriptor
}

var emptyJSON = []byte("{}")

func descriptor(mediaType string, data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
}

// smallImage is the image of the manifest workloads; annotation, when not
// empty, makes its manifest unique.
func smallImage(annotation string) image {
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + string(blob4K().d) + `"]}}`)
	img := image{
		config:     descriptor(ocispec.MediaTypeImageConfig, cfg),
		layer:      ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: blob4K().d, Size: int64(len(blob4K().data))},
		configData: cfg,
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    img.config,
		Layers:    []ocispec.Descriptor{img.layer},
	}
	if annotation != "" {
		m.Annotations = map[string]string{"org.example.n": annotation}
	}
	img.manifest, _ = json.Marshal(m)
	img.manifestDescript = descriptor(ocispec.MediaTypeImageManifest, img.manifest)
	img.manifestDigest = img.manifestDescript.Digest
	return img
}

// seedImage pushes img's blobs and manifest into repo under tag.
func seedImage(tb testing.TB, s *server, repo, tag string, img image) {
	tb.Helper()
	s.putBlob(tb, repo, img.configData)
	s.putBlob(tb, repo, blob4K().data)
	s.putManifest(tb, repo, tag, ocispec.MediaTypeImageManifest, img.manifest)
}

// manifestTemplate splits an annotated manifest around its annotation
// value, so that unique manifests are cheap to make in a timed loop.
func manifestTemplate() (prefix, suffix []byte) {
	const marker = "MARKER"
	m := smallImage(marker).manifest
	i := indexOf(m, marker)
	return m[:i], m[i+len(marker):]
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

func uniqueManifest(buf, prefix, suffix []byte, i int) []byte {
	buf = append(buf[:0], prefix...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	return append(buf, suffix...)
}

// artifact is a referrer of subject, unique by n.
func artifact(subject ocispec.Descriptor, n int) ([]byte, ocispec.Descriptor) {
	empty := descriptor(ocispec.MediaTypeEmptyJSON, emptyJSON)
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.example.sbom",
		Config:       empty,
		Layers:       []ocispec.Descriptor{empty},
		Subject:      &subject,
		Annotations:  map[string]string{"org.example.n": strconv.Itoa(n)},
	}
	body, _ := json.Marshal(m)
	d := descriptor(ocispec.MediaTypeImageManifest, body)
	d.ArtifactType = m.ArtifactType
	d.Annotations = m.Annotations
	return body, d
}
