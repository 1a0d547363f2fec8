package memstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// This file tests manifest validation (validate.go), the name, tag and
// digest grammar (names.go) and the error values (errors.go).

func TestPutManifestInvalid(t *testing.T) {
	f0 := newFixture(t)
	img := f0.image(t, nil)
	imgWith := func(mod func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(img, &m); err != nil {
			t.Fatal(err)
		}
		mod(m)
		return mustJSON(t, m)
	}
	withConfig := func(key string, v any) []byte {
		return imgWith(func(m map[string]any) { m["config"].(map[string]any)[key] = v })
	}
	withLayer := func(key string, v any) []byte {
		return imgWith(func(m map[string]any) { m["layers"].([]any)[1].(map[string]any)[key] = v })
	}
	validDesc := func() map[string]any {
		return map[string]any{"mediaType": MediaTypeOCIManifest, "digest": string(sha256Of([]byte("s"))), "size": 1}
	}
	withSubject := func(key string, v any) []byte {
		return imgWith(func(m map[string]any) {
			d := validDesc()
			d[key] = v
			m["subject"] = d
		})
	}
	idx := func(mod func(m map[string]any)) []byte {
		m := map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIIndex, "manifests": []any{validDesc()}}
		if mod != nil {
			mod(m)
		}
		return mustJSON(t, m)
	}
	withChild := func(key string, v any) []byte {
		return idx(func(m map[string]any) { m["manifests"].([]any)[0].(map[string]any)[key] = v })
	}
	docker := func(mod func(m map[string]any)) []byte {
		m := map[string]any{
			"schemaVersion": 2, "mediaType": MediaTypeDockerManifest,
			"config": f0.dockerConfig, "layers": []any{f0.dockerLayer},
		}
		if mod != nil {
			mod(m)
		}
		return mustJSON(t, m)
	}
	dockerList := func(mod func(m map[string]any)) []byte {
		m := map[string]any{"schemaVersion": 2, "mediaType": MediaTypeDockerManifestList, "manifests": []any{validDesc()}}
		if mod != nil {
			mod(m)
		}
		return mustJSON(t, m)
	}
	data := []byte("inline")
	withData := func(d digest.Digest, size int, b []byte) []byte {
		return imgWith(func(m map[string]any) {
			m["layers"] = append(m["layers"].([]any), map[string]any{
				"mediaType": mtLayer, "digest": string(d), "size": size, "data": b,
			})
		})
	}

	tests := []struct {
		name string
		ct   string
		body []byte
	}{
		// Not JSON, or not one JSON object.
		{"empty body", MediaTypeOCIManifest, []byte{}},
		{"truncated JSON", MediaTypeOCIManifest, img[:len(img)-1]},
		{"not JSON", MediaTypeOCIManifest, []byte("hello")},
		{"JSON array", MediaTypeOCIManifest, []byte(`[]`)},
		{"JSON string", MediaTypeOCIManifest, []byte(`"manifest"`)},
		{"JSON null", MediaTypeOCIManifest, []byte(`null`)},
		{"trailing garbage", MediaTypeOCIManifest, append(append([]byte{}, img...), 'x')},
		{"trailing second object", MediaTypeOCIManifest, append(append([]byte{}, img...), "\n{}"...)},
		{"trailing garbage after spaces", MediaTypeOCIManifest, append(append([]byte{}, img...), " \n ]"...)},
		{"field of the wrong type", MediaTypeOCIManifest, imgWith(func(m map[string]any) { m["layers"] = "none" })},
		// schemaVersion.
		{"schemaVersion missing", MediaTypeOCIManifest, imgWith(func(m map[string]any) { delete(m, "schemaVersion") })},
		{"schemaVersion 1", MediaTypeOCIManifest, imgWith(func(m map[string]any) { m["schemaVersion"] = 1 })},
		{"schemaVersion 3", MediaTypeOCIManifest, imgWith(func(m map[string]any) { m["schemaVersion"] = 3 })},
		{"schemaVersion string", MediaTypeOCIManifest, imgWith(func(m map[string]any) { m["schemaVersion"] = "2" })},
		{"schemaVersion float", MediaTypeOCIManifest, imgWith(func(m map[string]any) { m["schemaVersion"] = 2.5 })},
		{"schemaVersion null", MediaTypeOCIManifest, imgWith(func(m map[string]any) { m["schemaVersion"] = nil })},
		// Media types.
		{"mediaType differs from Content-Type", MediaTypeOCIIndex, img},
		{"Docker mediaType, OCI Content-Type", MediaTypeOCIManifest, docker(nil)},
		{"OCI mediaType, Docker Content-Type", MediaTypeDockerManifest, img},
		{"Docker Content-Type without mediaType", MediaTypeDockerManifest, docker(func(m map[string]any) { delete(m, "mediaType") })},
		{"Docker list Content-Type without mediaType", MediaTypeDockerManifestList, dockerList(func(m map[string]any) { delete(m, "mediaType") })},
		{"unknown Content-Type", "application/vnd.oci.artifact.manifest.v1+json", img},
		{"text/plain Content-Type", "text/plain", img},
		{"schema1 Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws", img},
		{"malformed Content-Type", "application/vnd.oci.image.manifest.v1+json; charset", img},
		{"unknown mediaType field", "", imgWith(func(m map[string]any) { m["mediaType"] = "application/vnd.oci.artifact.manifest.v1+json" })},
		{"unknown mediaType field, application/json", "application/json", imgWith(func(m map[string]any) { m["mediaType"] = "application/x-foo" })},
		{"no type to be found", "", []byte(`{"schemaVersion":2}`)},
		// Shape.
		{"manifest without config", MediaTypeOCIManifest, imgWith(func(m map[string]any) { delete(m, "config") })},
		{"manifest with null config", MediaTypeOCIManifest, imgWith(func(m map[string]any) { m["config"] = nil })},
		{"manifest with manifests", MediaTypeOCIManifest, imgWith(func(m map[string]any) { m["manifests"] = []any{} })},
		{"index without manifests", MediaTypeOCIIndex, idx(func(m map[string]any) { delete(m, "manifests") })},
		{"index with config", MediaTypeOCIIndex, idx(func(m map[string]any) { m["config"] = f0.config })},
		{"index with layers", MediaTypeOCIIndex, idx(func(m map[string]any) { m["layers"] = []any{} })},
		{"Docker list with layers", MediaTypeDockerManifestList, dockerList(func(m map[string]any) { m["layers"] = []any{f0.dockerLayer} })},
		{"Docker manifest with subject", MediaTypeDockerManifest, docker(func(m map[string]any) { m["subject"] = validDesc() })},
		{"Docker list with subject", MediaTypeDockerManifestList, dockerList(func(m map[string]any) { m["subject"] = validDesc() })},
		// Descriptors: config.
		{"config digest malformed", MediaTypeOCIManifest, withConfig("digest", "sha256:1234")},
		{"config digest missing", MediaTypeOCIManifest, withConfig("digest", "")},
		{"config digest md5", MediaTypeOCIManifest, withConfig("digest", "md5:0cc175b9c0f1b6a831c399e269772661")},
		{"config digest sha384", MediaTypeOCIManifest, withConfig("digest", string(digest.SHA384.FromString("x")))},
		{"config negative size", MediaTypeOCIManifest, withConfig("size", -1)},
		{"config mediaType missing", MediaTypeOCIManifest, withConfig("mediaType", "")},
		{"config mediaType without slash", MediaTypeOCIManifest, withConfig("mediaType", "json")},
		{"config mediaType with parameters", MediaTypeOCIManifest, withConfig("mediaType", mtConfig+"; charset=utf-8")},
		// Descriptors: layers.
		{"layer digest malformed", MediaTypeOCIManifest, withLayer("digest", "nope")},
		{"layer negative size", MediaTypeOCIManifest, withLayer("size", -9)},
		{"layer bad mediaType", MediaTypeOCIManifest, withLayer("mediaType", "a/b/c")},
		{"layer bad artifactType", MediaTypeOCIManifest, withLayer("artifactType", "not a type")},
		{"layer data longer than size", MediaTypeOCIManifest, withData(sha256Of(data), len(data)-1, data)},
		{"layer data shorter than size", MediaTypeOCIManifest, withData(sha256Of(data), len(data)+1, data)},
		{"layer data not matching digest", MediaTypeOCIManifest, withData(sha256Of([]byte("INLINE")), len(data), data)},
		{"layer data not matching sha512 digest", MediaTypeOCIManifest, withData(digest.SHA512.FromString("INLINE"), len(data), data)},
		{"empty data with a size", MediaTypeOCIManifest, withData(sha256Of(nil), 1, []byte{})},
		// Descriptors: index children and subject.
		{"child digest malformed", MediaTypeOCIIndex, withChild("digest", "sha256:")},
		{"child negative size", MediaTypeOCIIndex, withChild("size", -1)},
		{"child bad mediaType", MediaTypeOCIIndex, withChild("mediaType", "/json")},
		{"child bad artifactType", MediaTypeOCIIndex, withChild("artifactType", "x/")},
		{"subject digest malformed", MediaTypeOCIManifest, withSubject("digest", "sha256:xyz")},
		{"subject negative size", MediaTypeOCIManifest, withSubject("size", -1)},
		{"subject bad mediaType", MediaTypeOCIManifest, withSubject("mediaType", "")},
		{"index subject bad digest", MediaTypeOCIIndex, idx(func(m map[string]any) {
			d := validDesc()
			d["digest"] = "bad"
			m["subject"] = d
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				var opts []Option
				if strict {
					opts = append(opts, WithRequireReferences())
				}
				f := newFixture(t, opts...)
				before := f.s.Snapshot()
				m, err := f.s.PutManifest("app", "v1", tt.ct, tt.body, "also")
				if !errors.Is(err, ErrManifestInvalid) || m != nil {
					t.Errorf("strict=%v: PutManifest = %v, %v; want ErrManifestInvalid\nbody: %s", strict, m, err, tt.body)
				}
				checkUnchanged(t, f.s, before)
			}
			// Validation does not depend on the store.
			if _, err := parseManifest(tt.ct, tt.body); !errors.Is(err, ErrManifestInvalid) {
				t.Errorf("parseManifest error = %v, want ErrManifestInvalid", err)
			}
		})
	}

	// A descriptor's error says which descriptor it is and what is wrong.
	t.Run("messages", func(t *testing.T) {
		for _, tt := range []struct {
			ct   string
			body []byte
			want string
		}{
			{MediaTypeOCIManifest, withConfig("size", -1), "config: negative size"},
			{MediaTypeOCIManifest, withLayer("mediaType", "a/b/c"), `layers[1]: invalid mediaType "a/b/c"`},
			{MediaTypeOCIManifest, withData(sha256Of([]byte("INLINE")), len(data), data), "layers[2]: data does not match digest " + string(sha256Of([]byte("INLINE")))},
			{MediaTypeOCIManifest, withData(sha256Of(data), len(data)+1, data), "layers[2]: data has 6 bytes but size is 7"},
			{MediaTypeOCIIndex, withChild("digest", "sha256:"), `manifests[0]: invalid digest "sha256:"`},
			{MediaTypeOCIIndex, withChild("artifactType", "x/"), `manifests[0]: invalid artifactType "x/"`},
			{MediaTypeOCIManifest, withSubject("mediaType", ""), `subject: invalid mediaType ""`},
		} {
			_, err := parseManifest(tt.ct, tt.body)
			if !errors.Is(err, ErrManifestInvalid) || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("error = %v, want one ending %q", err, tt.want)
			}
		}
	})

	t.Run("valid variants", func(t *testing.T) {
		valid := []struct {
			name string
			ct   string
			body []byte
		}{
			{"trailing whitespace", MediaTypeOCIManifest, append(append([]byte{}, img...), " \r\n\t"...)},
			{"leading whitespace", MediaTypeOCIManifest, append([]byte("\n  "), img...)},
			{"unknown fields", MediaTypeOCIManifest, imgWith(func(m map[string]any) { m["x-extra"] = []any{1, "two"} })},
			{"matching inline data", MediaTypeOCIManifest, withData(sha256Of(data), len(data), data)},
			{"matching inline data, sha512", MediaTypeOCIManifest, withData(digest.SHA512.FromBytes(data), len(data), data)},
			{"empty inline data", MediaTypeOCIManifest, withData(sha256Of(nil), 0, []byte{})},
			{"layer with artifactType", MediaTypeOCIManifest, withLayer("artifactType", mtSBOM)},
			{"restricted-name characters", MediaTypeOCIManifest, withLayer("mediaType", "application/x.a!b#c$d&e-f^g_h+i")},
			{"zero size", MediaTypeOCIManifest, withData(sha256Of(nil), 0, nil)},
			{"subject", MediaTypeOCIManifest, withSubject("artifactType", mtSBOM)},
			{"sha512 subject", MediaTypeOCIManifest, withSubject("digest", string(digest.SHA512.FromString("s")))},
			{"index", MediaTypeOCIIndex, idx(nil)},
			{"Docker list", MediaTypeDockerManifestList, dockerList(nil)},
			{"Docker manifest", MediaTypeDockerManifest, docker(nil)},
		}
		for _, tt := range valid {
			f := newFixture(t)
			if _, err := f.s.PutManifest("app", "v1", tt.ct, tt.body); err != nil {
				t.Errorf("%s: %v\nbody: %s", tt.name, err, tt.body)
			}
		}
	})
}

func TestParseManifest(t *testing.T) {
	f := newFixture(t)
	subject := &ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: sha256Of([]byte("s")), Size: 1}
	nd := ocispec.Descriptor{MediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar", Digest: sha256Of([]byte("nd")), Size: 2}
	foreign := ocispec.Descriptor{MediaType: mediaTypeDockerForeignLayer, Digest: sha256Of([]byte("fl")), Size: 2}
	withURL := ocispec.Descriptor{MediaType: mtLayer, Digest: sha256Of([]byte("u")), Size: 1, URLs: []string{"https://example.com/u"}}
	child := ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: sha256Of([]byte("c")), Size: 1}

	tests := []struct {
		name string
		ct   string
		body []byte
		want parsedManifest
	}{
		{
			name: "image: artifactType from config, external layers left out",
			ct:   MediaTypeOCIManifest,
			body: f.image(t, func(m *ocispec.Manifest) {
				m.Layers = []ocispec.Descriptor{f.layer, nd, foreign, withURL, f.layer2}
				m.Subject = subject
				m.Annotations = map[string]string{"a": "b"}
			}),
			want: parsedManifest{
				mediaType: MediaTypeOCIManifest, artifactType: mtConfig, subject: subject,
				annotations: map[string]string{"a": "b"}, config: &f.config,
				layers: []ocispec.Descriptor{f.layer, f.layer2},
			},
		},
		{
			name: "image: artifactType field wins",
			ct:   "",
			body: f.image(t, func(m *ocispec.Manifest) { m.ArtifactType = mtSBOM; m.Layers = nil }),
			want: parsedManifest{mediaType: MediaTypeOCIManifest, artifactType: mtSBOM, config: &f.config},
		},
		{
			name: "index: artifactType field",
			ct:   "application/json",
			body: index(t, func(ix *ocispec.Index) { ix.ArtifactType = mtSBOM; ix.Subject = subject }, child),
			want: parsedManifest{mediaType: MediaTypeOCIIndex, artifactType: mtSBOM, subject: subject, children: []ocispec.Descriptor{child}},
		},
		{
			name: "index: no artifactType",
			ct:   MediaTypeOCIIndex,
			body: index(t, nil, child),
			want: parsedManifest{mediaType: MediaTypeOCIIndex, children: []ocispec.Descriptor{child}},
		},
		{
			name: "index by shape",
			ct:   "application/octet-stream",
			body: []byte(`{"schemaVersion":2,"manifests":[]}`),
			want: parsedManifest{mediaType: MediaTypeOCIIndex, children: []ocispec.Descriptor{}},
		},
		{
			name: "Docker foreign layer left out",
			ct:   MediaTypeDockerManifest,
			body: mustJSON(t, ocispec.Manifest{
				Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: MediaTypeDockerManifest,
				Config: f.dockerConfig, Layers: []ocispec.Descriptor{foreign, f.dockerLayer},
			}),
			want: parsedManifest{
				mediaType: MediaTypeDockerManifest, artifactType: mtDockerConfig,
				config: &f.dockerConfig, layers: []ocispec.Descriptor{f.dockerLayer},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseManifest(tt.ct, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(parsedManifest{})); diff != "" {
				t.Errorf("parseManifest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidMediaType(t *testing.T) {
	valid := []string{
		"a/b", "application/json", mtLayer, MediaTypeDockerManifestList,
		"A1/B2", "x/y!#$&-^_.+", strings.Repeat("a", 127) + "/" + strings.Repeat("b", 127),
	}
	invalid := []string{
		"", "a", "a/", "/b", "/", "a/b/c", "a//b", " a/b", "a/b ", "a /b", "a/b;x=y", "a/b; x=y",
		".a/b", "a/+b", "-a/b", "a/-b", "ä/b", "a/b\n", strings.Repeat("a", 128) + "/b", "a/" + strings.Repeat("b", 128),
		"a@/b", "a/b*", "a/(b)",
	}
	for _, mt := range valid {
		if !validMediaType(mt) {
			t.Errorf("validMediaType(%q) = false", mt)
		}
	}
	for _, mt := range invalid {
		if validMediaType(mt) {
			t.Errorf("validMediaType(%q) = true", mt)
		}
	}
}

func TestValidName(t *testing.T) {
	valid := []string{
		"a", "0", "library/ubuntu", "a/b/c/d", "a.b", "a_b", "a__b", "a-b", "a--b", "a---b", "a-b.c_d__e",
		"team/app.v2", strings.Repeat("a", MaxNameLength), strings.Repeat("ab/", 84) + "abc",
	}
	invalid := []string{
		"", "A", "aB", "a/", "/a", "a//b", "a___b", "a..b", "a.-b", "a-.b", "-a", "a-", "a_", "a.", "_a",
		"a b", "a:b", "a@b", "a/B", "a/-b", "ä", strings.Repeat("a", MaxNameLength+1),
	}
	for _, n := range valid {
		if !ValidName(n) {
			t.Errorf("ValidName(%q) = false", n)
		}
		if err := checkName(n); err != nil {
			t.Errorf("checkName(%q) = %v", n, err)
		}
	}
	for _, n := range invalid {
		if ValidName(n) {
			t.Errorf("ValidName(%.40q) = true", n)
		}
		if err := checkName(n); !errors.Is(err, ErrNameInvalid) {
			t.Errorf("checkName(%.40q) = %v, want ErrNameInvalid", n, err)
		}
	}
}

func TestValidTag(t *testing.T) {
	valid := []string{"a", "A", "_", "0", "latest", "v1.0.0-rc_1", "__", "a.", "a-", "A" + strings.Repeat("b", 127)}
	invalid := []string{"", "-a", ".a", "a/b", "a:b", "a+b", "a b", "a\n", "ü", "A" + strings.Repeat("b", 128)}
	for _, tag := range valid {
		if !ValidTag(tag) {
			t.Errorf("ValidTag(%q) = false", tag)
		}
	}
	for _, tag := range invalid {
		if ValidTag(tag) {
			t.Errorf("ValidTag(%.40q) = true", tag)
		}
	}
}

func TestParseDigest(t *testing.T) {
	d256 := sha256Of([]byte("x"))
	d512 := digest.SHA512.FromString("x")
	for _, d := range []digest.Digest{d256, d512} {
		got, err := ParseDigest(string(d))
		if err != nil || got != d {
			t.Errorf("ParseDigest(%s) = %s, %v", d, got, err)
		}
	}
	invalid := []string{
		"", "sha256", "sha256:", ":abc", "sha256:abc", string(d256) + "0",
		"sha256:" + strings.ToUpper(d256.Encoded()), "SHA256:" + d256.Encoded(),
		string(digest.SHA384.FromString("x")), "md5:0cc175b9c0f1b6a831c399e269772661",
		"sha512:" + d256.Encoded(), d256.Encoded(), " " + string(d256),
	}
	for _, s := range invalid {
		got, err := ParseDigest(s)
		if !errors.Is(err, ErrDigestInvalid) || got != "" {
			t.Errorf("ParseDigest(%q) = %q, %v; want ErrDigestInvalid", s, got, err)
			continue
		}
		e, _ := AsError(err)
		if diff := cmp.Diff(map[string]string{"digest": s}, e.Detail); diff != "" {
			t.Errorf("ParseDigest(%q) Detail (-want +got):\n%s", s, diff)
		}
	}
	if !SupportedAlgorithm(digest.SHA256) || !SupportedAlgorithm(digest.SHA512) ||
		SupportedAlgorithm(digest.SHA384) || SupportedAlgorithm("") || SupportedAlgorithm("md5") {
		t.Error("SupportedAlgorithm: want exactly sha256 and sha512")
	}
}

func TestIsDigestAndMediaType(t *testing.T) {
	for ref, want := range map[string]bool{
		"latest": false, "v1.0": false, "": false,
		string(sha256Of(nil)): true, "sha256:zz": true, "a:b": true,
	} {
		if got := IsDigest(ref); got != want {
			t.Errorf("IsDigest(%q) = %v", ref, got)
		}
	}
	for mt, want := range map[string]bool{
		MediaTypeOCIManifest: true, MediaTypeOCIIndex: true, MediaTypeDockerManifest: true,
		MediaTypeDockerManifestList: true, "application/json": false, "": false,
		"application/vnd.oci.artifact.manifest.v1+json": false,
		MediaTypeOCIManifest + "; charset=utf-8":        false,
	} {
		if got := IsManifestMediaType(mt); got != want {
			t.Errorf("IsManifestMediaType(%q) = %v", mt, got)
		}
	}
}

func TestErrors(t *testing.T) {
	sentinels := []struct {
		err  *Error
		code Code
	}{
		{ErrBlobUnknown, CodeBlobUnknown},
		{ErrBlobUploadInvalid, CodeBlobUploadInvalid},
		{ErrBlobUploadUnknown, CodeBlobUploadUnknown},
		{ErrDigestInvalid, CodeDigestInvalid},
		{ErrManifestBlobUnknown, CodeManifestBlobUnknown},
		{ErrManifestInvalid, CodeManifestInvalid},
		{ErrManifestUnknown, CodeManifestUnknown},
		{ErrNameInvalid, CodeNameInvalid},
		{ErrNameUnknown, CodeNameUnknown},
		{ErrSizeInvalid, CodeSizeInvalid},
		{ErrUnsupported, CodeUnsupported},
		{ErrRangeInvalid, CodeBlobUploadInvalid},
		{ErrTooLarge, CodeSizeInvalid},
		{ErrTagInvalid, CodeManifestInvalid},
	}
	for i, s := range sentinels {
		if s.err.Code != s.code {
			t.Errorf("%v: Code = %s, want %s", s.err, s.err.Code, s.code)
		}
		if want := string(s.code) + ": " + s.err.Message; s.err.Error() != want {
			t.Errorf("Error() = %q, want %q", s.err.Error(), want)
		}
		if s.err.Kind() != s.err {
			t.Errorf("%v: a sentinel's Kind is not itself", s.err)
		}
		// Sentinels match only themselves, even when codes are shared.
		for j, o := range sentinels {
			if got := errors.Is(s.err, o.err); got != (i == j) {
				t.Errorf("errors.Is(%v, %v) = %v", s.err, o.err, got)
			}
		}

		derived := errorf(s.err, "specific %d", 7)
		if derived.Code != s.code || derived.Message != "specific 7" || derived.Kind() != s.err {
			t.Errorf("errorf(%v) = %#v", s.err, derived)
		}
		if got, want := derived.Error(), string(s.code)+": specific 7"; got != want {
			t.Errorf("derived Error() = %q, want %q", got, want)
		}
		wrapped := fmt.Errorf("handler: %w", derived)
		for j, o := range sentinels {
			if got := errors.Is(wrapped, o.err); got != (i == j) {
				t.Errorf("errors.Is(wrapped %v, %v) = %v", s.err, o.err, got)
			}
		}
		if e, ok := AsError(wrapped); !ok || e != derived {
			t.Errorf("AsError(wrapped) = %v, %v", e, ok)
		}
		dd := withDetail(s.err, map[string]int{"n": 1}, "with %s", "detail")
		if dd.Kind() != s.err || dd.Message != "with detail" || cmp.Diff(map[string]int{"n": 1}, dd.Detail) != "" {
			t.Errorf("withDetail = %#v", dd)
		}
	}

	if got := (&Error{Code: CodeDenied}).Error(); got != "DENIED" {
		t.Errorf("Error() without message = %q", got)
	}
	if (&Error{Code: CodeDenied}).Is(io.EOF) {
		t.Error("an *Error matches io.EOF")
	}
	if errors.Is(io.EOF, ErrBlobUnknown) {
		t.Error("io.EOF matches ErrBlobUnknown")
	}
	// A hand-made error with a sentinel's code is not that sentinel.
	if errors.Is(&Error{Code: CodeBlobUnknown, Message: ErrBlobUnknown.Message}, ErrBlobUnknown) {
		t.Error("a look-alike error matches ErrBlobUnknown")
	}
	for _, err := range []error{nil, io.EOF, fmt.Errorf("x: %w", io.EOF)} {
		if e, ok := AsError(err); ok || e != nil {
			t.Errorf("AsError(%v) = %v, %v", err, e, ok)
		}
	}
}

// TestStoreErrorsAreDerived checks that the errors the store returns are
// derived from the sentinels (matching with errors.Is, carrying their
// code) rather than being the sentinels themselves, and say what happened.
func TestStoreErrorsAreDerived(t *testing.T) {
	f := newFixture(t)
	u := mustStart(t, f.s, "app", "")
	mustAppend(t, f.s, "app", u.ID, "abc")
	tests := []struct {
		name string
		err  error
		want *Error
	}{
		{"blob unknown", func() error { _, err := f.s.Blob("app", sha256Of(nil)); return err }(), ErrBlobUnknown},
		{"name invalid", func() error { _, err := f.s.PutBlob("A", "", strings.NewReader(""), 0); return err }(), ErrNameInvalid},
		{"upload unknown", func() error { _, err := f.s.Upload("app", "x"); return err }(), ErrBlobUploadUnknown},
		{"range invalid", func() error { _, err := f.s.AppendUpload("app", u.ID, 0, strings.NewReader("x"), 1); return err }(), ErrRangeInvalid},
		{"digest invalid", func() error { _, err := f.s.PutBlob("app", sha256Of(nil), strings.NewReader("x"), 1); return err }(), ErrDigestInvalid},
		{"size invalid", func() error { _, err := f.s.PutBlob("app", "", strings.NewReader("x"), 2); return err }(), ErrSizeInvalid},
		{"manifest unknown", func() error { _, err := f.s.Manifest("app", "nope"); return err }(), ErrManifestUnknown},
		{"name unknown", func() error { _, err := f.s.Manifest("ghost", "nope"); return err }(), ErrNameUnknown},
		{"manifest invalid", func() error { _, err := f.s.PutManifest("app", "v1", "", []byte("{")); return err }(), ErrManifestInvalid},
		{"tag invalid", func() error { _, err := f.s.PutManifest("app", "-v1", "", f.image(t, nil)); return err }(), ErrTagInvalid},
	}
	for _, tt := range tests {
		e, ok := AsError(tt.err)
		if !ok {
			t.Errorf("%s: %v is not an *Error", tt.name, tt.err)
			continue
		}
		if e == tt.want {
			t.Errorf("%s: the sentinel itself was returned", tt.name)
		}
		if e.Kind() != tt.want || e.Code != tt.want.Code || !errors.Is(e, tt.want) {
			t.Errorf("%s: error %v (kind %v), want one derived from %v", tt.name, e, e.Kind(), tt.want)
		}
		if e.Message == "" || e.Message == tt.want.Message {
			t.Errorf("%s: message %q is not specific", tt.name, e.Message)
		}
	}
}
