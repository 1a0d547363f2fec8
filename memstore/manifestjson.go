package memstore

import (
	"unicode/utf8"
	"unsafe"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// decodeManifest is json.Unmarshal(b, raw) for the manifests clients push
// every day, without encoding/json's reflection, which costs more than the
// rest of a manifest push. It takes only plain JSON: known keys spelled
// exactly, each once; strings without escapes; sizes and schemaVersion as
// plain non-negative integers; descriptors without urls, platform or data.
// For anything else it reports false, having possibly set some of raw,
// and the caller uses encoding/json. When it reports true, raw is exactly
// what json.Unmarshal makes of b (manifestjson_test.go checks that).
//
// The strings it returns share b's bytes, which must not change
// afterwards: PutManifest takes ownership of the content it stores, and
// the manifest's fields (mediaType, subject, annotations) then cost no
// memory beyond the content itself. A copy per string, or even one copy
// of the whole manifest, was more than the rest of what a stored manifest
// holds, and every byte a registry keeps is a byte the test's process
// must fault in and scan. Strings that outlive a refused manifest (error
// details) are cloned where they are made.
func decodeManifest(b []byte, raw *rawManifest) bool {
	p := jsonScan{b: b, s: unsafe.String(unsafe.SliceData(b), len(b))}
	p.space()
	if !p.take('{') {
		return false
	}
	var seen uint
	for first := true; ; first = false {
		key, end, ok := p.member(first)
		if !ok {
			return false
		}
		if end {
			break
		}
		var bit uint
		switch key {
		case "schemaVersion":
			bit = 1 << 0
			n, ok := p.integer()
			if !ok || n > 1<<31-1 {
				return false
			}
			if n == 2 {
				raw.SchemaVersion = &schemaVersion2
			} else {
				v := int(n)
				raw.SchemaVersion = &v
			}
		case "mediaType":
			bit = 1 << 1
			if raw.MediaType, ok = p.str(); !ok {
				return false
			}
		case "artifactType":
			bit = 1 << 2
			if raw.ArtifactType, ok = p.str(); !ok {
				return false
			}
		case "config", "subject":
			bit = 1 << 3
			if key == "subject" {
				bit = 1 << 4
			}
			d := new(ocispec.Descriptor)
			if !p.descriptor(d) {
				return false
			}
			if key == "config" {
				raw.Config = d
			} else {
				raw.Subject = d
			}
		case "layers", "manifests":
			bit = 1 << 5
			if key == "manifests" {
				bit = 1 << 6
			}
			ds, ok := p.descriptors()
			if !ok {
				return false
			}
			if key == "layers" {
				raw.Layers = ds
			} else {
				raw.Manifests = ds
			}
		case "annotations":
			bit = 1 << 7
			if raw.Annotations, ok = p.stringMap(); !ok {
				return false
			}
		default:
			return false
		}
		if seen&bit != 0 {
			return false // a key given twice
		}
		seen |= bit
	}
	p.space()
	return p.i == len(b)
}

// schemaVersion2 is what a decoded schemaVersion of 2, the only valid one,
// points at: one int for every manifest rather than one each. Nothing
// writes through rawManifest.SchemaVersion.
var schemaVersion2 = 2

// jsonScan reads the plain JSON decodeManifest takes.
type jsonScan struct {
	b []byte
	s string // b's bytes as a string (no copy), which str slices
	i int
}

func (p *jsonScan) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonScan) take(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// member moves to the next member of an object whose '{' has been read:
// first says whether it is the first call for the object. It returns the
// member's key, with p at its value, or end at the closing '}'; !ok is
// malformed JSON. (Loops over member, rather than a callback per member,
// cost a manifest push no closures.)
func (p *jsonScan) member(first bool) (key string, end, ok bool) {
	p.space()
	if p.take('}') {
		return "", true, true
	}
	if !first {
		if !p.take(',') {
			return "", false, false
		}
		p.space()
	}
	if key, ok = p.str(); !ok {
		return "", false, false
	}
	p.space()
	if !p.take(':') {
		return "", false, false
	}
	p.space()
	return key, false, true
}

// element moves to the next element of an array whose '[' has been read,
// as member does for objects: end at the closing ']', else p is at the
// element.
func (p *jsonScan) element(first bool) (end, ok bool) {
	p.space()
	if p.take(']') {
		return true, true
	}
	if !first {
		if !p.take(',') {
			return false, false
		}
		p.space()
	}
	return false, true
}

// str reads a string without escapes or control characters, in valid
// UTF-8.
func (p *jsonScan) str() (string, bool) {
	if !p.take('"') {
		return "", false
	}
	// b and i are locals so that the loop keeps them in registers.
	b, i := p.b, p.i
	start, ascii := i, true
	for {
		for i < len(b) && plainStringByte[b[i]] {
			i++
		}
		if i == len(b) {
			return "", false
		}
		switch c := b[i]; {
		case c == '"':
			s := p.s[start:i]
			p.i = i + 1
			if !ascii && !utf8.ValidString(s) {
				return "", false
			}
			return s, true
		case c >= 0x80:
			ascii = false
			i++
		default: // an escape or a control character
			return "", false
		}
	}
}

// plainStringByte is true for the bytes str passes over without a second
// look: printable ASCII other than '"' and '\\'.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// integer reads a non-negative integer of at most 18 digits, without a
// fraction or exponent.
func (p *jsonScan) integer() (int64, bool) {
	start := p.i
	var n int64
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		n = n*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 18 || digits > 1 && p.b[start] == '0' {
		return 0, false
	}
	if p.i < len(p.b) {
		switch p.b[p.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	return n, true
}

// descriptor reads a descriptor of mediaType, digest, size, artifactType
// and annotations.
func (p *jsonScan) descriptor(d *ocispec.Descriptor) bool {
	if !p.take('{') {
		return false
	}
	var seen uint
	for first := true; ; first = false {
		key, end, ok := p.member(first)
		if !ok {
			return false
		}
		if end {
			return true
		}
		var bit uint
		switch key {
		case "mediaType":
			bit = 1 << 0
			d.MediaType, ok = p.str()
		case "digest":
			bit = 1 << 1
			var s string
			s, ok = p.str()
			d.Digest = digest.Digest(s)
		case "size":
			bit = 1 << 2
			d.Size, ok = p.integer()
		case "artifactType":
			bit = 1 << 3
			d.ArtifactType, ok = p.str()
		case "annotations":
			bit = 1 << 4
			d.Annotations, ok = p.stringMap()
		default:
			ok = false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// descriptors reads an array of descriptors.
func (p *jsonScan) descriptors() ([]ocispec.Descriptor, bool) {
	if !p.take('[') {
		return nil, false
	}
	ds := []ocispec.Descriptor{}
	for first := true; ; first = false {
		end, ok := p.element(first)
		if !ok {
			return nil, false
		}
		if end {
			return ds, true
		}
		ds = append(ds, ocispec.Descriptor{})
		if !p.descriptor(&ds[len(ds)-1]) {
			return nil, false
		}
	}
}

// stringMap reads an object of strings, each key once.
func (p *jsonScan) stringMap() (map[string]string, bool) {
	if !p.take('{') {
		return nil, false
	}
	m := map[string]string{}
	for first := true; ; first = false {
		key, end, ok := p.member(first)
		if !ok {
			return nil, false
		}
		if end {
			return m, true
		}
		if _, dup := m[key]; dup {
			return nil, false
		}
		if m[key], ok = p.str(); !ok {
			return nil, false
		}
	}
}
