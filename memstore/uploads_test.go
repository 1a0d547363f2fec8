package memstore

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// mustStart opens an upload session, failing the test on error.
func mustStart(t testing.TB, s *Store, repo string, alg digest.Algorithm) UploadInfo {
	t.Helper()
	info, err := s.StartUpload(repo, alg)
	if err != nil {
		t.Fatalf("StartUpload(%q, %q): %v", repo, alg, err)
	}
	return info
}

// mustAppend appends chunk at the session's current end.
func mustAppend(t testing.TB, s *Store, repo, id, chunk string) UploadInfo {
	t.Helper()
	info, err := s.AppendUpload(repo, id, -1, strings.NewReader(chunk), int64(len(chunk)))
	if err != nil {
		t.Fatalf("AppendUpload(%q): %v", chunk, err)
	}
	return info
}

// session returns the internal session id (nil if it is gone).
func session(s *Store, id string) *upload {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.uploads[id]
}

func TestStartUpload(t *testing.T) {
	s := New()
	var ids []string
	for i, alg := range []digest.Algorithm{"", digest.SHA256, digest.SHA512} {
		info := mustStart(t, s, "team/app", alg)
		wantAlg := alg
		if alg == "" {
			wantAlg = digest.SHA256
		}
		want := UploadInfo{ID: info.ID, Repository: "team/app", Size: 0, Algorithm: wantAlg}
		if diff := cmp.Diff(want, info); diff != "" {
			t.Errorf("upload %d info (-want +got):\n%s", i, diff)
		}
		if !uuidRE.MatchString(info.ID) {
			t.Errorf("id %q is not UUID-shaped", info.ID)
		}
		ids = append(ids, info.ID)
	}
	want := []string{
		"00000000-0000-4000-8000-000000000001",
		"00000000-0000-4000-8000-000000000002",
		"00000000-0000-4000-8000-000000000003",
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}

	// Another store issues the same ids: logs compare across runs.
	s2 := New()
	for _, id := range want {
		if got := mustStart(t, s2, "other", "").ID; got != id {
			t.Errorf("second store issued %q, want %q", got, id)
		}
	}

	snap := s.Snapshot()
	if len(snap.Uploads) != 3 {
		t.Errorf("Snapshot has %d uploads, want 3", len(snap.Uploads))
	}
	if got := snap.Uploads[ids[2]]; got.Algorithm != digest.SHA512 || got.Repository != "team/app" {
		t.Errorf("Snapshot upload = %+v", got)
	}

	t.Run("errors", func(t *testing.T) {
		s := New()
		before := s.Snapshot()
		_, err := s.StartUpload("Bad", "")
		checkErr(t, err, ErrNameInvalid)
		_, err = s.StartUpload("app", digest.SHA384)
		checkErr(t, err, ErrDigestInvalid)
		_, err = s.StartUpload("app", "md5")
		checkErr(t, err, ErrDigestInvalid)
		checkUnchanged(t, s, before)
		// Refused sessions use up no id.
		if got := mustStart(t, s, "app", "").ID; got != want[0] {
			t.Errorf("first id after refusals = %q, want %q", got, want[0])
		}
	})
}

func TestUploadChunked(t *testing.T) {
	s := New()
	u := mustStart(t, s, "app", "")
	if info := mustAppend(t, s, "app", u.ID, "abc"); info.Size != 3 {
		t.Errorf("size after first chunk = %d", info.Size)
	}
	// Explicit start offset and unknown length.
	info, err := s.AppendUpload("app", u.ID, 3, strings.NewReader("defg"), -1)
	if err != nil || info.Size != 7 {
		t.Fatalf("AppendUpload = %+v, %v", info, err)
	}
	// An empty chunk is fine and adds nothing.
	if info := mustAppend(t, s, "app", u.ID, ""); info.Size != 7 {
		t.Errorf("size after empty chunk = %d", info.Size)
	}
	got, err := s.Upload("app", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(UploadInfo{ID: u.ID, Repository: "app", Size: 7, Algorithm: digest.SHA256}, got); diff != "" {
		t.Errorf("Upload (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, s.Snapshot().Uploads[u.ID]); diff != "" {
		t.Errorf("Snapshot upload (-Upload +Snapshot):\n%s", diff)
	}

	whole := []byte("abcdefghi")
	d := sha256Of(whole)
	bi, err := s.CompleteUpload("app", u.ID, d, 7, strings.NewReader("hi"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if bi != (BlobInfo{Digest: d, Size: 9}) {
		t.Errorf("CompleteUpload = %+v", bi)
	}
	if b := blobBytes(t, s, "app", d); !bytes.Equal(b, whole) {
		t.Errorf("blob = %q, want %q", b, whole)
	}
	snap := s.Snapshot()
	if len(snap.Uploads) != 0 {
		t.Errorf("session still listed: %+v", snap.Uploads)
	}
	if snap.Blobs[d] != 9 {
		t.Errorf("Snapshot().Blobs = %v", snap.Blobs)
	}
	if session(s, u.ID) != nil {
		t.Error("session still in the store after completion")
	}
}

func TestUploadCompleteWithoutChunks(t *testing.T) {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		s := New()
		u := mustStart(t, s, "app", alg)
		d := alg.FromBytes(nil)
		if _, err := s.CompleteUpload("app", u.ID, d, -1, nil, -1); err != nil {
			t.Fatalf("%s: empty upload: %v", alg, err)
		}
		if b := blobBytes(t, s, "app", d); len(b) != 0 {
			t.Errorf("%s: empty blob reads %q", alg, b)
		}
		// Monolithic: everything in the final chunk.
		u = mustStart(t, s, "app", alg)
		data := []byte("monolithic")
		d = alg.FromBytes(data)
		if _, err := s.CompleteUpload("app", u.ID, d, 0, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatalf("%s: monolithic: %v", alg, err)
		}
		if b := blobBytes(t, s, "app", d); !bytes.Equal(b, data) {
			t.Errorf("%s: blob = %q", alg, b)
		}
	}
}

func TestUploadOutOfOrder(t *testing.T) {
	s := New()
	u := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", u.ID, "abc")
	for _, start := range []int64{0, 2, 4, 100} {
		before := s.Snapshot()
		info, err := s.AppendUpload("app", u.ID, start, strings.NewReader("xyz"), 3)
		if !errors.Is(err, ErrRangeInvalid) {
			t.Errorf("start %d: error = %v, want ErrRangeInvalid", start, err)
		}
		if errors.Is(err, ErrBlobUploadInvalid) {
			t.Errorf("start %d: ErrRangeInvalid also matches ErrBlobUploadInvalid", start)
		}
		if info.Size != 3 {
			t.Errorf("start %d: info.Size = %d, want 3", start, info.Size)
		}
		if e, ok := AsError(err); ok {
			if diff := cmp.Diff(map[string]int64{"size": 3, "start": start}, e.Detail); diff != "" {
				t.Errorf("start %d: Detail (-want +got):\n%s", start, diff)
			}
		}
		checkUnchanged(t, s, before)
		// The final chunk of a completion is checked the same way.
		_, err = s.CompleteUpload("app", u.ID, sha256Of([]byte("abcxyz")), start, strings.NewReader("xyz"), 3)
		checkErr(t, err, ErrRangeInvalid)
		checkUnchanged(t, s, before)
	}
	d := sha256Of([]byte("abcdef"))
	if _, err := s.CompleteUpload("app", u.ID, d, 3, strings.NewReader("def"), 3); err != nil {
		t.Fatalf("complete after refused chunks: %v", err)
	}
}

// TestUploadFailedChunkLeavesSession checks that a refused chunk changes
// nothing, including the running hash: the bytes of the bad chunk were
// already hashed when it was refused, so a wrong digest after a good retry
// means the hash state was not restored.
func TestUploadFailedChunkLeavesSession(t *testing.T) {
	good := "-second-chunk-"
	tests := []struct {
		name string
		opts []Option
		r    func() io.Reader
		size int64
		want error
	}{
		{"short body", nil, func() io.Reader { return strings.NewReader("-seco") }, int64(len(good)), ErrSizeInvalid},
		{"long body", nil, func() io.Reader { return strings.NewReader(good + "extra") }, int64(len(good)), ErrSizeInvalid},
		{"reader error, known size", nil, func() io.Reader {
			return &failingReader{data: []byte("-sec"), err: errBoom}
		}, int64(len(good)), ErrBlobUploadInvalid},
		{"reader error, unknown size", nil, func() io.Reader {
			return &failingReader{data: []byte("-sec"), err: errBoom}
		}, -1, ErrBlobUploadInvalid},
		{"reader error after a full first buffer", nil, func() io.Reader {
			return io.MultiReader(patternReader(firstChunkSize+5), &failingReader{err: errBoom})
		}, -1, ErrBlobUploadInvalid},
		{"too large, unknown size", []Option{WithMaxBlobSize(20)}, func() io.Reader {
			return strings.NewReader(strings.Repeat("z", 30))
		}, -1, ErrTooLarge},
		{"too large, known size", []Option{WithMaxBlobSize(20)}, func() io.Reader {
			return strings.NewReader(strings.Repeat("z", 30))
		}, 30, ErrTooLarge},
	}
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		for _, tt := range tests {
			t.Run(string(alg)+"/"+tt.name, func(t *testing.T) {
				s := New(tt.opts...)
				u := mustStart(t, s, "app", alg)
				mustAppend(t, s, "app", u.ID, "first")
				sess := session(s, u.ID)
				chunk0 := sess.content.chunks[0]
				before := s.Snapshot()
				infoBefore, _ := s.Upload("app", u.ID)

				info, err := s.AppendUpload("app", u.ID, -1, tt.r(), tt.size)
				checkErr(t, err, tt.want)
				if info != infoBefore {
					t.Errorf("info after failure = %+v, want %+v", info, infoBefore)
				}
				checkUnchanged(t, s, before)
				if len(sess.content.chunks) != 1 || !sameBacking(sess.content.chunks[0], chunk0) {
					t.Errorf("session chunks changed: %d chunks", len(sess.content.chunks))
				}

				// The same failure as the final chunk of a completion.
				whole := []byte("first" + good)
				_, err = s.CompleteUpload("app", u.ID, alg.FromBytes(whole), -1, tt.r(), tt.size)
				checkErr(t, err, tt.want)
				checkUnchanged(t, s, before)

				// A good retry, then completion by the session's algorithm: the
				// running hash must not contain the refused bytes.
				mustAppend(t, s, "app", u.ID, good)
				bi, err := s.CompleteUpload("app", u.ID, alg.FromBytes(whole), -1, nil, -1)
				if err != nil {
					t.Fatalf("complete after a good retry: %v", err)
				}
				if b := blobBytes(t, s, "app", bi.Digest); !bytes.Equal(b, whole) {
					t.Errorf("blob = %q, want %q", b, whole)
				}
			})
		}
	}
}

func TestUploadCompleteWrongDigest(t *testing.T) {
	wrong := sha256Of([]byte("not it"))
	tests := []struct {
		name  string
		final string // last chunk sent with the failed completion ("" for none)
	}{
		{"without final chunk", ""},
		{"with final chunk", "tail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			mustPutBlob(t, s, "app", []byte("unrelated"))
			u := mustStart(t, s, "app", "")
			mustAppend(t, s, "app", u.ID, "head-")
			sess := session(s, u.ID)
			before := s.Snapshot()

			var r io.Reader
			if tt.final != "" {
				r = strings.NewReader(tt.final)
			}
			bi, err := s.CompleteUpload("app", u.ID, wrong, -1, r, int64(len(tt.final)))
			checkErr(t, err, ErrDigestInvalid)
			if bi != (BlobInfo{}) {
				t.Errorf("failed completion returned %+v", bi)
			}
			e, _ := AsError(err)
			if e == nil || e.Detail == nil {
				t.Errorf("error %v has no detail", err)
			} else if got := e.Detail.(map[string]string)["computed"]; got != string(sha256Of([]byte("head-"+tt.final))) {
				t.Errorf("Detail computed = %s", got)
			}
			checkUnchanged(t, s, before)
			if len(sess.content.chunks) != 1 {
				t.Errorf("final chunk not rolled back: %d chunks", len(sess.content.chunks))
			}

			// Still usable: another chunk, then a correct completion.
			mustAppend(t, s, "app", u.ID, "more-")
			whole := []byte("head-more-" + tt.final)
			var final io.Reader
			if tt.final != "" {
				final = strings.NewReader(tt.final)
			}
			bi, err = s.CompleteUpload("app", u.ID, sha256Of(whole), 10, final, -1)
			if err != nil {
				t.Fatalf("correct completion after a wrong one: %v", err)
			}
			if b := blobBytes(t, s, "app", bi.Digest); !bytes.Equal(b, whole) {
				t.Errorf("blob = %q, want %q", b, whole)
			}
		})
	}

	t.Run("invalid digests", func(t *testing.T) {
		s := New()
		u := mustStart(t, s, "app", "")
		mustAppend(t, s, "app", u.ID, "data")
		before := s.Snapshot()
		for _, d := range []digest.Digest{"", "sha256:zz", "md5:0cc175b9c0f1b6a831c399e269772661", digest.SHA384.FromString("data")} {
			_, err := s.CompleteUpload("app", u.ID, d, -1, strings.NewReader("x"), 1)
			checkErr(t, err, ErrDigestInvalid)
		}
		checkUnchanged(t, s, before)
	})
}

func TestUploadCompleteOtherAlgorithm(t *testing.T) {
	tests := []struct {
		session, final digest.Algorithm
	}{
		{digest.SHA256, digest.SHA512},
		{digest.SHA512, digest.SHA256},
	}
	for _, tt := range tests {
		t.Run(string(tt.session)+" session, "+string(tt.final)+" digest", func(t *testing.T) {
			s := New()
			u := mustStart(t, s, "app", tt.session)
			mustAppend(t, s, "app", u.ID, "abc")
			mustAppend(t, s, "app", u.ID, "def")
			whole := []byte("abcdefgh")

			// A wrong digest of the other algorithm rolls back the final chunk
			// and leaves the session's own hash intact.
			before := s.Snapshot()
			_, err := s.CompleteUpload("app", u.ID, tt.final.FromString("nope"), -1, strings.NewReader("gh"), 2)
			checkErr(t, err, ErrDigestInvalid)
			checkUnchanged(t, s, before)

			d := tt.final.FromBytes(whole)
			bi, err := s.CompleteUpload("app", u.ID, d, 6, strings.NewReader("gh"), 2)
			if err != nil {
				t.Fatal(err)
			}
			if bi != (BlobInfo{Digest: d, Size: 8}) {
				t.Errorf("CompleteUpload = %+v", bi)
			}
			if b := blobBytes(t, s, "app", d); !bytes.Equal(b, whole) {
				t.Errorf("blob = %q", b)
			}
			if _, err := s.Blob("app", tt.session.FromBytes(whole)); !errors.Is(err, ErrBlobUnknown) {
				t.Errorf("blob also stored under the session's algorithm: %v", err)
			}
		})
	}

	t.Run("session hash survives a rehash", func(t *testing.T) {
		s := New()
		u := mustStart(t, s, "app", digest.SHA256)
		mustAppend(t, s, "app", u.ID, "abc")
		_, err := s.CompleteUpload("app", u.ID, digest.SHA512.FromString("x"), -1, nil, -1)
		checkErr(t, err, ErrDigestInvalid)
		mustAppend(t, s, "app", u.ID, "def")
		if _, err := s.CompleteUpload("app", u.ID, sha256Of([]byte("abcdef")), -1, nil, -1); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUploadUnknown(t *testing.T) {
	s := New()
	mine := mustStart(t, s, "app", "")
	done := mustStart(t, s, "app", "")
	if _, err := s.CompleteUpload("app", done.ID, sha256Of(nil), -1, nil, -1); err != nil {
		t.Fatal(err)
	}
	cancelled := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", cancelled.ID, "dropped")
	if err := s.CancelUpload("app", cancelled.ID); err != nil {
		t.Fatal(err)
	}
	theirs := mustStart(t, s, "other", "")

	tests := []struct {
		name, repo, id string
	}{
		{"never issued", "app", "00000000-0000-4000-8000-0000000000ff"},
		{"empty id", "app", ""},
		{"another repository's", "app", theirs.ID},
		{"mine asked from another repository", "other", mine.ID},
		{"mine from a repository that does not exist", "ghost", mine.ID},
		{"completed", "app", done.ID},
		{"cancelled", "app", cancelled.ID},
	}
	ops := map[string]func(repo, id string) error{
		"Upload": func(repo, id string) error { _, err := s.Upload(repo, id); return err },
		"AppendUpload": func(repo, id string) error {
			_, err := s.AppendUpload(repo, id, -1, strings.NewReader("x"), 1)
			return err
		},
		"CompleteUpload": func(repo, id string) error {
			_, err := s.CompleteUpload(repo, id, sha256Of([]byte("x")), -1, strings.NewReader("x"), 1)
			return err
		},
		"CancelUpload": func(repo, id string) error { return s.CancelUpload(repo, id) },
	}
	for _, tt := range tests {
		for opName, op := range ops {
			t.Run(tt.name+"/"+opName, func(t *testing.T) {
				before := s.Snapshot()
				checkErr(t, op(tt.repo, tt.id), ErrBlobUploadUnknown)
				checkUnchanged(t, s, before)
			})
		}
	}
	// A session that ended while another call was waiting for it: the
	// waiter found it in the table but sees it closed once it has the lock.
	t.Run("ended while waiting", func(t *testing.T) {
		u := mustStart(t, s, "app", "")
		sess := session(s, u.ID)
		sess.mu.Lock()
		sess.closed = true // still in the table, as between lookup and lock
		sess.mu.Unlock()
		if _, listed := s.Snapshot().Uploads[u.ID]; listed {
			t.Error("Snapshot lists an ended session")
		}
		for _, op := range ops {
			checkErr(t, op("app", u.ID), ErrBlobUploadUnknown)
		}
	})
	// The sessions that were not touched still work.
	if _, err := s.Upload("app", mine.ID); err != nil {
		t.Errorf("own session: %v", err)
	}
	if _, err := s.Upload("other", theirs.ID); err != nil {
		t.Errorf("other repository's session: %v", err)
	}
}

func TestUploadCancel(t *testing.T) {
	s := New()
	mustPutBlob(t, s, "app", []byte("kept"))
	want := s.Snapshot()
	u := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", u.ID, "discarded")
	if err := s.CancelUpload("app", u.ID); err != nil {
		t.Fatal(err)
	}
	checkUnchanged(t, s, want)
	if _, err := s.Blob("app", sha256Of([]byte("discarded"))); !errors.Is(err, ErrBlobUnknown) {
		t.Errorf("cancelled bytes stored: %v", err)
	}
}

func TestUploadMaxBlobSize(t *testing.T) {
	s := New(WithMaxBlobSize(10))
	u := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", u.ID, "123456")

	tooMuch := []struct {
		name string
		r    io.Reader
		size int64
	}{
		{"known size", strings.NewReader("78901"), 5},
		{"unknown size", strings.NewReader("78901"), -1},
	}
	for _, tt := range tooMuch {
		_, err := s.AppendUpload("app", u.ID, -1, tt.r, tt.size)
		checkErr(t, err, ErrTooLarge)
	}
	if info, _ := s.Upload("app", u.ID); info.Size != 6 {
		t.Fatalf("size after refused chunks = %d, want 6", info.Size)
	}
	mustAppend(t, s, "app", u.ID, "7890") // exactly at the limit
	before := s.Snapshot()
	for _, size := range []int64{1, -1} {
		_, err := s.AppendUpload("app", u.ID, -1, strings.NewReader("x"), size)
		checkErr(t, err, ErrTooLarge)
		_, err = s.CompleteUpload("app", u.ID, sha256Of([]byte("1234567890x")), -1, strings.NewReader("x"), size)
		checkErr(t, err, ErrTooLarge)
	}
	checkUnchanged(t, s, before)
	// Empty chunks are still fine when full.
	mustAppend(t, s, "app", u.ID, "")
	if _, err := s.AppendUpload("app", u.ID, -1, strings.NewReader(""), -1); err != nil {
		t.Errorf("empty chunk of unknown size at the limit: %v", err)
	}
	if _, err := s.CompleteUpload("app", u.ID, sha256Of([]byte("1234567890")), -1, strings.NewReader(""), 0); err != nil {
		t.Fatalf("complete at the limit: %v", err)
	}
}

func TestUploadChunksAreNotCopied(t *testing.T) {
	s := New()
	u := mustStart(t, s, "app", "")
	sizes := []int{1000, 5, 70000, 3}
	var want bytes.Buffer
	for i, n := range sizes {
		chunk := strings.Repeat(string(rune('a'+i)), n)
		want.WriteString(chunk)
		mustAppend(t, s, "app", u.ID, chunk)
	}
	sess := session(s, u.ID)
	if diff := cmp.Diff(sizes, chunkLens(sess.content.chunks)); diff != "" {
		t.Fatalf("chunk lengths (-want +got):\n%s", diff)
	}
	first := sess.content.chunks[0]
	all := append([][]byte(nil), sess.content.chunks...)

	// More appends keep every earlier buffer where it was.
	mustAppend(t, s, "app", u.ID, "more")
	want.WriteString("more")
	for i, ch := range all {
		if !sameBacking(sess.content.chunks[i], ch) {
			t.Errorf("chunk %d was copied by a later append", i)
		}
	}

	// Completion, with a final chunk, turns the session's buffers into the
	// blob without copying them.
	want.WriteString("!")
	d := sha256Of(want.Bytes())
	if _, err := s.CompleteUpload("app", u.ID, d, -1, strings.NewReader("!"), 1); err != nil {
		t.Fatal(err)
	}
	c, err := s.Blob("app", d)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBacking(c.chunks[0], first) {
		t.Error("the blob's first buffer is a copy of the session's")
	}
	if len(c.chunks) != len(sizes)+2 {
		t.Errorf("blob has %d chunks, want %d", len(c.chunks), len(sizes)+2)
	}
	if got := c.Bytes(); !bytes.Equal(got, want.Bytes()) {
		t.Error("blob bytes differ from the chunks sent")
	}
}

func TestUploadCompleteDedupe(t *testing.T) {
	s := New()
	data := []byte("already here")
	d := mustPutBlob(t, s, "app", data)
	first, _ := s.Blob("app", d)
	for _, repo := range []string{"app", "other"} {
		u := mustStart(t, s, repo, "")
		mustAppend(t, s, repo, u.ID, string(data))
		if _, err := s.CompleteUpload(repo, u.ID, d, -1, nil, -1); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Blob(repo, d); c != first {
			t.Errorf("%s: a second copy of the bytes was stored", repo)
		}
	}
	if got := linksOf(s, d); got != 2 {
		t.Errorf("links = %d, want 2", got)
	}
}
