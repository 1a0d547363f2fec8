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
	var seen uint
	ok := p.object(func(key string) bool {
		var bit uint
		switch key {
		case "schemaVersion":
			bit = 1 << 0
			n, ok := p.integer()
			if !ok || n > 1<<31-1 {
				return false
			}
			v := int(n)
			raw.SchemaVersion = &v
		case "mediaType":
			bit = 1 << 1
			s, ok := p.str()
			if !ok {
				return false
			}
			raw.MediaType = s
		case "artifactType":
			bit = 1 << 2
			s, ok := p.str()
			if !ok {
				return false
			}
			raw.ArtifactType = s
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
			ds := []ocispec.Descriptor{}
			ok := p.array(func() bool {
				ds = append(ds, ocispec.Descriptor{})
				return p.descriptor(&ds[len(ds)-1])
			})
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
			m, ok := p.stringMap()
			if !ok {
				return false
			}
			raw.Annotations = m
		default:
			return false
		}
		if seen&bit != 0 {
			return false // a key given twice
		}
		seen |= bit
		return true
	})
	p.space()
	return ok && p.i == len(b)
}

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

// object reads {"key": value, ...}, calling member with p at each value.
func (p *jsonScan) object(member func(key string) bool) bool {
	if !p.take('{') {
		return false
	}
	p.space()
	if p.take('}') {
		return true
	}
	for {
		key, ok := p.str()
		if !ok {
			return false
		}
		p.space()
		if !p.take(':') {
			return false
		}
		p.space()
		if !member(key) {
			return false
		}
		p.space()
		if p.take('}') {
			return true
		}
		if !p.take(',') {
			return false
		}
		p.space()
	}
}

// array reads [value, ...], calling elem with p at each value.
func (p *jsonScan) array(elem func() bool) bool {
	if !p.take('[') {
		return false
	}
	p.space()
	if p.take(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		p.space()
		if p.take(']') {
			return true
		}
		if !p.take(',') {
			return false
		}
		p.space()
	}
}

// str reads a string without escapes or control characters, in valid
// UTF-8.
func (p *jsonScan) str() (string, bool) {
	if !p.take('"') {
		return "", false
	}
	start, ascii := p.i, true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			if !ascii && !utf8.ValidString(s) {
				return "", false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
		p.i++
	}
	return "", false
}

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
	var seen uint
	return p.object(func(key string) bool {
		var bit uint
		var ok bool
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
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
}

// stringMap reads an object of strings, each key once.
func (p *jsonScan) stringMap() (map[string]string, bool) {
	m := map[string]string{}
	ok := p.object(func(key string) bool {
		if _, dup := m[key]; dup {
			return false
		}
		v, ok := p.str()
		m[key] = v
		return ok
	})
	return m, ok
}
