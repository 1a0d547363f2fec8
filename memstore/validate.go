package memstore

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"mime"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest media types the store understands.
const (
	MediaTypeOCIManifest        = ocispec.MediaTypeImageManifest
	MediaTypeOCIIndex           = ocispec.MediaTypeImageIndex
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

// IsManifestMediaType reports whether mt is a manifest type the store accepts.
func IsManifestMediaType(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return true
	}
	return false
}

func isIndexMediaType(mt string) bool {
	return mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList
}

// rawManifest holds the fields of every supported manifest kind.
type rawManifest struct {
	SchemaVersion *int                 `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	ArtifactType  string               `json:"artifactType"`
	Config        *ocispec.Descriptor  `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
	Manifests     []ocispec.Descriptor `json:"manifests"`
	Subject       *ocispec.Descriptor  `json:"subject"`
	Annotations   map[string]string    `json:"annotations"`
}

// parsedManifest is what validation learns from a manifest's bytes.
type parsedManifest struct {
	mediaType    string
	artifactType string // as the referrers API reports it
	subject      *ocispec.Descriptor
	annotations  map[string]string
	config       *ocispec.Descriptor  // an image manifest's config: always required
	layers       []ocispec.Descriptor // distributable layers: required only in strict mode
	children     []ocispec.Descriptor // child manifests of an index: required only in strict mode
}

// parseManifest checks a manifest's structure. contentType is the request's
// Content-Type (parameters allowed, empty when absent). References to other
// content are returned for the caller to check against the repository.
func parseManifest(contentType string, b []byte) (parsedManifest, error) {
	ct := ""
	switch {
	case IsManifestMediaType(contentType):
		ct = contentType // the usual case, which needs no parsing
	case contentType != "":
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return parsedManifest{}, errorf(ErrManifestInvalid, "malformed Content-Type %q", contentType)
		}
		ct = mt
	}
	// Plain manifests are decoded by hand (manifestjson.go); the rest,
	// and every error, by encoding/json.
	var raw rawManifest
	if !decodeManifest(b, &raw) {
		raw = rawManifest{}
		if err := json.Unmarshal(b, &raw); err != nil {
			// What json.Unmarshal takes, the decoder below takes too; for
			// the rest the decoder decides, as it always did (it is slower,
			// but its answers and messages are the ones clients see).
			raw = rawManifest{}
			dec := json.NewDecoder(bytes.NewReader(b))
			if err := dec.Decode(&raw); err != nil {
				return parsedManifest{}, errorf(ErrManifestInvalid, "manifest is not valid JSON: %v", err)
			}
			if !onlySpaceLeft(b, dec.InputOffset()) {
				return parsedManifest{}, errorf(ErrManifestInvalid, "manifest has data after the JSON object")
			}
		}
	}
	if raw.SchemaVersion == nil || *raw.SchemaVersion != 2 {
		return parsedManifest{}, errorf(ErrManifestInvalid, "schemaVersion must be 2")
	}
	mt, err := manifestMediaType(ct, &raw)
	if err != nil {
		return parsedManifest{}, err
	}
	p := parsedManifest{mediaType: mt, annotations: raw.Annotations}
	if isIndexMediaType(mt) {
		if raw.Config != nil || raw.Layers != nil {
			return parsedManifest{}, errorf(ErrManifestInvalid, "an index has no config or layers")
		}
		if raw.Manifests == nil {
			return parsedManifest{}, errorf(ErrManifestInvalid, "an index needs a manifests list")
		}
		for i := range raw.Manifests {
			if err := checkDescriptor(&raw.Manifests[i], "manifests", i); err != nil {
				return parsedManifest{}, err
			}
		}
		p.children = raw.Manifests
		p.artifactType = raw.ArtifactType
	} else {
		if raw.Manifests != nil {
			return parsedManifest{}, errorf(ErrManifestInvalid, "an image manifest has no manifests list")
		}
		if raw.Config == nil {
			return parsedManifest{}, errorf(ErrManifestInvalid, "an image manifest needs a config descriptor")
		}
		if err := checkDescriptor(raw.Config, "config", -1); err != nil {
			return parsedManifest{}, err
		}
		p.config = raw.Config
		for i := range raw.Layers {
			if err := checkDescriptor(&raw.Layers[i], "layers", i); err != nil {
				return parsedManifest{}, err
			}
		}
		p.layers = raw.Layers
		if slices.ContainsFunc(raw.Layers, isExternalLayer) {
			p.layers = slices.DeleteFunc(slices.Clone(raw.Layers), isExternalLayer)
		}
		p.artifactType = raw.ArtifactType
		if p.artifactType == "" {
			p.artifactType = raw.Config.MediaType
		}
	}
	if raw.Subject != nil {
		if mt == MediaTypeDockerManifest || mt == MediaTypeDockerManifestList {
			return parsedManifest{}, errorf(ErrManifestInvalid, "docker manifests have no subject field")
		}
		if err := checkDescriptor(raw.Subject, "subject", -1); err != nil {
			return parsedManifest{}, err
		}
		p.subject = raw.Subject
	}
	return p, nil
}

// manifestMediaType settles a manifest's type from the Content-Type, its
// mediaType field and, when both are absent, its shape.
func manifestMediaType(ct string, raw *rawManifest) (string, error) {
	switch {
	case IsManifestMediaType(ct):
		if raw.MediaType != "" && raw.MediaType != ct {
			return "", errorf(ErrManifestInvalid, "mediaType %q does not match Content-Type %q", raw.MediaType, ct)
		}
		if raw.MediaType == "" && (ct == MediaTypeDockerManifest || ct == MediaTypeDockerManifestList) {
			return "", errorf(ErrManifestInvalid, "docker manifests must have a mediaType field")
		}
		return ct, nil
	case ct != "" && ct != "application/json" && ct != "application/octet-stream":
		return "", errorf(ErrManifestInvalid, "unsupported manifest media type %q", ct)
	case raw.MediaType != "":
		if !IsManifestMediaType(raw.MediaType) {
			return "", errorf(ErrManifestInvalid, "unsupported manifest media type %q", raw.MediaType)
		}
		return raw.MediaType, nil
	case raw.Manifests != nil:
		return MediaTypeOCIIndex, nil
	case raw.Config != nil:
		return MediaTypeOCIManifest, nil
	}
	return "", errorf(ErrManifestInvalid, "cannot tell the manifest's media type: no Content-Type or mediaType")
}

// checkDescriptor validates one descriptor's fields; i < 0 for single fields.
func checkDescriptor(d *ocispec.Descriptor, field string, i int) error {
	problem := descriptorProblem(d)
	if problem == "" {
		return nil
	}
	// Where the descriptor sits is spelled out only for an error: a
	// manifest push checks several descriptors and most are fine.
	where := field
	if i >= 0 {
		where = field + "[" + strconv.Itoa(i) + "]"
	}
	return errorf(ErrManifestInvalid, "%s: %s", where, problem)
}

// descriptorProblem says what is wrong with d's fields, "" if nothing.
func descriptorProblem(d *ocispec.Descriptor) string {
	if !validMediaType(d.MediaType) {
		return fmt.Sprintf("invalid mediaType %q", d.MediaType)
	}
	if _, err := ParseDigest(string(d.Digest)); err != nil {
		return fmt.Sprintf("invalid digest %q", d.Digest)
	}
	if d.Size < 0 {
		return "negative size"
	}
	if d.Data != nil {
		if int64(len(d.Data)) != d.Size {
			return fmt.Sprintf("data has %d bytes but size is %d", len(d.Data), d.Size)
		}
		if d.Digest.Algorithm().FromBytes(d.Data) != d.Digest {
			return fmt.Sprintf("data does not match digest %s", d.Digest)
		}
	}
	if d.ArtifactType != "" && !validMediaType(d.ArtifactType) {
		return fmt.Sprintf("invalid artifactType %q", d.ArtifactType)
	}
	return ""
}

// isExternalLayer reports whether a layer may be absent from the registry:
// non-distributable (foreign) layers, which are fetched from their URLs.
func isExternalLayer(d ocispec.Descriptor) bool {
	return strings.Contains(d.MediaType, ".nondistributable.") ||
		d.MediaType == mediaTypeDockerForeignLayer ||
		len(d.URLs) > 0
}

// validMediaType checks the RFC 6838 shape type "/" subtype, both restricted
// names; parameters are not allowed in descriptors.
func validMediaType(mt string) bool {
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && restrictedName(typ) && restrictedName(sub)
}

func restrictedName(s string) bool {
	if s == "" || len(s) > 127 || restrictedChars[s[0]] != nameAlnum {
		return false
	}
	for i := 1; i < len(s); i++ {
		if restrictedChars[s[i]] == 0 {
			return false
		}
	}
	return true
}

// restrictedChars classifies the bytes of RFC 6838's restricted names:
// letters and digits may come anywhere, the symbols "!#$&-^_.+" after the
// first character. (A table, because every descriptor of every manifest
// push has two names checked.)
var restrictedChars = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			t[c] = nameAlnum
		case strings.IndexByte("!#$&-^_.+", byte(c)) >= 0:
			t[c] = nameSymbol
		}
	}
	return t
}()

const (
	nameAlnum  = 1
	nameSymbol = 2
)

func onlySpaceLeft(b []byte, off int64) bool {
	return len(bytes.TrimSpace(b[off:])) == 0
}

// digestOf is alg.FromBytes(b).
func digestOf(alg digest.Algorithm, b []byte) digest.Digest {
	switch alg {
	case digest.SHA256:
		sum := sha256.Sum256(b) // no hash.Hash to allocate
		return encodeDigest(alg, sum[:])
	case digest.SHA512:
		sum := sha512.Sum512(b)
		return encodeDigest(alg, sum[:])
	}
	h := alg.Hash()
	h.Write(b)
	return hashDigest(alg, h)
}

// hashDigest is digest.NewDigest(alg, h) without its fmt.Sprintf.
func hashDigest(alg digest.Algorithm, h hash.Hash) digest.Digest {
	var sum [sha512.Size]byte
	return encodeDigest(alg, h.Sum(sum[:0]))
}

// encodeDigest is the digest of alg whose hash sum is sum, in one
// allocation.
func encodeDigest(alg digest.Algorithm, sum []byte) digest.Digest {
	var hx [2 * sha512.Size]byte
	n := hex.Encode(hx[:], sum)
	var b strings.Builder
	b.Grow(len(alg) + 1 + n)
	b.WriteString(string(alg))
	b.WriteByte(':')
	b.Write(hx[:n])
	return digest.Digest(b.String())
}
