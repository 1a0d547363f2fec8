package memstore_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
)

// configJSON is an image config blob, as a client would push it.
const configJSON = `{"architecture":"amd64","os":"linux"}`

// pushImage pushes the config and an image manifest tagged tag into repo
// and returns the manifest.
func pushImage(s *memstore.Store, repo, tag string) *memstore.Manifest {
	cfg, err := s.PutBlob(repo, "", strings.NewReader(configJSON), int64(len(configJSON)))
	if err != nil {
		panic(err)
	}
	m, err := s.PutManifest(repo, tag, "application/vnd.oci.image.manifest.v1+json", []byte(imageManifest(cfg, "")))
	if err != nil {
		panic(err)
	}
	return m
}

// imageManifest is an image manifest over cfg with an optional subject.
func imageManifest(cfg memstore.BlobInfo, subject string) string {
	s := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + string(cfg.Digest) +
		`","size":` + fmt.Sprint(cfg.Size) + `},"layers":[]`
	if subject != "" {
		s += `,"subject":` + subject
	}
	return s + `}`
}

func ExampleNew() {
	s := memstore.New(
		memstore.WithMaxManifestSize(1<<20),
		memstore.WithRequireReferences(),
	)
	fmt.Println(s.MaxManifestSize())
	fmt.Println(s.RepositoryExists("team/app"))

	pushImage(s, "team/app", "v1")
	fmt.Println(s.RepositoryExists("team/app"))
	repos, more := s.Repositories("", -1)
	fmt.Println(repos, more)

	snap := s.Snapshot()
	fmt.Println(len(snap.Blobs), "blob,", len(snap.Repositories["team/app"].Manifests), "manifest")
	// Output:
	// 1048576
	// false
	// true
	// [team/app] false
	// 1 blob, 1 manifest
}

func ExampleStore_PutBlob() {
	s := memstore.New()
	data := "hello, registry"

	// Without a digest the blob is addressed by its sha256 digest.
	info, err := s.PutBlob("team/app", "", strings.NewReader(data), int64(len(data)))
	if err != nil {
		panic(err)
	}
	fmt.Println(info.Digest, info.Size)

	// With a digest, the bytes must match it; sha512 works too.
	d512 := digest.SHA512.FromString(data)
	info, err = s.PutBlob("team/app", d512, strings.NewReader(data), -1)
	fmt.Println(info.Digest == d512, err)

	_, err = s.PutBlob("team/app", digest.FromString("something else"), strings.NewReader(data), -1)
	fmt.Println(errors.Is(err, memstore.ErrDigestInvalid))

	// Blobs are visible only in the repositories they were pushed or mounted to.
	c, _ := s.Blob("team/app", digest.FromString(data))
	fmt.Printf("%s\n", c.Bytes())
	_, err = s.Blob("team/other", digest.FromString(data))
	fmt.Println(errors.Is(err, memstore.ErrBlobUnknown))
	if _, err := s.MountBlob("team/other", "team/app", digest.FromString(data)); err == nil {
		fmt.Println("mounted")
	}
	// Output:
	// sha256:d4ceac3b8b759b17b86618c4165bb23a506c157c81a034147cf8e3510691aa1c 15
	// true <nil>
	// true
	// hello, registry
	// true
	// mounted
}

func ExampleStore_PutManifest() {
	s := memstore.New()
	cfg, _ := s.PutBlob("team/app", "", strings.NewReader(configJSON), -1)
	body := imageManifest(cfg, "")

	// Push by tag, with two more tags (the ?tag= parameters).
	m, err := s.PutManifest("team/app", "v1", "application/vnd.oci.image.manifest.v1+json", []byte(body), "latest", "stable")
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Digest)
	fmt.Println(m.MediaType)

	// The manifest is found by tag and by digest, as the exact bytes pushed.
	byTag, _ := s.Manifest("team/app", "latest")
	byDigest, _ := s.Manifest("team/app", string(m.Digest))
	fmt.Println(string(byTag.Content) == body, byDigest == byTag)

	// A manifest whose config was never pushed is refused, and nothing changes.
	missing := imageManifest(memstore.BlobInfo{Digest: digest.FromString("nope"), Size: 4}, "")
	_, err = s.PutManifest("team/app", "v2", "application/vnd.oci.image.manifest.v1+json", []byte(missing))
	fmt.Println(errors.Is(err, memstore.ErrManifestBlobUnknown))
	if e, ok := memstore.AsError(err); ok {
		fmt.Println(e.Code)
	}
	// Output:
	// sha256:746149bd040cb1d72951d8d48cda127c207afbe17ffc8fcc793124006084f144
	// application/vnd.oci.image.manifest.v1+json
	// true true
	// true
	// MANIFEST_BLOB_UNKNOWN
}

func ExampleStore_Tags() {
	s := memstore.New()
	m := pushImage(s, "team/app", "v1")
	for _, tag := range []string{"v2", "latest", "v10", "beta"} {
		if _, err := s.PutManifest("team/app", tag, m.MediaType, m.Content); err != nil {
			panic(err)
		}
	}

	// All tags, in lexical order.
	tags, more, _ := s.Tags("team/app", "", -1)
	fmt.Println(tags, more)

	// Two at a time, each page starting after the last tag of the previous one.
	last := ""
	for {
		page, more, _ := s.Tags("team/app", last, 2)
		fmt.Println(page, more)
		if !more {
			break
		}
		last = page[len(page)-1]
	}

	_, _, err := s.Tags("team/none", "", -1)
	fmt.Println(errors.Is(err, memstore.ErrNameUnknown))
	// Output:
	// [beta latest v1 v10 v2] false
	// [beta latest] true
	// [v1 v10] true
	// [v2] false
	// true
}

func ExampleStore_Referrers() {
	s := memstore.New()
	img := pushImage(s, "team/app", "v1")
	subject := fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d}`, img.MediaType, img.Digest, len(img.Content))

	// An SBOM artifact: an empty config, an artifactType and the image as subject.
	empty, _ := s.PutBlob("team/app", "", strings.NewReader("{}"), 2)
	sbom := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"artifactType":"application/vnd.example.sbom.v1",` +
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + string(empty.Digest) + `","size":2},` +
		`"layers":[],"subject":` + subject + `,"annotations":{"org.example.format":"spdx"}}`
	m, err := s.PutManifest("team/app", string(digest.FromString(sbom)), "application/vnd.oci.image.manifest.v1+json", []byte(sbom))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Subject.Digest == img.Digest)

	// A signature without artifactType: the config's media type stands in.
	sigCfg, _ := s.PutBlob("team/app", "", strings.NewReader(`{"sig":true}`), -1)
	sig := strings.Replace(imageManifest(sigCfg, subject), "application/vnd.oci.image.config.v1+json", "application/vnd.example.signature.v1", 1)
	if _, err := s.PutManifest("team/app", "sig", "", []byte(sig)); err != nil {
		panic(err)
	}

	for _, d := range s.Referrers("team/app", img.Digest, "") {
		fmt.Println(d.ArtifactType, d.Annotations)
	}
	fmt.Println(len(s.Referrers("team/app", img.Digest, "application/vnd.example.sbom.v1")))
	fmt.Println(len(s.Referrers("team/none", img.Digest, "")))
	// Output:
	// true
	// application/vnd.example.sbom.v1 map[org.example.format:spdx]
	// application/vnd.example.signature.v1 map[]
	// 1
	// 0
}

func ExampleStore_StartUpload() {
	s := memstore.New()
	u, _ := s.StartUpload("team/app", "")
	fmt.Println(u.ID)

	// Chunks must arrive in order; each names the offset it starts at.
	s.AppendUpload("team/app", u.ID, 0, strings.NewReader("hello, "), 7)
	_, err := s.AppendUpload("team/app", u.ID, 0, strings.NewReader("again"), 5)
	fmt.Println(errors.Is(err, memstore.ErrRangeInvalid))

	// The last chunk can come with the completion, which checks the digest.
	info, err := s.CompleteUpload("team/app", u.ID, digest.FromString("hello, registry"), 7, strings.NewReader("registry"), -1)
	fmt.Println(info.Size, err)
	// Output:
	// 00000000-0000-4000-8000-000000000001
	// true
	// 15 <nil>
}
