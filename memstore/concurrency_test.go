package memstore

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkSnapshotInvariants checks what must hold in every snapshot: a
// snapshot is taken under one lock, so it is consistent even while other
// goroutines change the store.
func checkSnapshotInvariants(t testing.TB, snap Snapshot) {
	t.Helper()
	linked := map[digest.Digest]int{}
	for name, rs := range snap.Repositories {
		if !slices.IsSorted(rs.Blobs) || !slices.IsSorted(rs.Manifests) {
			t.Errorf("%s: snapshot slices are not sorted", name)
		}
		for _, d := range rs.Blobs {
			linked[d]++
			if _, ok := snap.Blobs[d]; !ok {
				t.Errorf("%s links blob %s, which is not stored", name, d)
			}
		}
		for tag, d := range rs.Tags {
			if _, ok := slices.BinarySearch(rs.Manifests, d); !ok {
				t.Errorf("%s: tag %s points at %s, which is not a stored manifest", name, tag, d)
			}
		}
		for subj, list := range rs.Referrers {
			if len(list) == 0 {
				t.Errorf("%s: empty referrers list kept for %s", name, subj)
			}
			seen := map[digest.Digest]bool{}
			for _, d := range list {
				if _, ok := slices.BinarySearch(rs.Manifests, d); !ok {
					t.Errorf("%s: referrer %s of %s is not a stored manifest", name, d, subj)
				}
				if seen[d] {
					t.Errorf("%s: referrer %s listed twice for %s", name, d, subj)
				}
				seen[d] = true
			}
		}
	}
	for d := range snap.Blobs {
		if linked[d] == 0 {
			t.Errorf("blob %s is stored but linked into no repository", d)
		}
	}
}

// checkInvariants checks the store's internal state: link counts, both
// digest keys of every manifest, sorted tag names, the referrers index.
func checkInvariants(t testing.TB, s *Store) {
	t.Helper()
	checkSnapshotInvariants(t, s.Snapshot())
	s.mu.RLock()
	defer s.mu.RUnlock()
	links := map[digest.Digest]int{}
	for name, r := range s.repos {
		for d := range r.blobs {
			links[d]++
		}
		if !slices.IsSorted(r.tagNames) || len(r.tagNames) != len(r.tags) {
			t.Errorf("%s: tagNames %v out of step with tags", name, r.tagNames)
		}
		for _, tag := range r.tagNames {
			m := r.tags[tag]
			if m == nil || r.manifests[m.sha256] != m {
				t.Errorf("%s: tag %s points at a manifest that is not stored", name, tag)
			}
		}
		stored := map[*Manifest]bool{}
		for d, m := range r.manifests {
			stored[m] = true
			if d != m.sha256 || digest.SHA256.FromBytes(m.Content) != d {
				t.Errorf("%s: manifest stored under %s, not its sha256 digest", name, d)
			}
			if m.Digest != m.sha256 && m.Digest != digest.SHA512.FromBytes(m.Content) {
				t.Errorf("%s: manifest %s is not stored under the digest it was pushed by", name, m.Digest)
			}
			if got := m.Digest.Algorithm().FromBytes(m.Content); got != m.Digest {
				t.Errorf("%s: manifest %s has content hashing to %s", name, m.Digest, got)
			}
		}
		// Every stored manifest is either waiting to be hashed or indexed
		// by its sha512 digest, once; nothing else is in either.
		pending := map[*Manifest]bool{}
		for _, m := range r.unhashed {
			if !stored[m] || pending[m] {
				t.Errorf("%s: unhashed list holds %s twice or after its deletion", name, m.Digest)
			}
			pending[m] = true
		}
		indexed := map[*Manifest]bool{}
		for k, m := range r.sha512 {
			if !stored[m] || pending[m] || indexed[m] || digest.SHA512.FromBytes(m.Content) != k {
				t.Errorf("%s: sha512 index holds %s for a manifest not stored, or not only, under it", name, k)
			}
			indexed[m] = true
		}
		if len(pending)+len(indexed) != len(stored) {
			t.Errorf("%s: %d manifests stored, %d waiting for sha512 and %d indexed", name, len(stored), len(pending), len(indexed))
		}
		for m := range stored {
			if m.Subject == nil {
				continue
			}
			n := 0
			for _, x := range r.referrers[m.Subject.Digest] {
				if x == m {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: manifest %s is %d times in its subject's referrers, want once", name, m.Digest, n)
			}
		}
		for subj, list := range r.referrers {
			for _, m := range list {
				if !stored[m] || m.Subject == nil || m.Subject.Digest != subj {
					t.Errorf("%s: referrers of %s hold a manifest that is not a stored referrer of it", name, subj)
				}
			}
		}
	}
	for d, e := range s.blobs {
		if e.links != links[d] {
			t.Errorf("blob %s has link count %d but %d repositories link it", d, e.links, links[d])
		}
		if got := d.Algorithm().FromBytes(e.content.Bytes()); got != d {
			t.Errorf("blob %s holds bytes hashing to %s", d, got)
		}
	}
	for d := range links {
		if s.blobs[d] == nil {
			t.Errorf("blob %s is linked but not stored", d)
		}
	}
}

// tolerate reports an error unless it is nil or derived from one of ok.
func tolerate(t testing.TB, op string, err error, ok ...*Error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, k := range ok {
		if errors.Is(err, k) {
			return
		}
	}
	t.Errorf("%s: unexpected error %v", op, err)
}

func TestConcurrentOperations(t *testing.T) {
	const (
		workers = 8
		ops     = 60
	)
	s := New()
	repos := []string{"a", "b", "c/d"}
	tags := []string{"t0", "t1", "t2", "latest"}
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	var payloads [][]byte
	for i := range 6 {
		payloads = append(payloads, []byte(strings.Repeat(fmt.Sprintf("payload %d;", i), 10*(i+1))))
	}
	// Manifests: images over the payloads, some referring to others.
	var manifests [][]byte
	for i := range 6 {
		m := ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: MediaTypeOCIManifest,
			Config:    descOf(mtConfig, config),
			Layers:    []ocispec.Descriptor{descOf(mtLayer, payloads[i])},
		}
		if i >= 3 {
			subj := manifestDesc(MediaTypeOCIManifest, manifests[i-3])
			m.Subject = &subj
			m.ArtifactType = mtSBOM
		}
		manifests = append(manifests, mustJSON(t, m))
	}

	// Successful operations by kind, to check the test exercised them all.
	var done [10]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			pick := func(n int) int { return rng.IntN(n) }
			for i := range ops {
				repo := repos[pick(len(repos))]
				p := payloads[pick(len(payloads))]
				pd := sha256Of(p)
				switch op := pick(10); op {
				case 0: // monolithic blob push, known or unknown length
					size := int64(len(p))
					if pick(2) == 0 {
						size = -1
					}
					_, err := s.PutBlob(repo, pd, bytes.NewReader(p), size)
					tolerate(t, "PutBlob", err)
				case 1: // mount, named or anonymous
					from := repos[pick(len(repos))]
					if pick(3) == 0 {
						from = ""
					}
					info, err := s.MountBlob(repo, from, pd)
					tolerate(t, "MountBlob", err, ErrBlobUnknown)
					if err == nil {
						done[op].Add(1)
						if info.Size != int64(len(p)) {
							t.Errorf("MountBlob size %d, want %d", info.Size, len(p))
						}
					}
				case 2: // sometimes the config, so that manifest pushes race with it
					d := pd
					if pick(4) == 0 {
						d = sha256Of(config)
					}
					err := s.DeleteBlob(repo, d)
					tolerate(t, "DeleteBlob", err, ErrBlobUnknown)
					if err == nil {
						done[op].Add(1)
					}
				case 3: // push a manifest by tag (moving tags) or by digest
					if _, err := s.PutBlob(repo, "", bytes.NewReader(config), int64(len(config))); err != nil {
						t.Errorf("PutBlob(config): %v", err)
					}
					b := manifests[pick(len(manifests))]
					ref := tags[pick(len(tags))]
					if pick(3) == 0 {
						ref = string(digest.SHA512.FromBytes(b))
					}
					// The config may be deleted by another worker in between.
					_, err := s.PutManifest(repo, ref, MediaTypeOCIManifest, b, tags[pick(len(tags))])
					tolerate(t, "PutManifest", err, ErrManifestBlobUnknown)
					if err == nil {
						done[op].Add(1)
					}
				case 4:
					ref := tags[pick(len(tags))]
					switch pick(4) {
					case 0, 1:
						ref = string(sha256Of(manifests[pick(len(manifests))]))
					case 2: // through the lazy sha512 index (sha512.go)
						ref = string(digest.SHA512.FromBytes(manifests[pick(len(manifests))]))
					}
					err := s.DeleteManifest(repo, ref)
					tolerate(t, "DeleteManifest", err, ErrManifestUnknown, ErrNameUnknown)
					if err == nil {
						done[op].Add(1)
					}
				case 5, 6: // chunked upload, sometimes with a failing chunk, completed or cancelled
					u, err := s.StartUpload(repo, "")
					if err != nil {
						t.Errorf("StartUpload: %v", err)
						continue
					}
					cut := pick(len(p))
					if _, err := s.AppendUpload(repo, u.ID, 0, bytes.NewReader(p[:cut]), int64(cut)); err != nil {
						t.Errorf("AppendUpload: %v", err)
					}
					if pick(2) == 0 {
						_, err := s.AppendUpload(repo, u.ID, -1, &failingReader{data: []byte("junk"), err: errBoom}, -1)
						tolerate(t, "AppendUpload(failing)", err, ErrBlobUploadInvalid)
						if err == nil {
							t.Error("failing chunk accepted")
						}
					}
					if pick(5) == 0 {
						tolerate(t, "CancelUpload", s.CancelUpload(repo, u.ID))
						continue
					}
					bi, err := s.CompleteUpload(repo, u.ID, pd, int64(cut), bytes.NewReader(p[cut:]), -1)
					tolerate(t, "CompleteUpload", err)
					if err == nil {
						done[op].Add(1)
						if bi.Size != int64(len(p)) {
							t.Errorf("CompleteUpload size %d, want %d", bi.Size, len(p))
						}
					}
				case 7:
					checkSnapshotInvariants(t, s.Snapshot())
				case 8: // reads, checking what comes back
					if c, err := s.Blob(repo, pd); err == nil {
						buf := make([]byte, c.Size())
						if n, err := c.ReadAt(buf, 0); n != len(p) || err != nil || !bytes.Equal(buf, p) {
							t.Errorf("blob %s reads %d bytes, %v", pd, n, err)
						}
					} else {
						tolerate(t, "Blob", err, ErrBlobUnknown)
					}
					if m, err := s.Manifest(repo, tags[pick(len(tags))]); err == nil {
						if !slices.ContainsFunc(manifests, func(b []byte) bool { return bytes.Equal(b, m.Content) }) {
							t.Errorf("tag resolves to unknown content")
						}
					} else {
						tolerate(t, "Manifest", err, ErrManifestUnknown, ErrNameUnknown)
					}
					want := manifests[pick(len(manifests))]
					if m, err := s.Manifest(repo, string(digest.SHA512.FromBytes(want))); err == nil {
						if !bytes.Equal(m.Content, want) {
							t.Errorf("sha512 digest resolves to other content")
						}
					} else {
						tolerate(t, "Manifest", err, ErrManifestUnknown, ErrNameUnknown)
					}
					for _, d := range s.Referrers(repo, sha256Of(manifests[pick(3)]), "") {
						if d.ArtifactType != mtSBOM {
							t.Errorf("referrer %s has artifactType %q", d.Digest, d.ArtifactType)
						}
					}
				case 9:
					if _, _, err := s.Tags(repo, tags[pick(len(tags))], 1+pick(3)); err != nil {
						tolerate(t, "Tags", err, ErrNameUnknown)
					}
					s.Repositories("", 2)
				default:
					t.Fatalf("op %d in step %d", op, i)
				}
			}
		})
	}
	wg.Wait()
	checkInvariants(t, s)
	if snap := s.Snapshot(); len(snap.Uploads) != 0 {
		t.Errorf("sessions left open: %v", snap.Uploads)
	}
	for op, name := range map[int]string{1: "MountBlob", 2: "DeleteBlob", 3: "PutManifest", 4: "DeleteManifest"} {
		if done[op].Load() == 0 {
			t.Errorf("no %s succeeded: the test does not exercise it", name)
		}
	}
	if done[5].Load()+done[6].Load() == 0 {
		t.Error("no upload completed: the test does not exercise it")
	}
	s.mu.RLock()
	open := len(s.uploads)
	s.mu.RUnlock()
	if open != 0 {
		t.Errorf("%d sessions left in the store", open)
	}
}

// TestConcurrentChunksOneSession appends identical chunks to one session
// from many goroutines: whatever the order, the result is known.
func TestConcurrentChunksOneSession(t *testing.T) {
	const (
		workers = 8
		each    = 10
	)
	s := New()
	u := mustStart(t, s, "app", "")
	chunk := []byte("0123456789abcdef")
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := s.AppendUpload("app", u.ID, -1, bytes.NewReader(chunk), int64(len(chunk))); err != nil {
					t.Errorf("AppendUpload: %v", err)
				}
				// A failing chunk in between must not disturb the others.
				_, err := s.AppendUpload("app", u.ID, -1, &failingReader{data: []byte("x"), err: errBoom}, -1)
				tolerate(t, "failing chunk", err, ErrBlobUploadInvalid)
				if _, err := s.Upload("app", u.ID); err != nil {
					t.Errorf("Upload: %v", err)
				}
				s.Snapshot()
			}
		})
	}
	wg.Wait()
	whole := bytes.Repeat(chunk, workers*each)
	bi, err := s.CompleteUpload("app", u.ID, sha256Of(whole), int64(len(whole)), nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Size != int64(len(whole)) {
		t.Errorf("size %d, want %d", bi.Size, len(whole))
	}
}

// TestConcurrentRacingOffsets sends many chunks claiming the same offset:
// exactly one wins, the others are out of order.
func TestConcurrentRacingOffsets(t *testing.T) {
	const workers = 16
	s := New()
	u := mustStart(t, s, "app", "")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []int
	)
	for w := range workers {
		wg.Go(func() {
			chunk := fmt.Sprintf("chunk-%02d", w)
			_, err := s.AppendUpload("app", u.ID, 0, strings.NewReader(chunk), int64(len(chunk)))
			if err == nil {
				mu.Lock()
				wins = append(wins, w)
				mu.Unlock()
				return
			}
			tolerate(t, "AppendUpload", err, ErrRangeInvalid)
		})
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d chunks at offset 0 accepted, want 1", len(wins))
	}
	want := []byte(fmt.Sprintf("chunk-%02d", wins[0]))
	if _, err := s.CompleteUpload("app", u.ID, sha256Of(want), -1, nil, -1); err != nil {
		t.Fatalf("complete with the winner's bytes: %v", err)
	}
}

// TestConcurrentCompleteAndCancel races completion, cancellation and
// chunks on one session: exactly one ending wins and the store stays
// consistent.
func TestConcurrentCompleteAndCancel(t *testing.T) {
	for round := range 20 {
		s := New()
		u := mustStart(t, s, "app", "")
		mustAppend(t, s, "app", u.ID, "data")
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			ended int
		)
		end := func(err error) {
			tolerate(t, "ending", err, ErrBlobUploadUnknown)
			if err == nil {
				mu.Lock()
				ended++
				mu.Unlock()
			}
		}
		wg.Go(func() {
			_, err := s.CompleteUpload("app", u.ID, sha256Of([]byte("data")), -1, nil, -1)
			end(err)
		})
		wg.Go(func() { end(s.CancelUpload("app", u.ID)) })
		wg.Go(func() {
			_, err := s.AppendUpload("app", u.ID, 4, strings.NewReader(""), 0)
			tolerate(t, "AppendUpload", err, ErrBlobUploadUnknown)
		})
		wg.Go(func() { checkSnapshotInvariants(t, s.Snapshot()) })
		wg.Wait()
		if ended != 1 {
			t.Errorf("round %d: %d endings succeeded, want 1", round, ended)
		}
		checkInvariants(t, s)
		if snap := s.Snapshot(); len(snap.Uploads) != 0 {
			t.Errorf("round %d: session still open", round)
		}
	}
}
