package memstore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/opencontainers/go-digest"
)

// TestLargeBodiesHashedAlongside: bodies past asyncHashMin are hashed on
// a goroutine of their own; the digests are the same as hashing in line,
// whatever the reads look like, with and without a declared length, and
// a chunk cut off part way leaves the session's hash as it was.
func TestLargeBodiesHashedAlongside(t *testing.T) {
	data := make([]byte, 3*asyncHashMin+12345)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	want := digest.FromBytes(data)
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(data) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:asyncHashMin+3])) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	}
	for name, rd := range readers {
		for _, known := range []bool{false, true} {
			s := New()
			body := rd()
			n := int64(len(data))
			d := want
			if name == "one byte" {
				n, d = asyncHashMin+3, digest.FromBytes(data[:asyncHashMin+3])
			}
			declared := int64(-1)
			if known {
				declared = n
			}
			info, err := s.PutBlob("app", d, body, declared)
			if err != nil || info.Digest != d || info.Size != n {
				t.Errorf("%s, length %d: PutBlob = %+v, %v", name, declared, info, err)
			}
		}
	}

	// A chunk that fails after 2 MiB leaves the session as it was; the
	// same bytes sent again complete the blob.
	s := New()
	up, err := s.StartUpload("app", "")
	if err != nil {
		t.Fatal(err)
	}
	first := int64(asyncHashMin / 2)
	if _, err := s.AppendUpload("app", up.ID, 0, bytes.NewReader(data[:first]), first); err != nil {
		t.Fatal(err)
	}
	cut := io.MultiReader(bytes.NewReader(data[first:first+2*asyncHashMin]), iotest.ErrReader(errors.New("client hung up")))
	for _, size := range []int64{-1, int64(len(data)) - first} {
		if _, err := s.AppendUpload("app", up.ID, first, cut, size); err == nil {
			t.Fatalf("a chunk cut off (length %d) was taken", size)
		}
		if info, _ := s.Upload("app", up.ID); info.Size != first {
			t.Fatalf("after a cut chunk the session holds %d bytes, want %d", info.Size, first)
		}
		cut = io.MultiReader(bytes.NewReader(data[first:first+2*asyncHashMin]), iotest.ErrReader(errors.New("client hung up")))
	}
	info, err := s.CompleteUpload("app", up.ID, want, first, bytes.NewReader(data[first:]), -1)
	if err != nil || info.Size != int64(len(data)) {
		t.Fatalf("CompleteUpload after cut chunks: %+v, %v", info, err)
	}
	if got := sha256.Sum256(blobBytes(t, s, "app", want)); digest.NewDigestFromBytes(digest.SHA256, got[:]) != want {
		t.Error("the stored blob does not hash to its digest")
	}
}

// TestChunkHashedAfterItsAnswer: a large chunk's hashing may go on after
// AppendUpload returns; whatever comes next (another chunk, a status, the
// completion, a cancel) sees the session as if it had been hashed in line.
func TestChunkHashedAfterItsAnswer(t *testing.T) {
	chunk := int64(asyncHashMin + 17)
	data := make([]byte, 4*chunk)
	for i := range data {
		data[i] = byte(i * 13 / 7)
	}
	s := New()
	for round := range 3 {
		up, err := s.StartUpload("app", "")
		if err != nil {
			t.Fatal(err)
		}
		for off := int64(0); off < int64(len(data)); off += chunk {
			info, err := s.AppendUpload("app", up.ID, off, bytes.NewReader(data[off:off+chunk]), chunk)
			if err != nil || info.Size != off+chunk {
				t.Fatalf("round %d: chunk at %d: %+v, %v", round, off, info, err)
			}
		}
		switch round {
		case 0: // completed straight after the last chunk
			if _, err := s.CompleteUpload("app", up.ID, digest.FromBytes(data), -1, nil, 0); err != nil {
				t.Fatalf("CompleteUpload: %v", err)
			}
		case 1: // a wrong digest leaves the session to retry with the right one
			if _, err := s.CompleteUpload("app", up.ID, digest.FromString("wrong"), -1, nil, 0); !errors.Is(err, ErrDigestInvalid) {
				t.Fatalf("CompleteUpload with a wrong digest: %v", err)
			}
			if _, err := s.CompleteUpload("app", up.ID, digest.FromBytes(data), -1, nil, 0); err != nil {
				t.Fatalf("CompleteUpload after a wrong digest: %v", err)
			}
		case 2: // cancelled while the last chunk may still be hashing
			if err := s.CancelUpload("app", up.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := blobBytes(t, s, "app", digest.FromBytes(data)); !bytes.Equal(got, data) {
		t.Error("the stored blob differs from the chunks sent")
	}
}
