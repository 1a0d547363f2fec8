package memstore

import (
	"errors"
	"hash"
	"io"
	"sort"
)

// Content is immutable blob bytes held as the list of buffers they were
// read into. Keeping the buffers instead of concatenating them means a
// chunked upload never copies earlier chunks, and a finished upload becomes a
// blob without copying at all.
type Content struct {
	chunks  [][]byte
	offsets []int64 // offsets[i] is the position of chunks[i][0] in the blob
	size    int64
}

// newContent builds Content over chunks, taking ownership of them.
func newContent(chunks [][]byte) *Content {
	c := &Content{}
	for _, ch := range chunks {
		c.appendChunk(ch)
	}
	return c
}

// appendChunk adds a buffer to the end; empty buffers are dropped.
func (c *Content) appendChunk(b []byte) {
	if len(b) == 0 {
		return
	}
	c.chunks = append(c.chunks, b)
	c.offsets = append(c.offsets, c.size)
	c.size += int64(len(b))
}

// Size is the number of bytes.
func (c *Content) Size() int64 { return c.size }

// ReadAt implements io.ReaderAt; it is safe for concurrent use.
func (c *Content) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("memstore: negative offset")
	}
	if off >= c.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	// The chunk holding off is the last one starting at or before it.
	i := sort.Search(len(c.offsets), func(i int) bool { return c.offsets[i] > off }) - 1
	n := 0
	for ; i < len(c.chunks) && n < len(p); i++ {
		start := off + int64(n) - c.offsets[i]
		n += copy(p[n:], c.chunks[i][start:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// NewReader returns a reader over the bytes that also seeks, as
// http.ServeContent needs for Range requests.
func (c *Content) NewReader() *io.SectionReader {
	return io.NewSectionReader(c, 0, c.size)
}

// WriteTo writes the bytes to w without an intermediate copy.
func (c *Content) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for _, ch := range c.chunks {
		n, err := w.Write(ch)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Bytes returns the content as one slice. For single-buffer content (every
// monolithic upload) that is the stored buffer itself, which callers must not
// modify; otherwise it is a new copy.
func (c *Content) Bytes() []byte {
	switch len(c.chunks) {
	case 0:
		return []byte{}
	case 1:
		return c.chunks[0]
	}
	out := make([]byte, 0, c.size)
	for _, ch := range c.chunks {
		out = append(out, ch...)
	}
	return out
}

const (
	firstChunkSize = 32 << 10 // small bodies of unknown length stay small
	maxChunkSize   = 4 << 20  // large ones are kept in 4 MiB buffers
)

// readBody reads r to its end into buffers, writing every byte to h as it
// arrives. expect is the declared length (-1 if unknown): when known, the
// bytes go into one buffer of exactly that size and any other length is a
// size error. limit (> 0) caps the total; going past it is ErrTooLarge.
func readBody(r io.Reader, h hash.Hash, expect, limit int64) ([][]byte, int64, error) {
	bh := &bodyHash{h: h}
	defer bh.wait()
	return readBodyHashing(r, bh, expect, limit)
}

// readBodyHashing is readBody writing to bh, which may still be hashing
// when it returns: the caller waits for it (bodyHash.wait) before it uses
// the hash, whether reading succeeded or not.
func readBodyHashing(r io.Reader, bh *bodyHash, expect, limit int64) ([][]byte, int64, error) {
	if limit > 0 && expect > limit {
		return nil, 0, errorf(ErrTooLarge, "declared length %d exceeds the limit of %d bytes", expect, limit)
	}
	if expect >= 0 {
		return readKnown(r, bh, expect)
	}
	var chunks [][]byte
	var total int64
	size := firstChunkSize
	for {
		if total >= asyncHashMin {
			bh.async()
		}
		buf := make([]byte, size)
		n, err := fill(r, buf, bh)
		if n > 0 {
			total += int64(n)
			if limit > 0 && total > limit {
				return nil, 0, errorf(ErrTooLarge, "body exceeds the limit of %d bytes", limit)
			}
			if n < len(buf) {
				// Keep no spare capacity: copy the short tail to its exact size.
				// (make, not append: append rounds the capacity up to the
				// allocator's size class, leaving cap > len.)
				tail := make([]byte, n)
				copy(tail, buf[:n])
				buf = tail
			}
			chunks = append(chunks, buf)
		}
		switch {
		case err == io.EOF:
			return chunks, total, nil
		case err != nil:
			return nil, 0, bodyError(err)
		}
		if size < maxChunkSize {
			size *= 2
		}
	}
}

// fill reads into buf until it is full or r ends, writing each piece to
// h as soon as it arrives, while it is still in the CPU's cache. Unlike
// io.ReadFull it reports a clean end as io.EOF even after a partial read,
// and passes any other error through: net/http reports a chunked body cut
// off mid-stream as io.ErrUnexpectedEOF, which must not pass for the end
// of the body.
func fill(r io.Reader, buf []byte, h *bodyHash) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:min(n+hashPiece, len(buf))])
		h.write(buf[n : n+m])
		n += m
		if err == io.EOF && n == len(buf) {
			return n, nil // full: the next read reports the end again
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// hashPiece is the most fill reads before hashing what it read: small
// enough to be hashed from the cache it was just written to.
const hashPiece = 256 << 10

// knownChunkSize caps the buffers a body of declared length is read into:
// a huge Content-Length then costs memory only as the bytes really arrive.
const knownChunkSize = 16 << 20

// readKnown reads exactly expect bytes, hashing as it reads, into buffers of
// exactly the sizes needed (one buffer up to knownChunkSize).
func readKnown(r io.Reader, bh *bodyHash, expect int64) ([][]byte, int64, error) {
	if expect >= asyncHashMin {
		bh.async()
	}
	var chunks [][]byte
	var n int64
	for n < expect {
		buf := make([]byte, min(expect-n, knownChunkSize))
		m, err := fill(r, buf, bh)
		n += int64(m)
		switch {
		case err == io.EOF:
			return nil, 0, errorf(ErrSizeInvalid, "body has %d bytes, Content-Length said %d", n, expect)
		case err != nil:
			return nil, 0, bodyError(err)
		}
		chunks = append(chunks, buf)
	}
	// The body must end here: one more byte means the declared length lied.
	var one [1]byte
	if m, _ := io.ReadFull(r, one[:]); m > 0 {
		return nil, 0, errorf(ErrSizeInvalid, "body is longer than the declared %d bytes", expect)
	}
	return chunks, n, nil
}
