package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// setupFunc prepares s for a workload (outside the timer) and returns the
// timed loop.
type setupFunc func(b *testing.B, s *server) func(b *testing.B)

// runImpls runs one workload against each implementation of set. Each
// round (-count) of an implementation's sub-benchmark starts, seeds and
// closes an instance of its own, so that no round inherits what an
// earlier one stored: the client workloads keep every image they push,
// and a registry kept across rounds grew past the heap warmed up for it
// (main_test.go), faster implementations sooner.
func runImpls(b *testing.B, set []impl, setup setupFunc) {
	for _, im := range set {
		b.Run("impl="+im.name, func(b *testing.B) {
			s := im.start(b)
			defer func() {
				s.close()
				client.CloseIdleConnections()
			}()
			loop := setup(b, s)
			b.ReportAllocs()
			cpu, faults := processUsage()
			b.ResetTimer()
			loop(b)
			b.StopTimer()
			cpuEnd, faultsEnd := processUsage()
			// CPU time of the whole process (client and server) per
			// operation: unlike ns/op, it does not count time spent
			// waiting for a core that other processes hold.
			b.ReportMetric(float64(cpuEnd-cpu)/float64(b.N), "cpu-ns/op")
			// Fresh heap pages the process touched per operation: in a VM
			// each costs microseconds. After TestMain's warm-up, small
			// requests take next to none; large transfers that grow the
			// heap past it still do (BENCHMARKS.md).
			b.ReportMetric(float64(faultsEnd-faults)/float64(b.N), "faults/op")
		})
	}
}

// processUsage is the CPU time the process has used, in nanoseconds, and
// the number of minor page faults it has taken.
func processUsage() (cpuNanos, faults int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), ru.Minflt
}

// getLoop is a timed loop of GET or HEAD requests for url.
func getLoop(method, url string, header http.Header, wantLen int64) func(b *testing.B) {
	return func(b *testing.B) {
		for b.Loop() {
			get(b, method, url, header, wantLen)
		}
	}
}

func BenchmarkPing(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		// Not every implementation sends a body ("{}") with the ping.
		get(b, http.MethodGet, s.url+"/v2/", nil, -1)
		return getLoop(http.MethodGet, s.url+"/v2/", nil, -1)
	})
}

var acceptManifests = http.Header{"Accept": {ocispec.MediaTypeImageManifest + ", " + ocispec.MediaTypeImageIndex}}

func BenchmarkManifestGetTag(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		img := smallImage("")
		seedImage(b, s, "app", "v1", img)
		u := s.url + "/v2/app/manifests/v1"
		get(b, http.MethodGet, u, acceptManifests, int64(len(img.manifest)))
		return getLoop(http.MethodGet, u, acceptManifests, int64(len(img.manifest)))
	})
}

func BenchmarkManifestHeadDigest(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		img := smallImage("")
		seedImage(b, s, "app", "v1", img)
		u := s.url + "/v2/app/manifests/" + string(img.manifestDigest)
		get(b, http.MethodHead, u, acceptManifests, int64(len(img.manifest)))
		return getLoop(http.MethodHead, u, acceptManifests, int64(len(img.manifest)))
	})
}

func BenchmarkBlobHead(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		d := s.putBlob(b, "app", blob4K().data)
		u := s.url + "/v2/app/blobs/" + string(d)
		get(b, http.MethodHead, u, nil, 4<<10)
		return getLoop(http.MethodHead, u, nil, 4<<10)
	})
}

func benchmarkBlobGet(b *testing.B, bl func() blob) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		data := bl().data
		d := s.putBlob(b, "app", data)
		u := s.url + "/v2/app/blobs/" + string(d)
		get(b, http.MethodGet, u, nil, int64(len(data)))
		loop := getLoop(http.MethodGet, u, nil, int64(len(data)))
		return func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			loop(b)
		}
	})
}

func BenchmarkBlobGet4K(b *testing.B)  { benchmarkBlobGet(b, blob4K) }
func BenchmarkBlobGet64M(b *testing.B) { benchmarkBlobGet(b, blob64M) }

// pushMonolithic sends bl in one POST (end-4b).
func pushMonolithic(tb testing.TB, s *server, repo string, bl blob) {
	do(tb, http.MethodPost, s.url+"/v2/"+repo+"/blobs/uploads/?digest="+string(bl.d),
		bytes.NewReader(bl.data), int64(len(bl.data)), octetStream, http.StatusCreated)
}

var octetStream = http.Header{"Content-Type": {"application/octet-stream"}}

func deleteBlob(tb testing.TB, s *server, repo string, bl blob) {
	do(tb, http.MethodDelete, s.url+"/v2/"+repo+"/blobs/"+string(bl.d), nil, 0, nil, http.StatusAccepted)
}

func BenchmarkPushMonolithic4K(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		pool := smallPool()
		var next int
		return func(b *testing.B) {
			b.SetBytes(4 << 10)
			for b.Loop() {
				pushMonolithic(b, s, "push", pool[next%len(pool)])
				next++
			}
		}
	})
}

// Large pushes delete the blob after each push (outside the timer), so
// that every push stores new content and memory stays flat.
func BenchmarkPushMonolithic64M(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		bl := blob64M()
		return func(b *testing.B) {
			b.SetBytes(int64(len(bl.data)))
			for b.Loop() {
				pushMonolithic(b, s, "push", bl)
				b.StopTimer()
				deleteBlob(b, s, "push", bl)
				b.StartTimer()
			}
		}
	})
}

// pushChunked sends bl as POST, PATCHes of chunk bytes with Content-Range,
// and a closing PUT (end-4a, end-5, end-6).
func pushChunked(tb testing.TB, s *server, repo string, bl blob, chunk int) {
	resp := do(tb, http.MethodPost, s.url+"/v2/"+repo+"/blobs/uploads/", nil, 0, nil, http.StatusAccepted)
	loc := location(tb, resp)
	for off := 0; off < len(bl.data); off += chunk {
		end := min(off+chunk, len(bl.data))
		h := http.Header{
			"Content-Type":  {"application/octet-stream"},
			"Content-Range": {strconv.Itoa(off) + "-" + strconv.Itoa(end-1)},
		}
		resp = do(tb, http.MethodPatch, loc.String(), bytes.NewReader(bl.data[off:end]), int64(end-off), h, http.StatusAccepted)
		loc = location(tb, resp)
	}
	q := loc.Query()
	q.Set("digest", string(bl.d))
	loc.RawQuery = q.Encode()
	do(tb, http.MethodPut, loc.String(), nil, 0, nil, http.StatusCreated)
}

func location(tb testing.TB, resp *http.Response) *url.URL {
	loc, err := resp.Location()
	if err != nil {
		tb.Fatalf("%s %s: %v", resp.Request.Method, resp.Request.URL, err)
	}
	return loc
}

func BenchmarkPushChunked16x1M(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		bl := blob16M()
		return func(b *testing.B) {
			b.SetBytes(int64(len(bl.data)))
			for b.Loop() {
				pushChunked(b, s, "push", bl, 1<<20)
				b.StopTimer()
				deleteBlob(b, s, "push", bl)
				b.StartTimer()
			}
		}
	})
}

func BenchmarkManifestPut(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		seedImage(b, s, "app", "v1", smallImage(""))
		prefix, suffix := manifestTemplate()
		h := http.Header{"Content-Type": {ocispec.MediaTypeImageManifest}}
		u := s.url + "/v2/app/manifests/latest"
		var buf []byte
		var i int
		return func(b *testing.B) {
			for b.Loop() {
				buf = uniqueManifest(buf, prefix, suffix, i)
				i++
				do(b, http.MethodPut, u, bytes.NewReader(buf), int64(len(buf)), h, http.StatusCreated)
			}
		}
	})
}

// tagCount is the size of the tags-page workload's repository.
const tagCount = 100_000

func tagName(i int) string { return fmt.Sprintf("t%06d", i) }

func BenchmarkTagsPage(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		img := smallImage("")
		tags := make([]string, tagCount)
		for i := range tags {
			tags[i] = tagName(i)
		}
		seedImage(b, s, "tags", tags[0], img)
		s.putManifest(b, "tags", tags[0], ocispec.MediaTypeImageManifest, img.manifest, tags[1:]...)
		first := tagCount / 2
		want, _ := json.Marshal(map[string]any{"name": "tags", "tags": tags[first+1 : first+101]})
		s.canned("/v2/tags/tags/list", "application/json", want)
		u := s.url + "/v2/tags/tags/list?n=100&last=" + tags[first]
		checkJSON(b, u, func(body []byte) error {
			var got struct{ Tags []string }
			if err := json.Unmarshal(body, &got); err != nil {
				return err
			}
			if len(got.Tags) != 100 || got.Tags[0] != tags[first+1] {
				return fmt.Errorf("got %d tags from %v", len(got.Tags), got.Tags[:min(1, len(got.Tags))])
			}
			return nil
		})
		return func(b *testing.B) {
			for b.Loop() {
				do(b, http.MethodGet, u, nil, 0, nil, http.StatusOK)
			}
		}
	})
}

// referrerCount is the number of referrers in the referrers workload.
const referrerCount = 1000

func BenchmarkReferrers(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		img := smallImage("")
		seedImage(b, s, "refs", "v1", img)
		s.putBlob(b, "refs", emptyJSON)
		index := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
		index.SchemaVersion = 2
		for i := range referrerCount {
			body, desc := artifact(img.manifestDescript, i)
			s.putManifest(b, "refs", string(desc.Digest), ocispec.MediaTypeImageManifest, body)
			index.Manifests = append(index.Manifests, desc)
		}
		path := "/v2/refs/referrers/" + string(img.manifestDigest)
		want, _ := json.Marshal(index)
		s.canned(path, ocispec.MediaTypeImageIndex, want)
		checkJSON(b, s.url+path, func(body []byte) error {
			var got ocispec.Index
			if err := json.Unmarshal(body, &got); err != nil {
				return err
			}
			if len(got.Manifests) != referrerCount {
				return fmt.Errorf("got %d referrers", len(got.Manifests))
			}
			return nil
		})
		return func(b *testing.B) {
			for b.Loop() {
				do(b, http.MethodGet, s.url+path, nil, 0, nil, http.StatusOK)
			}
		}
	})
}

// checkJSON GETs u once and checks its body.
func checkJSON(tb testing.TB, u string, check func([]byte) error) {
	tb.Helper()
	resp, err := client.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s %s", u, resp.Status, buf.String())
	}
	if err := check(buf.Bytes()); err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
}

// BenchmarkParallelMix is pull-heavy traffic from concurrent clients:
// GET manifest, HEAD blob, GET 4 KiB blob and a small push in the ratio
// 8:4:4:1. ns/op is per request.
func BenchmarkParallelMix(b *testing.B) {
	runImpls(b, impls, func(b *testing.B, s *server) func(b *testing.B) {
		img := smallImage("")
		seedImage(b, s, "mix", "v1", img)
		manifest := s.url + "/v2/mix/manifests/v1"
		layer := s.url + "/v2/mix/blobs/" + string(blob4K().d)
		pool := smallPool()
		var pushes atomic.Int64
		return func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					switch op := i % 17; {
					case op < 8:
						get(b, http.MethodGet, manifest, acceptManifests, int64(len(img.manifest)))
					case op < 12:
						get(b, http.MethodHead, layer, nil, 4<<10)
					case op < 16:
						get(b, http.MethodGet, layer, nil, 4<<10)
					default:
						pushMonolithic(b, s, "mix", pool[int(pushes.Add(1))%len(pool)])
					}
				}
			})
		}
	})
}
