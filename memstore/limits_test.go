package memstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// Helpers of this file are prefixed "lim" so they cannot clash with the
// helpers other test files of the package define.

// limClock is a settable clock for WithClock.
type limClock struct {
	mu  sync.Mutex
	now time.Time
}

func newLimClock() *limClock { return &limClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *limClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *limClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// limEndless is a body that never ends.
type limEndless struct{ n atomic.Int64 }

var limXs = bytes.Repeat([]byte("x"), 32<<10)

func (r *limEndless) Read(p []byte) (int, error) {
	n := copy(p, limXs)
	r.n.Add(int64(n))
	return n, nil
}

// limWantUsage checks the store's byte accounting against what it holds:
// every stored blob once, every repository's manifests, every open
// session's bytes. The store must be quiescent.
func limWantUsage(t testing.TB, s *Store, wantBytes int64, wantUploads int) {
	t.Helper()
	snap := s.Snapshot()
	var held int64
	for _, n := range snap.Blobs {
		held += n
	}
	for name, rs := range snap.Repositories {
		for _, d := range rs.Manifests {
			m, err := s.Manifest(name, string(d))
			if err != nil {
				t.Fatalf("manifest %s of %s: %v", d, name, err)
			}
			held += int64(len(m.Content))
		}
	}
	for _, u := range snap.Uploads {
		held += u.Size
	}
	got := s.Usage()
	if got.Bytes != held {
		t.Errorf("Usage().Bytes = %d, but the store holds %d", got.Bytes, held)
	}
	if wantBytes >= 0 && got.Bytes != wantBytes {
		t.Errorf("Usage().Bytes = %d, want %d", got.Bytes, wantBytes)
	}
	if got.Uploads != len(snap.Uploads) {
		t.Errorf("Usage().Uploads = %d, snapshot has %d sessions", got.Uploads, len(snap.Uploads))
	}
	if wantUploads >= 0 && got.Uploads != wantUploads {
		t.Errorf("Usage().Uploads = %d, want %d", got.Uploads, wantUploads)
	}
}

// limWantCode checks that err is kind with the given OCI code.
func limWantCode(t testing.TB, err error, kind *Error, code Code) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want %v", err, kind)
	}
	if e, ok := AsError(err); !ok || e.Code != code {
		t.Errorf("error %v has code %v, want %s", err, e, code)
	}
}

func TestLimitsDefaults(t *testing.T) {
	s := New()
	if got := s.MaxBlobSize(); DefaultMaxBlobSize != 1<<30 || got != DefaultMaxBlobSize {
		t.Errorf("MaxBlobSize = %d, want 1 GiB", got)
	}
	if got := s.MaxStoreBytes(); DefaultMaxStoreBytes != 4<<30 || got != DefaultMaxStoreBytes {
		t.Errorf("MaxStoreBytes = %d, want 4 GiB", got)
	}
	if got := s.MaxUploads(); DefaultMaxUploads != 1000 || got != DefaultMaxUploads {
		t.Errorf("MaxUploads = %d, want 1000", got)
	}
	if got := s.MaxManifestSize(); got != DefaultMaxManifestSize {
		t.Errorf("MaxManifestSize = %d", got)
	}
	limWantUsage(t, s, 0, 0)

	// The default blob limit is in force: a declared length past it is
	// refused before a byte is read.
	body := &limEndless{}
	_, err := s.PutBlob("app", "", body, DefaultMaxBlobSize+1)
	limWantCode(t, err, ErrTooLarge, CodeSizeInvalid)
	if body.n.Load() != 0 {
		t.Errorf("%d bytes read from a body declared over the limit", body.n.Load())
	}
	info := mustStart(t, s, "app", "")
	_, err = s.AppendUpload("app", info.ID, -1, body, DefaultMaxBlobSize+1)
	limWantCode(t, err, ErrTooLarge, CodeSizeInvalid)

	// Zero (or less) removes each limit.
	s = New(WithMaxBlobSize(0), WithMaxStoreBytes(-1), WithMaxUploads(0))
	if s.MaxBlobSize() != 0 || s.MaxStoreBytes() != 0 || s.MaxUploads() != 0 {
		t.Errorf("limits = %d, %d, %d; want none", s.MaxBlobSize(), s.MaxStoreBytes(), s.MaxUploads())
	}
	for i := 0; i < DefaultMaxUploads+5; i++ {
		mustStart(t, s, "app", "")
	}
	big := bytes.Repeat([]byte("b"), 3<<20)
	if _, err := s.PutBlob("app", "", bytes.NewReader(big), -1); err != nil {
		t.Errorf("unlimited store: %v", err)
	}
}

// An endless body is cut off with ErrTooLarge (blob limit) or ErrStoreFull
// (store limit), whichever comes first; nothing is stored and nothing stays
// charged.
func TestLimitsEndlessBody(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		kind *Error
	}{
		{"blob limit", []Option{WithMaxBlobSize(1 << 20)}, ErrTooLarge},
		{"store limit", []Option{WithMaxBlobSize(0), WithMaxStoreBytes(1 << 20)}, ErrStoreFull},
		{"blob limit under the store limit", []Option{WithMaxBlobSize(1 << 20), WithMaxStoreBytes(2 << 20)}, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.opts...)
			mustPutBlob(t, s, "app", []byte("existing"))
			info := mustStart(t, s, "app", "")
			mustAppend(t, s, "app", info.ID, "hello")
			before := s.Snapshot()
			used := s.Usage().Bytes

			body := &limEndless{}
			_, err := s.PutBlob("app", "", body, -1)
			limWantCode(t, err, tc.kind, CodeSizeInvalid)
			if n := body.n.Load(); n > 3<<20 {
				t.Errorf("read %d bytes of an endless body before refusing it", n)
			}
			_, err = s.PutBlob("app", digest.FromString("x"), &limEndless{}, -1)
			limWantCode(t, err, tc.kind, CodeSizeInvalid)
			_, err = s.AppendUpload("app", info.ID, -1, &limEndless{}, -1)
			limWantCode(t, err, tc.kind, CodeSizeInvalid)
			_, err = s.CompleteUpload("app", info.ID, digest.FromString("x"), -1, &limEndless{}, -1)
			limWantCode(t, err, tc.kind, CodeSizeInvalid)

			checkUnchanged(t, s, before)
			limWantUsage(t, s, used, 1)
			// The session still works.
			mustAppend(t, s, "app", info.ID, " world")
			if _, err := s.CompleteUpload("app", info.ID, digest.FromString("hello world"), -1, nil, 0); err != nil {
				t.Fatal(err)
			}
			limWantUsage(t, s, -1, 0)
		})
	}
}

// A session that reached the blob limit refuses any further byte without
// reading more than one.
func TestLimitsFullSession(t *testing.T) {
	s := New(WithMaxBlobSize(4))
	info := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", info.ID, "abcd")
	body := &limEndless{}
	_, err := s.AppendUpload("app", info.ID, -1, body, -1)
	limWantCode(t, err, ErrTooLarge, CodeSizeInvalid)
	if n := body.n.Load(); n > 64<<10 {
		t.Errorf("read %d bytes into a full session", n)
	}
	if !strings.Contains(err.Error(), "limit of 4 bytes") {
		t.Errorf("error %q does not name the limit", err)
	}
	// An empty chunk is still allowed.
	if _, err := s.AppendUpload("app", info.ID, -1, strings.NewReader(""), 0); err != nil {
		t.Errorf("empty chunk: %v", err)
	}
	if _, err := s.AppendUpload("app", info.ID, -1, strings.NewReader(""), -1); err != nil {
		t.Errorf("empty streamed chunk: %v", err)
	}
	s2 := New(WithMaxBlobSize(6))
	info2 := mustStart(t, s2, "app", "")
	mustAppend(t, s2, "app", info2.ID, "abcd")
	_, err = s2.AppendUpload("app", info2.ID, -1, strings.NewReader("efg"), -1)
	limWantCode(t, err, ErrTooLarge, CodeSizeInvalid)
	if !strings.Contains(err.Error(), "limit of 6 bytes") {
		t.Errorf("error %q does not name the limit", err)
	}
	limWantUsage(t, s, 4, 1)
	limWantUsage(t, s2, 4, 1)
}

func TestLimitsMaxUploads(t *testing.T) {
	s := New(WithMaxUploads(3))
	var ids []string
	for range 3 {
		ids = append(ids, mustStart(t, s, "app", "").ID)
	}
	mustAppend(t, s, "app", ids[0], "abc")
	before := s.Snapshot()
	_, err := s.StartUpload("app", "")
	limWantCode(t, err, ErrTooManyUploads, CodeTooManyRequests)
	if !strings.Contains(err.Error(), "3 upload sessions") {
		t.Errorf("error %q does not say how many sessions are open", err)
	}
	e, _ := AsError(err)
	if fmt.Sprint(e.Detail) != "map[limit:3]" {
		t.Errorf("detail = %v", e.Detail)
	}
	_, err = s.StartUpload("other", digest.SHA512)
	limWantCode(t, err, ErrTooManyUploads, CodeTooManyRequests)
	checkUnchanged(t, s, before)

	// Open sessions are unaffected.
	mustAppend(t, s, "app", ids[0], "def")
	if _, err := s.CompleteUpload("app", ids[0], digest.FromString("abcdef"), -1, nil, 0); err != nil {
		t.Fatal(err)
	}
	// Completing one made room for one.
	id4 := mustStart(t, s, "app", "").ID
	_, err = s.StartUpload("app", "")
	limWantCode(t, err, ErrTooManyUploads, CodeTooManyRequests)
	// So does cancelling one.
	if err := s.CancelUpload("app", ids[1]); err != nil {
		t.Fatal(err)
	}
	mustStart(t, s, "app", "")
	// A refused digest check leaves the session open: still no room.
	if _, err := s.CompleteUpload("app", id4, digest.FromString("nope"), -1, strings.NewReader("x"), 1); !errors.Is(err, ErrDigestInvalid) {
		t.Fatalf("complete with a wrong digest: %v", err)
	}
	_, err = s.StartUpload("app", "")
	limWantCode(t, err, ErrTooManyUploads, CodeTooManyRequests)
	// Monolithic pushes need no session.
	mustPutBlob(t, s, "app", []byte("monolithic"))
	limWantUsage(t, s, -1, 3)

	// The default is 1000.
	s = New()
	for range DefaultMaxUploads {
		mustStart(t, s, "app", "")
	}
	_, err = s.StartUpload("app", "")
	limWantCode(t, err, ErrTooManyUploads, CodeTooManyRequests)
}

func TestLimitsStoreBytes(t *testing.T) {
	const limit = 100
	s := New(WithMaxStoreBytes(limit))
	a := bytes.Repeat([]byte("a"), 60)
	b := bytes.Repeat([]byte("b"), 50)
	da := mustPutBlob(t, s, "one", a)
	limWantUsage(t, s, 60, 0)

	before := s.Snapshot()
	for _, size := range []int64{int64(len(b)), -1} {
		_, err := s.PutBlob("one", "", bytes.NewReader(b), size)
		limWantCode(t, err, ErrStoreFull, CodeSizeInvalid)
		_, err = s.PutBlob("two", digest.FromBytes(b), bytes.NewReader(b), size)
		limWantCode(t, err, ErrStoreFull, CodeSizeInvalid)
	}
	_, err := s.PutBlob("one", "", bytes.NewReader(b), int64(len(b)))
	if msg := err.Error(); !strings.Contains(msg, "limit of 100 bytes") || !strings.Contains(msg, "60 in use") {
		t.Errorf("error %q does not say the limit and the use", msg)
	}
	e, _ := AsError(err)
	if fmt.Sprint(e.Detail) != "map[limit:100 requested:50 used:60]" {
		t.Errorf("detail = %v", e.Detail)
	}
	checkUnchanged(t, s, before)
	limWantUsage(t, s, 60, 0)

	// Re-pushing content the store has costs nothing. By digest it needs
	// no room at all, even when it would not fit again: the bytes are
	// hashed, not kept.
	for _, size := range []int64{60, -1} {
		if _, err := s.PutBlob("two", da, bytes.NewReader(a), size); err != nil {
			t.Fatalf("re-push by digest, size %d: %v", size, err)
		}
	}
	if _, err := s.PutBlob("three", da, bytes.NewReader(a), -1); err != nil {
		t.Fatalf("re-push by digest, streamed: %v", err)
	}
	limWantUsage(t, s, 60, 0)
	// Without a digest, or through a session, the bytes are held while they
	// arrive (the digest is known only at the end), then dropped.
	small := []byte("small blob, twenty b")
	dsmall := mustPutBlob(t, s, "one", small)
	limWantUsage(t, s, 80, 0)
	mustPutBlob(t, s, "two", small)
	info := mustStart(t, s, "four", "")
	mustAppend(t, s, "four", info.ID, string(small[:10]))
	if _, err := s.CompleteUpload("four", info.ID, dsmall, -1, bytes.NewReader(small[10:]), 10); err != nil {
		t.Fatalf("re-push through a session: %v", err)
	}
	limWantUsage(t, s, 80, 0)
	for _, repo := range []string{"one", "two", "four"} {
		if err := s.DeleteBlob(repo, dsmall); err != nil {
			t.Fatal(err)
		}
	}
	limWantUsage(t, s, 60, 0)
	info = mustStart(t, s, "four", "")
	mustAppend(t, s, "four", info.ID, string(a[:30]))
	_, err = s.AppendUpload("four", info.ID, -1, bytes.NewReader(a[30:]), 30)
	limWantCode(t, err, ErrStoreFull, CodeSizeInvalid)
	if err := s.CancelUpload("four", info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob("four", da, bytes.NewReader(a), 60); err != nil {
		t.Fatalf("re-push by digest: %v", err)
	}
	limWantUsage(t, s, 60, 0)
	// A re-push by digest whose bytes differ is refused as usual.
	bad := bytes.Repeat([]byte("z"), 60)
	_, err = s.PutBlob("five", da, bytes.NewReader(bad), 60)
	limWantCode(t, err, ErrDigestInvalid, CodeDigestInvalid)
	_, err = s.PutBlob("five", da, bytes.NewReader(a), 59)
	limWantCode(t, err, ErrSizeInvalid, CodeSizeInvalid)
	_, err = s.PutBlob("five", da, io.MultiReader(bytes.NewReader(a), strings.NewReader("!")), 60)
	limWantCode(t, err, ErrSizeInvalid, CodeSizeInvalid)

	// Upload sessions hold bytes too.
	info = mustStart(t, s, "one", "")
	mustAppend(t, s, "one", info.ID, strings.Repeat("s", 30))
	limWantUsage(t, s, 90, 1)
	_, err = s.AppendUpload("one", info.ID, -1, strings.NewReader(strings.Repeat("s", 11)), -1)
	limWantCode(t, err, ErrStoreFull, CodeSizeInvalid)
	_, err = s.PutBlob("one", "", strings.NewReader(strings.Repeat("c", 11)), 11)
	limWantCode(t, err, ErrStoreFull, CodeSizeInvalid)
	if err := s.CancelUpload("one", info.ID); err != nil {
		t.Fatal(err)
	}
	limWantUsage(t, s, 60, 0)

	// Deleting frees space; a blob's bytes go with its last link.
	for _, repo := range []string{"one", "two", "three"} {
		if err := s.DeleteBlob(repo, da); err != nil {
			t.Fatal(err)
		}
		limWantUsage(t, s, 60, 0)
	}
	if err := s.DeleteBlob("four", da); err != nil {
		t.Fatal(err)
	}
	limWantUsage(t, s, 0, 0)
	mustPutBlob(t, s, "one", bytes.Repeat([]byte("f"), limit)) // exactly the limit fits
	limWantUsage(t, s, limit, 0)
}

// Manifests count once per repository that holds them.
func TestLimitsStoreBytesManifests(t *testing.T) {
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	manifest := func(note string) []byte {
		return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[],"annotations":{"n":%q}}`,
			MediaTypeOCIManifest, mtConfig, digest.FromBytes(cfg), len(cfg), note))
	}
	m1, m2 := manifest("1"), manifest("2")
	limit := int64(len(cfg) + len(m1))
	s := New(WithMaxStoreBytes(limit))
	dcfg := mustPutBlob(t, s, "one", cfg)
	if _, err := s.MountBlob("two", "one", dcfg); err != nil { // mounts are free
		t.Fatal(err)
	}
	mustPutManifest(t, s, "one", "v1", MediaTypeOCIManifest, m1) // exactly fits
	mustPutManifest(t, s, "one", "v2", MediaTypeOCIManifest, m1) // same bytes, same repository: free
	mustPutManifest(t, s, "one", string(digest.FromBytes(m1)), MediaTypeOCIManifest, m1, "v3")
	limWantUsage(t, s, limit, 0)

	before := s.Snapshot()
	_, err := s.PutManifest("one", "v4", MediaTypeOCIManifest, m2)
	limWantCode(t, err, ErrStoreFull, CodeSizeInvalid)
	_, err = s.PutManifest("two", "v1", MediaTypeOCIManifest, m1) // another repository keeps its own copy
	limWantCode(t, err, ErrStoreFull, CodeSizeInvalid)
	checkUnchanged(t, s, before)

	if err := s.DeleteManifest("one", "v2"); err != nil { // untagging frees nothing
		t.Fatal(err)
	}
	limWantUsage(t, s, limit, 0)
	if err := s.DeleteManifest("one", string(digest.FromBytes(m1))); err != nil {
		t.Fatal(err)
	}
	limWantUsage(t, s, int64(len(cfg)), 0)
	mustPutManifest(t, s, "two", "v1", MediaTypeOCIManifest, m1)
	limWantUsage(t, s, limit, 0)
	if err := s.DeleteManifest("two", string(digest.FromBytes(m1))); err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"one", "two"} {
		if err := s.DeleteBlob(repo, dcfg); err != nil {
			t.Fatal(err)
		}
	}
	limWantUsage(t, s, 0, 0)
}

// A blob deleted while the same bytes are being re-pushed by digest is
// stored again, charged in full.
func TestLimitsRepushAfterDelete(t *testing.T) {
	s := New(WithMaxStoreBytes(10))
	d := mustPutBlob(t, s, "app", []byte("0123456789"))
	pr, pw := io.Pipe()
	done := make(chan error)
	go func() {
		_, err := s.PutBlob("other", d, pr, -1)
		done <- err
	}()
	pw.Write([]byte("01234"))
	if err := s.DeleteBlob("app", d); err != nil {
		t.Fatal(err)
	}
	limWantUsage(t, s, 0, 0)
	pw.Write([]byte("56789"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := blobBytes(t, s, "other", d); string(got) != "0123456789" {
		t.Errorf("blob = %q", got)
	}
	limWantUsage(t, s, 10, 0)
}

func TestLimitsUploadTTL(t *testing.T) {
	clock := newLimClock()
	s := New(WithUploadTTL(time.Minute), WithClock(clock.Now), WithMaxStoreBytes(100))
	old := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", old.ID, strings.Repeat("o", 80))
	clock.Advance(30 * time.Second)
	young := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", young.ID, "y")
	clock.Advance(29 * time.Second)
	mustAppend(t, s, "app", old.ID, "o") // 59s old: alive
	limWantUsage(t, s, 82, 2)

	clock.Advance(time.Second) // old is 60s old: expired
	// Expired sessions are gone from snapshots before they are purged.
	if _, ok := s.Snapshot().Uploads[old.ID]; ok {
		t.Error("expired session in the snapshot")
	}
	before := s.Snapshot()
	_, err := s.Upload("app", old.ID)
	limWantCode(t, err, ErrBlobUploadUnknown, CodeBlobUploadUnknown)
	if !strings.Contains(err.Error(), "expired") {
		t.Errorf("error %q does not say the session expired", err)
	}
	checkUnchanged(t, s, before)
	limWantUsage(t, s, 1, 1) // its bytes are freed
	for _, op := range []func() error{
		func() error { _, err := s.Upload("app", old.ID); return err },
		func() error { _, err := s.AppendUpload("app", old.ID, -1, strings.NewReader("x"), 1); return err },
		func() error {
			_, err := s.CompleteUpload("app", old.ID, digest.FromString("x"), -1, nil, 0)
			return err
		},
		func() error { return s.CancelUpload("app", old.ID) },
	} {
		limWantCode(t, op(), ErrBlobUploadUnknown, CodeBlobUploadUnknown)
	}
	mustAppend(t, s, "app", young.ID, "y")

	// Expiry is measured from the start, however active the session.
	clock.Advance(30 * time.Second)
	_, err = s.CompleteUpload("app", young.ID, digest.FromString("yy"), -1, nil, 0)
	limWantCode(t, err, ErrBlobUploadUnknown, CodeBlobUploadUnknown)
	if _, err := s.StatBlob("app", digest.FromString("yy")); err == nil {
		t.Error("an expired session's blob was stored")
	}
	limWantUsage(t, s, 0, 0)
}

// Expired sessions are purged when the store needs room: for a new
// session, or for bytes.
func TestLimitsUploadTTLPurge(t *testing.T) {
	clock := newLimClock()
	s := New(WithUploadTTL(time.Minute), WithClock(clock.Now), WithMaxUploads(2), WithMaxStoreBytes(10))
	a := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", a.ID, "aaaaaaaa")
	mustStart(t, s, "app", "")
	_, err := s.StartUpload("app", "")
	limWantCode(t, err, ErrTooManyUploads, CodeTooManyRequests)
	_, err = s.PutBlob("app", "", strings.NewReader("bbbbb"), -1)
	limWantCode(t, err, ErrStoreFull, CodeSizeInvalid)

	clock.Advance(time.Minute)
	c := mustStart(t, s, "app", "") // purges both
	if got := s.Usage(); got != (Usage{Bytes: 0, Uploads: 1}) {
		t.Errorf("usage = %+v after the purge", got)
	}
	mustAppend(t, s, "app", c.ID, "cccccccc")
	clock.Advance(time.Minute)
	// c holds 8 of 10 bytes but has expired: a push makes it go.
	mustPutBlob(t, s, "app", []byte("bbbbb"))
	limWantUsage(t, s, 5, 0)
	// Manifests too.
	cfg := []byte(`{}`)
	mustPutBlob(t, s, "app", cfg)
	d := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", d.ID, "ddd")
	clock.Advance(time.Minute)
	m := []byte(fmt.Sprintf(`{"schemaVersion":2,"config":{"mediaType":%q,"digest":%q,"size":2},"layers":[]}`, mtConfig, digest.FromBytes(cfg)))
	s2 := New(WithUploadTTL(time.Minute), WithClock(clock.Now), WithMaxStoreBytes(int64(len(cfg)+len(m)+3)))
	mustPutBlob(t, s2, "app", cfg)
	e := mustStart(t, s2, "app", "")
	mustAppend(t, s2, "app", e.ID, "eeee")
	clock.Advance(time.Minute)
	mustPutManifest(t, s2, "app", "v1", MediaTypeOCIManifest, m)
	limWantUsage(t, s2, int64(len(cfg)+len(m)), 0)
}

func TestLimitsNoExpiryByDefault(t *testing.T) {
	clock := newLimClock()
	s := New(WithClock(clock.Now))
	info := mustStart(t, s, "app", "")
	clock.Advance(10000 * time.Hour)
	mustAppend(t, s, "app", info.ID, "still here")
	limWantUsage(t, s, 10, 1)
}

// Parallel pushes never take the store past its limit, whatever mix of
// monolithic, streamed and chunked pushes; afterwards the accounting
// matches the content exactly, and deleting everything brings it to zero.
func TestLimitsStoreBytesConcurrent(t *testing.T) {
	const (
		limit   = 64 << 10
		workers = 16
		pushes  = 40
	)
	s := New(WithMaxStoreBytes(limit), WithMaxUploads(workers/2))
	var over atomic.Int64
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() { // the limit holds at every moment, not only at the end
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := s.used.Load(); n > limit {
				over.Store(n)
			}
		}
	}()
	var wg sync.WaitGroup
	var stored, refused atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			repo := fmt.Sprintf("repo%d", w%4)
			for i := range pushes {
				// Sizes of 1-8 KiB; some content shared between workers
				// (dedup), most unique.
				key := fmt.Sprintf("w%d-%d", w, i)
				if i%5 == 0 {
					key = fmt.Sprintf("shared-%d", i)
				}
				data := bytes.Repeat([]byte(key+";"), 1+(w*pushes+i)%(8<<10)/len(key))
				var err error
				switch i % 3 {
				case 0:
					_, err = s.PutBlob(repo, digest.FromBytes(data), bytes.NewReader(data), int64(len(data)))
				case 1:
					_, err = s.PutBlob(repo, "", struct{ io.Reader }{bytes.NewReader(data)}, -1)
				case 2:
					var info UploadInfo
					info, err = s.StartUpload(repo, "")
					if err != nil {
						break
					}
					half := len(data) / 2
					if _, err = s.AppendUpload(repo, info.ID, 0, bytes.NewReader(data[:half]), int64(half)); err == nil {
						_, err = s.CompleteUpload(repo, info.ID, digest.FromBytes(data), int64(half), bytes.NewReader(data[half:]), -1)
					}
					if err != nil {
						s.CancelUpload(repo, info.ID)
					}
				}
				switch {
				case err == nil:
					stored.Add(1)
				case errors.Is(err, ErrStoreFull), errors.Is(err, ErrTooManyUploads):
					refused.Add(1)
				default:
					t.Errorf("push %s: %v", key, err)
				}
				// Delete now and then, so space frees up while others push.
				if i%4 == 3 {
					s.DeleteBlob(repo, digest.FromBytes(data))
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	if n := over.Load(); n > 0 {
		t.Errorf("the store held %d bytes, past its limit of %d", n, limit)
	}
	if stored.Load() == 0 || refused.Load() == 0 {
		t.Errorf("%d pushes stored, %d refused: the test should see both", stored.Load(), refused.Load())
	}
	t.Logf("%d pushes stored, %d refused", stored.Load(), refused.Load())
	limWantUsage(t, s, -1, 0)
	checkInvariants(t, s)

	// Delete everything: the accounting returns to zero.
	for repo, rs := range s.Snapshot().Repositories {
		for _, d := range rs.Blobs {
			if err := s.DeleteBlob(repo, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	limWantUsage(t, s, 0, 0)
}
