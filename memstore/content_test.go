package memstore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
)

// contentOf builds Content over copies of the given strings, one chunk each.
func contentOf(chunks ...string) *Content {
	bufs := make([][]byte, len(chunks))
	for i, c := range chunks {
		bufs[i] = []byte(c)
	}
	return newContent(bufs)
}

// chunkLens returns the length of every chunk of c.
func chunkLens(c [][]byte) []int {
	out := make([]int, len(c))
	for i, b := range c {
		out[i] = len(b)
	}
	return out
}

// sameBacking reports whether a and b start at the same byte in memory.
func sameBacking(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// failingReader yields data and then fails with err instead of io.EOF.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

var errBoom = errors.New("boom: connection reset")

// patternReader yields n bytes of a repeating pattern without holding them.
func patternReader(n int64) io.Reader {
	return io.LimitReader(&repeatReader{}, n)
}

type repeatReader struct{ i byte }

func (r *repeatReader) Read(p []byte) (int, error) {
	for k := range p {
		p[k] = 'a' + r.i%26
		r.i++
	}
	return len(p), nil
}

func TestContentReadAt(t *testing.T) {
	c := contentOf("abc", "defg", "h") // offsets 0, 3, 7; size 8
	if c.Size() != 8 {
		t.Fatalf("Size() = %d, want 8", c.Size())
	}
	if diff := cmp.Diff([]int64{0, 3, 7}, c.offsets); diff != "" {
		t.Fatalf("offsets (-want +got):\n%s", diff)
	}
	tests := []struct {
		name    string
		off     int64
		n       int
		want    string
		wantErr error
	}{
		{"whole", 0, 8, "abcdefgh", nil},
		{"inside first chunk", 1, 2, "bc", nil},
		{"first chunk exactly", 0, 3, "abc", nil},
		{"starts at chunk boundary", 3, 4, "defg", nil},
		{"crosses one boundary", 2, 3, "cde", nil},
		{"crosses two boundaries", 2, 6, "cdefgh", nil},
		{"starts in last chunk", 7, 1, "h", nil},
		{"up to the end exactly", 5, 3, "fgh", nil},
		{"past the end from inside", 6, 5, "gh", io.EOF},
		{"past the end from start", 0, 10, "abcdefgh", io.EOF},
		{"at the end", 8, 1, "", io.EOF},
		{"after the end", 100, 4, "", io.EOF},
		{"empty read at the end", 8, 0, "", nil},
		{"empty read inside", 4, 0, "", nil},
		{"empty read after the end", 20, 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := make([]byte, tt.n)
			n, err := c.ReadAt(p, tt.off)
			if err != tt.wantErr {
				t.Errorf("ReadAt(%d bytes, %d) error = %v, want %v", tt.n, tt.off, err, tt.wantErr)
			}
			if got := string(p[:n]); got != tt.want {
				t.Errorf("ReadAt(%d bytes, %d) = %q, want %q", tt.n, tt.off, got, tt.want)
			}
		})
	}
	t.Run("negative offset", func(t *testing.T) {
		n, err := c.ReadAt(make([]byte, 2), -1)
		if err == nil || err == io.EOF || n != 0 {
			t.Errorf("ReadAt(-1) = %d, %v; want 0 and a non-EOF error", n, err)
		}
	})
}

// TestContentReadAtExhaustive compares every (offset, length) pair against
// bytes.Reader over the same bytes, for several chunkings.
func TestContentReadAtExhaustive(t *testing.T) {
	chunkings := [][]string{
		{"abcdefghij"},
		{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
		{"abc", "", "defghi", "j"},
		{"ab", "cdefgh", "ij"},
	}
	for _, chunks := range chunkings {
		c := contentOf(chunks...)
		ref := bytes.NewReader([]byte(strings.Join(chunks, "")))
		for off := int64(0); off <= c.Size()+1; off++ {
			for l := 0; l <= int(c.Size())+2; l++ {
				got := make([]byte, l)
				want := make([]byte, l)
				gn, gerr := c.ReadAt(got, off)
				wn, werr := ref.ReadAt(want, off)
				// bytes.Reader returns EOF for any short read and for a read
				// starting at the end; an empty read at the end is allowed to
				// be (0, nil) by io.ReaderAt, which Content does.
				if l == 0 {
					werr = nil
				}
				if gn != wn || gerr != werr || !bytes.Equal(got[:gn], want[:wn]) {
					t.Errorf("%q ReadAt(%d bytes, %d) = %d %q %v; bytes.Reader gives %d %q %v",
						chunks, l, off, gn, got[:gn], gerr, wn, want[:wn], werr)
				}
			}
		}
	}
}

func TestContentEmpty(t *testing.T) {
	for _, c := range []*Content{{}, newContent(nil), contentOf("", "")} {
		if c.Size() != 0 || len(c.chunks) != 0 {
			t.Errorf("empty content has size %d and %d chunks", c.Size(), len(c.chunks))
		}
		if n, err := c.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
			t.Errorf("ReadAt on empty = %d, %v; want 0, EOF", n, err)
		}
		if b := c.Bytes(); b == nil || len(b) != 0 {
			t.Errorf("Bytes() on empty = %#v, want empty non-nil", b)
		}
		var buf bytes.Buffer
		if n, err := c.WriteTo(&buf); n != 0 || err != nil || buf.Len() != 0 {
			t.Errorf("WriteTo on empty = %d, %v", n, err)
		}
		if b, err := io.ReadAll(c.NewReader()); err != nil || len(b) != 0 {
			t.Errorf("NewReader on empty read %q, %v", b, err)
		}
	}
}

func TestContentAppendChunkDropsEmpty(t *testing.T) {
	c := contentOf("", "ab", "", "c", "")
	if diff := cmp.Diff([]int{2, 1}, chunkLens(c.chunks)); diff != "" {
		t.Errorf("chunk lengths (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{0, 2}, c.offsets); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
	if c.Size() != 3 {
		t.Errorf("Size() = %d, want 3", c.Size())
	}
}

func TestContentNewReaderSeek(t *testing.T) {
	c := contentOf("0123", "456", "789")
	r := c.NewReader()
	if r.Size() != 10 {
		t.Fatalf("reader Size() = %d, want 10", r.Size())
	}
	all, err := io.ReadAll(r)
	if err != nil || string(all) != "0123456789" {
		t.Fatalf("ReadAll = %q, %v", all, err)
	}
	steps := []struct {
		offset int64
		whence int
		wantAt int64
		read   int
		want   string
	}{
		{2, io.SeekStart, 2, 4, "2345"},      // crosses a chunk boundary
		{1, io.SeekCurrent, 7, 2, "78"},      // from 6 to 7
		{-3, io.SeekEnd, 7, 10, "789"},       // short read at the end
		{0, io.SeekStart, 0, 3, "012"},       // back to the start
		{-1, io.SeekCurrent, 2, 2, "23"},     // backwards
		{10, io.SeekStart, 10, 1, ""},        // at the end: EOF
		{0, io.SeekEnd, 10, 0, ""},           // at the end, empty read
		{-10, io.SeekEnd, 0, 10, "01234567"}, // overwritten below
	}
	steps[len(steps)-1].want = "0123456789"
	for i, st := range steps {
		at, err := r.Seek(st.offset, st.whence)
		if err != nil || at != st.wantAt {
			t.Fatalf("step %d: Seek(%d, %d) = %d, %v; want %d", i, st.offset, st.whence, at, err, st.wantAt)
		}
		buf := make([]byte, st.read)
		n, _ := io.ReadFull(r, buf)
		if got := string(buf[:n]); got != st.want {
			t.Errorf("step %d: read %q, want %q", i, got, st.want)
		}
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek to a negative position succeeded")
	}
}

// recordingWriter keeps the slices it was handed, without copying them.
type recordingWriter struct{ got [][]byte }

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.got = append(w.got, p)
	return len(p), nil
}

// limitedWriter accepts n bytes and then fails.
type limitedWriter struct {
	n   int
	buf bytes.Buffer
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		w.buf.Write(p[:w.n])
		k := w.n
		w.n = 0
		return k, errBoom
	}
	w.n -= len(p)
	return w.buf.Write(p)
}

func TestContentWriteTo(t *testing.T) {
	c := contentOf("abc", "defg", "h")
	var buf bytes.Buffer
	n, err := c.WriteTo(&buf)
	if err != nil || n != 8 || buf.String() != "abcdefgh" {
		t.Fatalf("WriteTo = %d, %v, %q", n, err, buf.String())
	}
	// io.Copy uses WriterTo, so serving a blob never copies it.
	var _ io.WriterTo = c

	t.Run("hands out the stored buffers", func(t *testing.T) {
		var w recordingWriter
		if _, err := c.WriteTo(&w); err != nil {
			t.Fatal(err)
		}
		if len(w.got) != len(c.chunks) {
			t.Fatalf("%d writes, want %d", len(w.got), len(c.chunks))
		}
		for i := range w.got {
			if !sameBacking(w.got[i], c.chunks[i]) {
				t.Errorf("write %d is a copy of chunk %d, want the chunk itself", i, i)
			}
		}
	})
	t.Run("writer error", func(t *testing.T) {
		w := &limitedWriter{n: 5}
		n, err := c.WriteTo(w)
		if !errors.Is(err, errBoom) {
			t.Errorf("WriteTo error = %v, want %v", err, errBoom)
		}
		if n != 5 || w.buf.String() != "abcde" {
			t.Errorf("WriteTo wrote %d (%q), want 5 (%q)", n, w.buf.String(), "abcde")
		}
	})
}

func TestContentBytes(t *testing.T) {
	t.Run("single chunk is the stored buffer", func(t *testing.T) {
		buf := []byte("only")
		c := newContent([][]byte{buf})
		b := c.Bytes()
		if string(b) != "only" || !sameBacking(b, buf) {
			t.Errorf("Bytes() = %q (same buffer: %v), want the stored buffer", b, sameBacking(b, buf))
		}
	})
	t.Run("several chunks are copied", func(t *testing.T) {
		c := contentOf("ab", "cd", "e")
		b := c.Bytes()
		if string(b) != "abcde" {
			t.Fatalf("Bytes() = %q", b)
		}
		if len(b) != cap(b) {
			t.Errorf("Bytes() has cap %d for len %d", cap(b), len(b))
		}
		for _, ch := range c.chunks {
			if sameBacking(b, ch) {
				t.Error("Bytes() shares a chunk's buffer")
			}
		}
		b[0] = 'X'
		if got := c.Bytes(); string(got) != "abcde" {
			t.Errorf("modifying the copy changed the content to %q", got)
		}
	})
}

func sha256Of(b []byte) digest.Digest { return digest.SHA256.FromBytes(b) }

func TestReadBodyKnownLength(t *testing.T) {
	data := []byte("hello, registry")
	n := int64(len(data))
	readers := map[string]func([]byte) io.Reader{
		"bytes":     func(b []byte) io.Reader { return bytes.NewReader(b) },
		"one byte":  func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"half":      func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"data+EOF":  func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
		"two parts": func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b[:3]), bytes.NewReader(b[3:])) },
	}
	for rname, mk := range readers {
		t.Run("exact/"+rname, func(t *testing.T) {
			h := sha256.New()
			chunks, got, err := readBody(mk(data), h, n, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got != n || len(chunks) != 1 {
				t.Fatalf("readBody = %d bytes in %d chunks, want %d in 1", got, len(chunks), n)
			}
			if !bytes.Equal(chunks[0], data) || cap(chunks[0]) != len(data) {
				t.Errorf("chunk = %q (cap %d), want %q with no spare capacity", chunks[0], cap(chunks[0]), data)
			}
			if d := digest.NewDigest(digest.SHA256, h); d != sha256Of(data) {
				t.Errorf("hash = %s, want %s", d, sha256Of(data))
			}
		})
		t.Run("short/"+rname, func(t *testing.T) {
			_, _, err := readBody(mk(data[:n-1]), sha256.New(), n, 0)
			if !errors.Is(err, ErrSizeInvalid) {
				t.Errorf("short body: error = %v, want ErrSizeInvalid", err)
			}
		})
		t.Run("long/"+rname, func(t *testing.T) {
			long := append(append([]byte{}, data...), '!')
			_, _, err := readBody(mk(long), sha256.New(), n, 0)
			if !errors.Is(err, ErrSizeInvalid) {
				t.Errorf("long body: error = %v, want ErrSizeInvalid", err)
			}
		})
	}

	t.Run("zero length", func(t *testing.T) {
		h := sha256.New()
		chunks, got, err := readBody(bytes.NewReader(nil), h, 0, 0)
		if err != nil || got != 0 || len(chunks) != 0 {
			t.Errorf("readBody(empty, 0) = %d chunks, %d, %v", len(chunks), got, err)
		}
		if d := digest.NewDigest(digest.SHA256, h); d != sha256Of(nil) {
			t.Errorf("hash = %s, want the empty digest", d)
		}
		if _, _, err := readBody(strings.NewReader("x"), h, 0, 0); !errors.Is(err, ErrSizeInvalid) {
			t.Errorf("readBody(1 byte, 0) error = %v, want ErrSizeInvalid", err)
		}
	})
	t.Run("reader error", func(t *testing.T) {
		r := &failingReader{data: data[:4], err: errBoom}
		_, _, err := readBody(r, sha256.New(), n, 0)
		if !errors.Is(err, ErrBlobUploadInvalid) {
			t.Errorf("error = %v, want ErrBlobUploadInvalid", err)
		}
		if !strings.Contains(err.Error(), errBoom.Error()) {
			t.Errorf("error %q does not mention the cause", err)
		}
	})
	t.Run("limit", func(t *testing.T) {
		r := &failingReader{err: errors.New("must not be read")}
		if _, _, err := readBody(r, sha256.New(), n, n-1); !errors.Is(err, ErrTooLarge) {
			t.Errorf("declared length over the limit: error = %v, want ErrTooLarge", err)
		}
		if _, got, err := readBody(bytes.NewReader(data), sha256.New(), n, n); err != nil || got != n {
			t.Errorf("declared length at the limit: %d, %v", got, err)
		}
	})
}

func TestReadBodyUnknownLength(t *testing.T) {
	const k = firstChunkSize
	tests := []struct {
		name string
		size int64
		want []int
	}{
		{"empty", 0, []int{}},
		{"tiny", 10, []int{10}},
		{"one under first chunk", k - 1, []int{k - 1}},
		{"exactly first chunk", k, []int{k}},
		{"one over first chunk", k + 1, []int{k, 1}},
		{"three growing chunks", k + 2*k + 100, []int{k, 2 * k, 100}},
		{"exactly two chunks", 3 * k, []int{k, 2 * k}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _ := io.ReadAll(patternReader(tt.size))
			for rname, r := range map[string]io.Reader{
				"bytes":    bytes.NewReader(data),
				"half":     iotest.HalfReader(bytes.NewReader(data)),
				"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
			} {
				h := sha256.New()
				chunks, n, err := readBody(r, h, -1, 0)
				if err != nil {
					t.Fatalf("%s: %v", rname, err)
				}
				if n != tt.size {
					t.Errorf("%s: read %d bytes, want %d", rname, n, tt.size)
				}
				if diff := cmp.Diff(tt.want, chunkLens(chunks)); diff != "" {
					t.Errorf("%s: chunk lengths (-want +got):\n%s", rname, diff)
				}
				for i, ch := range chunks {
					if cap(ch) != len(ch) {
						t.Errorf("%s: chunk %d has len %d but cap %d", rname, i, len(ch), cap(ch))
					}
				}
				if got := newContent(chunks).Bytes(); !bytes.Equal(got, data) {
					t.Errorf("%s: chunks do not hold the body", rname)
				}
				if d := digest.NewDigest(digest.SHA256, h); d != sha256Of(data) {
					t.Errorf("%s: hash = %s, want %s", rname, d, sha256Of(data))
				}
			}
		})
	}

	t.Run("chunks stop growing at the maximum", func(t *testing.T) {
		// 32K+64K+...+4M (8 chunks) = 255*32K, then 4M chunks.
		growth := []int{}
		var sum int64
		for s := firstChunkSize; s <= maxChunkSize; s *= 2 {
			growth = append(growth, s)
			sum += int64(s)
		}
		size := sum + maxChunkSize + 7
		want := append(growth, maxChunkSize, 7)
		h := digest.SHA512.Hash()
		chunks, n, err := readBody(patternReader(size), h, -1, 0)
		if err != nil || n != size {
			t.Fatalf("readBody = %d, %v; want %d", n, err, size)
		}
		if diff := cmp.Diff(want, chunkLens(chunks)); diff != "" {
			t.Errorf("chunk lengths (-want +got):\n%s", diff)
		}
		wantDigest, _ := digest.SHA512.FromReader(patternReader(size))
		if d := digest.NewDigest(digest.SHA512, h); d != wantDigest {
			t.Errorf("hash = %s, want %s", d, wantDigest)
		}
	})

	t.Run("limit", func(t *testing.T) {
		data := []byte(strings.Repeat("x", 100))
		if _, _, err := readBody(bytes.NewReader(data), sha256.New(), -1, 99); !errors.Is(err, ErrTooLarge) {
			t.Errorf("body over the limit: error = %v, want ErrTooLarge", err)
		}
		if _, n, err := readBody(bytes.NewReader(data), sha256.New(), -1, 100); err != nil || n != 100 {
			t.Errorf("body at the limit: %d, %v", n, err)
		}
		// The limit holds across chunks and for endless bodies.
		big := int64(firstChunkSize + 10)
		if _, _, err := readBody(patternReader(big), sha256.New(), -1, big-1); !errors.Is(err, ErrTooLarge) {
			t.Errorf("body over the limit in its second chunk: error = %v, want ErrTooLarge", err)
		}
		if _, _, err := readBody(&repeatReader{}, sha256.New(), -1, 10); !errors.Is(err, ErrTooLarge) {
			t.Errorf("endless body: error = %v, want ErrTooLarge", err)
		}
	})

	t.Run("reader error", func(t *testing.T) {
		// io.ErrUnexpectedEOF is what net/http reports for a chunked body cut
		// off mid-stream: it must not pass for the end of the body.
		for _, cause := range []error{errBoom, io.ErrUnexpectedEOF} {
			r := &failingReader{data: []byte("partial"), err: cause}
			chunks, n, err := readBody(r, sha256.New(), -1, 0)
			if !errors.Is(err, ErrBlobUploadInvalid) || chunks != nil || n != 0 {
				t.Errorf("%v: readBody = %d chunks, %d, %v; want nothing and ErrBlobUploadInvalid", cause, len(chunks), n, err)
			}
		}
	})
}
