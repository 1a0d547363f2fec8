package memstore

import "hash"

// bodyHash hashes a body as it is read. Once a body is known to be large
// it hashes on a goroutine of its own, so that hashing one piece overlaps
// with reading the next: on a machine with a core to spare, a push then
// costs about the time of the slower of the two instead of their sum.
type bodyHash struct {
	h    hash.Hash
	ch   chan []byte // pieces for the hashing goroutine; nil: hash in line
	done chan struct{}
}

// asyncHashMin is the size from which a body is hashed on its own
// goroutine: below it, starting one costs more than it saves.
const asyncHashMin = 1 << 20

// write adds p to the hash. After async, p is hashed later: it must not
// change until wait returns.
func (b *bodyHash) write(p []byte) {
	if len(p) == 0 {
		return
	}
	if b.ch != nil {
		b.ch <- p
		return
	}
	b.h.Write(p)
}

// async moves hashing to its own goroutine.
func (b *bodyHash) async() {
	if b.ch != nil {
		return
	}
	ch, done, h := make(chan []byte, 16), make(chan struct{}), b.h
	go func() {
		defer close(done)
		for p := range ch {
			h.Write(p)
		}
	}()
	b.ch, b.done = ch, done
}

// wait returns once every piece written is in the hash, which is then the
// caller's again.
func (b *bodyHash) wait() {
	if done := b.finish(); done != nil {
		<-done
	}
}

// finish says no more pieces come, and returns a channel closed once the
// hashing goroutine has hashed them all (nil if it hashed in line): until
// then the hash must not be touched.
func (b *bodyHash) finish() <-chan struct{} {
	if b.ch == nil {
		return nil
	}
	close(b.ch)
	b.ch = nil
	return b.done
}
