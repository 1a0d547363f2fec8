package memstore

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
)

// Shared helpers for the package's tests.

// mustPutBlob pushes data into repo and returns its sha256 digest.
func mustPutBlob(t testing.TB, s *Store, repo string, data []byte) digest.Digest {
	t.Helper()
	info, err := s.PutBlob(repo, "", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("PutBlob(%q): %v", repo, err)
	}
	return info.Digest
}

// checkUnchanged fails the test if the store's state differs from before.
func checkUnchanged(t testing.TB, s *Store, before Snapshot) {
	t.Helper()
	if diff := cmp.Diff(before, s.Snapshot()); diff != "" {
		t.Errorf("store changed (-before +after):\n%s", diff)
	}
}

// checkErr fails the test unless err is (derived from) want.
func checkErr(t testing.TB, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("error = %v, want %v", err, want)
	}
}

// blobBytes reads blob d of repo, failing the test if it is not there.
func blobBytes(t testing.TB, s *Store, repo string, d digest.Digest) []byte {
	t.Helper()
	c, err := s.Blob(repo, d)
	if err != nil {
		t.Fatalf("Blob(%q, %s): %v", repo, d, err)
	}
	return c.Bytes()
}

// linksOf returns the link count of blob d, -1 if it is not stored.
func linksOf(s *Store, d digest.Digest) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.blobs[d]; e != nil {
		return e.links
	}
	return -1
}

func TestPutBlob(t *testing.T) {
	data := []byte("layer bytes")
	sha256d := digest.SHA256.FromBytes(data)
	sha512d := digest.SHA512.FromBytes(data)
	tests := []struct {
		name string
		d    digest.Digest
		size int64
		want digest.Digest
	}{
		{"no digest, known size", "", int64(len(data)), sha256d},
		{"no digest, unknown size", "", -1, sha256d},
		{"sha256, known size", sha256d, int64(len(data)), sha256d},
		{"sha256, unknown size", sha256d, -1, sha256d},
		{"sha512, known size", sha512d, int64(len(data)), sha512d},
		{"sha512, unknown size", sha512d, -1, sha512d},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			info, err := s.PutBlob("team/app", tt.d, bytes.NewReader(data), tt.size)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(BlobInfo{Digest: tt.want, Size: int64(len(data))}, info); diff != "" {
				t.Errorf("PutBlob info (-want +got):\n%s", diff)
			}
			if got := blobBytes(t, s, "team/app", tt.want); !bytes.Equal(got, data) {
				t.Errorf("Blob = %q, want %q", got, data)
			}
			st, err := s.StatBlob("team/app", tt.want)
			if err != nil || st != info {
				t.Errorf("StatBlob = %+v, %v; want %+v", st, err, info)
			}
			want := Snapshot{
				Blobs: map[digest.Digest]int64{tt.want: int64(len(data))},
				Repositories: map[string]RepositorySnapshot{"team/app": {
					Blobs:     []digest.Digest{tt.want},
					Manifests: []digest.Digest{},
					Tags:      map[string]digest.Digest{},
					Referrers: map[digest.Digest][]digest.Digest{},
				}},
				Uploads: map[string]UploadInfo{},
			}
			if diff := cmp.Diff(want, s.Snapshot()); diff != "" {
				t.Errorf("Snapshot (-want +got):\n%s", diff)
			}
			// The other algorithm's digest does not address the blob.
			other := sha512d
			if tt.want == sha512d {
				other = sha256d
			}
			if _, err := s.Blob("team/app", other); !errors.Is(err, ErrBlobUnknown) {
				t.Errorf("Blob by the other digest: error = %v, want ErrBlobUnknown", err)
			}
		})
	}
}

func TestPutBlobEmpty(t *testing.T) {
	s := New()
	info, err := s.PutBlob("app", "", bytes.NewReader(nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Digest != digest.SHA256.FromBytes(nil) || info.Size != 0 {
		t.Errorf("PutBlob(empty) = %+v", info)
	}
	if got := blobBytes(t, s, "app", info.Digest); len(got) != 0 {
		t.Errorf("empty blob reads %q", got)
	}
}

func TestPutBlobErrors(t *testing.T) {
	data := []byte("some blob")
	other := digest.SHA256.FromString("other")
	tests := []struct {
		name string
		repo string
		d    digest.Digest
		body func() *bytes.Reader
		size int64
		opts []Option
		want error
	}{
		{"sha256 mismatch", "app", other, nil, -1, nil, ErrDigestInvalid},
		{"sha256 mismatch, known size", "app", other, nil, int64(len(data)), nil, ErrDigestInvalid},
		{"sha512 mismatch", "app", digest.SHA512.FromString("other"), nil, -1, nil, ErrDigestInvalid},
		{"mismatch into a new repo", "fresh", other, nil, -1, nil, ErrDigestInvalid},
		{"sha384 unsupported", "app", digest.SHA384.FromBytes(data), nil, -1, nil, ErrDigestInvalid},
		{"unknown algorithm", "app", "md5:0cc175b9c0f1b6a831c399e269772661", nil, -1, nil, ErrDigestInvalid},
		{"malformed hex", "app", "sha256:XYZ", nil, -1, nil, ErrDigestInvalid},
		{"no algorithm", "app", digest.Digest(sha256Of(data).Encoded()), nil, -1, nil, ErrDigestInvalid},
		{"upper-case name", "App", "", nil, -1, nil, ErrNameInvalid},
		{"empty name", "", "", nil, -1, nil, ErrNameInvalid},
		{"double slash", "a//b", "", nil, -1, nil, ErrNameInvalid},
		{"trailing slash", "a/", "", nil, -1, nil, ErrNameInvalid},
		{"too long name", strings.Repeat("a", MaxNameLength+1), "", nil, -1, nil, ErrNameInvalid},
		{"short body", "app", "", nil, int64(len(data)) + 1, nil, ErrSizeInvalid},
		{"long body", "app", "", nil, int64(len(data)) - 1, nil, ErrSizeInvalid},
		{"over the limit, known size", "app", "", nil, int64(len(data)), []Option{WithMaxBlobSize(4)}, ErrTooLarge},
		{"over the limit, unknown size", "app", "", nil, -1, []Option{WithMaxBlobSize(4)}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.opts...)
			mustPutBlob(t, s, "app", []byte("x"))
			before := s.Snapshot()
			info, err := s.PutBlob(tt.repo, tt.d, bytes.NewReader(data), tt.size)
			checkErr(t, err, tt.want)
			if info != (BlobInfo{}) {
				t.Errorf("failed PutBlob returned info %+v", info)
			}
			checkUnchanged(t, s, before)
			if tt.repo == "fresh" && s.RepositoryExists("fresh") {
				t.Error("a failed push created its repository")
			}
		})
	}

	t.Run("reader error", func(t *testing.T) {
		s := New()
		before := s.Snapshot()
		for _, size := range []int64{-1, 100} {
			_, err := s.PutBlob("app", "", &failingReader{data: data, err: errBoom}, size)
			checkErr(t, err, ErrBlobUploadInvalid)
		}
		checkUnchanged(t, s, before)
	})

	t.Run("mismatch details", func(t *testing.T) {
		s := New()
		_, err := s.PutBlob("app", other, bytes.NewReader(data), -1)
		e, ok := AsError(err)
		if !ok {
			t.Fatalf("error %v is not an *Error", err)
		}
		want := map[string]string{"expected": string(other), "computed": string(sha256Of(data))}
		if diff := cmp.Diff(want, e.Detail); diff != "" {
			t.Errorf("Detail (-want +got):\n%s", diff)
		}
	})
}

func TestBlobVisibilityPerRepository(t *testing.T) {
	s := New()
	d := mustPutBlob(t, s, "a", []byte("only in a"))
	if _, err := s.Blob("a", d); err != nil {
		t.Errorf("Blob(a): %v", err)
	}
	mustPutBlob(t, s, "b", []byte("something else"))
	for _, repo := range []string{"b", "missing", "a/sub"} {
		if _, err := s.Blob(repo, d); !errors.Is(err, ErrBlobUnknown) {
			t.Errorf("Blob(%q) error = %v, want ErrBlobUnknown", repo, err)
		}
		if _, err := s.StatBlob(repo, d); !errors.Is(err, ErrBlobUnknown) {
			t.Errorf("StatBlob(%q) error = %v, want ErrBlobUnknown", repo, err)
		}
	}
}

func TestPutBlobDedupe(t *testing.T) {
	s := New()
	data := []byte("same bytes")
	d := mustPutBlob(t, s, "a", data)
	first, _ := s.Blob("a", d)

	// Same repo again: nothing new, the first bytes are kept.
	if d2 := mustPutBlob(t, s, "a", data); d2 != d {
		t.Fatalf("digest changed: %s vs %s", d2, d)
	}
	// Another repo, pushed with unknown length: stored once, linked twice.
	if _, err := s.PutBlob("b", d, bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	if got := linksOf(s, d); got != 2 {
		t.Errorf("links = %d, want 2", got)
	}
	for _, repo := range []string{"a", "b"} {
		c, err := s.Blob(repo, d)
		if err != nil {
			t.Fatal(err)
		}
		if c != first {
			t.Errorf("repo %s sees a second copy of the bytes", repo)
		}
	}
	if diff := cmp.Diff(map[digest.Digest]int64{d: int64(len(data))}, s.Snapshot().Blobs); diff != "" {
		t.Errorf("Snapshot().Blobs (-want +got):\n%s", diff)
	}
}

func TestMountBlob(t *testing.T) {
	data := []byte("mountable")
	setup := func(t *testing.T) (*Store, digest.Digest) {
		s := New()
		d := mustPutBlob(t, s, "src", data)
		mustPutBlob(t, s, "other", []byte("other bytes"))
		return s, d
	}
	want := BlobInfo{Digest: sha256Of(data), Size: int64(len(data))}

	for name, from := range map[string]string{"from a repository": "src", "anonymous": ""} {
		t.Run(name, func(t *testing.T) {
			s, d := setup(t)
			info, err := s.MountBlob("dst", from, d)
			if err != nil {
				t.Fatal(err)
			}
			if info != want {
				t.Errorf("MountBlob = %+v, want %+v", info, want)
			}
			if got := blobBytes(t, s, "dst", d); !bytes.Equal(got, data) {
				t.Errorf("mounted blob reads %q", got)
			}
			if got := linksOf(s, d); got != 2 {
				t.Errorf("links = %d, want 2", got)
			}
			// Mounting again changes nothing.
			before := s.Snapshot()
			if _, err := s.MountBlob("dst", from, d); err != nil {
				t.Fatal(err)
			}
			checkUnchanged(t, s, before)
			if got := linksOf(s, d); got != 2 {
				t.Errorf("links after a second mount = %d, want 2", got)
			}
			// The source is not affected.
			if _, err := s.Blob("src", d); err != nil {
				t.Errorf("source lost the blob: %v", err)
			}
		})
	}

	t.Run("mount into itself", func(t *testing.T) {
		s, d := setup(t)
		before := s.Snapshot()
		if _, err := s.MountBlob("src", "src", d); err != nil {
			t.Fatal(err)
		}
		checkUnchanged(t, s, before)
		if got := linksOf(s, d); got != 1 {
			t.Errorf("links = %d, want 1", got)
		}
	})

	errTests := []struct {
		name     string
		dst, src string
		d        digest.Digest
		want     error
	}{
		{"blob nowhere", "dst", "src", sha256Of([]byte("nope")), ErrBlobUnknown},
		{"blob nowhere, anonymous", "dst", "", sha256Of([]byte("nope")), ErrBlobUnknown},
		{"blob not in source", "dst", "other", sha256Of(data), ErrBlobUnknown},
		{"source does not exist", "dst", "ghost", sha256Of(data), ErrBlobUnknown},
		{"invalid target", "DST", "src", sha256Of(data), ErrNameInvalid},
		{"empty digest", "dst", "src", "", ErrBlobUnknown},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			s, d := setup(t)
			before := s.Snapshot()
			_, err := s.MountBlob(tt.dst, tt.src, tt.d)
			checkErr(t, err, tt.want)
			checkUnchanged(t, s, before)
			if s.RepositoryExists(tt.dst) {
				t.Errorf("failed mount created repository %q", tt.dst)
			}
			if got := linksOf(s, d); got != 1 {
				t.Errorf("links = %d, want 1", got)
			}
		})
	}
}

func TestDeleteBlob(t *testing.T) {
	s := New()
	data := []byte("shared")
	d := mustPutBlob(t, s, "a", data)
	if _, err := s.MountBlob("b", "a", d); err != nil {
		t.Fatal(err)
	}
	keep := mustPutBlob(t, s, "a", []byte("unrelated"))

	if err := s.DeleteBlob("a", d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Blob("a", d); !errors.Is(err, ErrBlobUnknown) {
		t.Errorf("Blob(a) after delete: error = %v, want ErrBlobUnknown", err)
	}
	if got := blobBytes(t, s, "b", d); !bytes.Equal(got, data) {
		t.Errorf("Blob(b) = %q after deleting from a", got)
	}
	snap := s.Snapshot()
	if _, ok := snap.Blobs[d]; !ok {
		t.Error("bytes freed while b still links them")
	}
	if got := linksOf(s, d); got != 1 {
		t.Errorf("links = %d, want 1", got)
	}

	// Deleting twice, or from a repo that never had it, changes nothing.
	before := s.Snapshot()
	for _, repo := range []string{"a", "ghost"} {
		checkErr(t, s.DeleteBlob(repo, d), ErrBlobUnknown)
	}
	checkUnchanged(t, s, before)

	if err := s.DeleteBlob("b", d); err != nil {
		t.Fatal(err)
	}
	snap = s.Snapshot()
	if _, ok := snap.Blobs[d]; ok {
		t.Error("bytes kept after the last link went")
	}
	if diff := cmp.Diff(map[digest.Digest]int64{keep: 9}, snap.Blobs); diff != "" {
		t.Errorf("Snapshot().Blobs (-want +got):\n%s", diff)
	}
	if got := linksOf(s, d); got != -1 {
		t.Errorf("blob entry still there with %d links", got)
	}
	// The repositories remain; only the link is gone.
	if diff := cmp.Diff([]digest.Digest{}, snap.Repositories["b"].Blobs); diff != "" {
		t.Errorf("b's blobs (-want +got):\n%s", diff)
	}

	// After being freed, the blob can be pushed again, and an anonymous
	// mount no longer finds it before that.
	checkErr(t, func() error { _, err := s.MountBlob("c", "", d); return err }(), ErrBlobUnknown)
	mustPutBlob(t, s, "b", data)
	if got := linksOf(s, d); got != 1 {
		t.Errorf("links after re-push = %d, want 1", got)
	}
}
