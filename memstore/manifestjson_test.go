package memstore

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// manifestJSONSeeds are manifests as clients write them, and odd ones.
func manifestJSONSeeds(t testing.TB) []string {
	desc := func(mt, data string) ocispec.Descriptor { return descOf(mt, []byte(data)) }
	subject := desc(MediaTypeOCIManifest, "subject")
	var out []string
	for _, v := range []any{
		ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: MediaTypeOCIManifest,
			Config: desc(mtConfig, "{}"), Layers: []ocispec.Descriptor{desc(mtLayer, "a"), desc(mtLayer, "b")}},
		ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: MediaTypeOCIManifest,
			ArtifactType: mtSBOM, Config: desc(ocispec.MediaTypeEmptyJSON, "{}"), Layers: []ocispec.Descriptor{},
			Subject: &subject, Annotations: map[string]string{"a": "b", "org.example.é": "ü ∑", "empty": ""}},
		ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: MediaTypeOCIIndex,
			Manifests: []ocispec.Descriptor{{MediaType: MediaTypeOCIManifest, Digest: subject.Digest, Size: 7,
				ArtifactType: "x/y", Annotations: map[string]string{}}}},
		ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, Manifests: []ocispec.Descriptor{}},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
		pretty, _ := json.MarshalIndent(v, "", "\t")
		out = append(out, " \r\n"+string(pretty)+"\n")
	}
	return append(out,
		`{}`, `{"schemaVersion":2}`, `{"schemaVersion":02}`, `{"schemaVersion":2.0}`, `{"schemaVersion":-2}`,
		`{"schemaVersion":2e0}`, `{"schemaVersion":99999999999999999999}`, `{"schemaVersion":"2"}`,
		`{"schemaVersion":2,"schemaVersion":3}`, `{"SchemaVersion":2}`, `{"mediaType":"a\"b"}`,
		`{"mediaType":"a\u0062"}`, `{"mediaType":null}`, `{"layers":null}`, `{"layers":[{}]}`,
		`{"config":{"size":1,"size":2}}`, `{"config":{"urls":["x"]}}`, `{"config":{"platform":{"os":"linux"}}}`,
		`{"annotations":{"a":"1","a":"2"}}`, `{"annotations":{"a":1}}`, `{"unknown":1}`, `{"schemaVersion":2} x`,
		`{"schemaVersion":2}{}`, `{"schemaVersion":2,}`, `[]`, `"x"`, ``, `{"mediaType":"`+"\xff"+`"}`,
		`{"mediaType":"`+"\t"+`"}`, `{"layers":[{"size":1},]}`, `{"schemaVersion":2}`+"\u00a0",
	)
}

// checkDecodeManifest: whenever decodeManifest takes b, encoding/json
// takes it too and decodes the same.
func checkDecodeManifest(t *testing.T, b []byte) (took bool) {
	var fast rawManifest
	if !decodeManifest(b, &fast) {
		return false
	}
	var want rawManifest
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("decodeManifest took %q, which encoding/json refuses: %v", b, err)
	}
	if !reflect.DeepEqual(fast, want) {
		t.Fatalf("decodeManifest(%q) =\n%#v\nencoding/json:\n%#v", b, fast, want)
	}
	return true
}

func TestDecodeManifestMatchesEncodingJSON(t *testing.T) {
	seeds := manifestJSONSeeds(t)
	for i, s := range seeds {
		took := checkDecodeManifest(t, []byte(s))
		// The manifests clients write are the ones it is there for.
		if i < 8 && !took {
			t.Errorf("decodeManifest left a plain manifest to encoding/json: %s", s)
		}
		// Every one-byte change and cut of the seeds.
		for j := range len(s) {
			checkDecodeManifest(t, []byte(s[:j]+s[j+1:]))
			checkDecodeManifest(t, []byte(s[:j]))
			for _, c := range []byte("\"{}[],:0-\\ a") {
				checkDecodeManifest(t, []byte(s[:j]+string(c)+s[j+1:]))
			}
		}
	}
	if strings.Count(seeds[0], "digest") != 3 {
		t.Fatalf("seed 0 is not the image it should be: %s", seeds[0])
	}
}

func FuzzDecodeManifest(f *testing.F) {
	for _, s := range manifestJSONSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeManifest(t, b)
	})
}
