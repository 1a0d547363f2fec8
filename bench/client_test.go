package bench

import (
	"fmt"
	"io"
	"net/url"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Client-driven workloads: go-containerregistry's remote package pushes
// a new image (layers no registry has seen) to a new repository and pulls
// it back, reading every layer (which remote checks against its digest).
// New content every time: go-containerregistry's registry keeps blobs
// across repositories, so an image it has seen in any repository is not
// uploaded again, which would compare a HEAD with an upload. The images
// are made outside the timer. The floor cannot take part: a client needs
// a registry that remembers what it was sent.

// ggcrImage is an image of layers generated blobs of size bytes, unique
// to seed, its digests computed before it is timed.
func ggcrImage(tb testing.TB, seed, layers int, size int64) v1.Image {
	var ls []v1.Layer
	for i := range layers {
		ls = append(ls, static.NewLayer(genBytes(int64(1_000_000+seed*100+i), size), types.OCILayer))
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		tb.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if _, err := img.Digest(); err != nil {
		tb.Fatal(err)
	}
	for _, l := range ls {
		if _, err := l.Digest(); err != nil {
			tb.Fatal(err)
		}
	}
	return img
}

// pushPull pushes img to repo:v1 and pulls it back.
func pushPull(tb testing.TB, host, repo string, img v1.Image) {
	ref, err := name.ParseReference(host+"/"+repo+":v1", name.Insecure)
	if err != nil {
		tb.Fatal(err)
	}
	opt := remote.WithTransport(client.Transport)
	if err := remote.Write(ref, img, opt); err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
	got, err := remote.Image(ref, opt)
	if err != nil {
		tb.Fatalf("pull %s: %v", ref, err)
	}
	layers, err := got.Layers()
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			tb.Fatal(err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			tb.Fatalf("pull %s: %v", ref, err)
		}
	}
}

func hostOf(tb testing.TB, s *server) string {
	u, err := url.Parse(s.url)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Host
}

func benchmarkClient(b *testing.B, layers int, size int64, pushers int) {
	runImpls(b, registries, func(b *testing.B, s *server) func(b *testing.B) {
		host := hostOf(b, s)
		var n int
		return func(b *testing.B) {
			b.SetBytes(int64(layers) * size * int64(pushers))
			for b.Loop() {
				b.StopTimer()
				imgs := make([]v1.Image, pushers)
				for p := range imgs {
					imgs[p] = ggcrImage(b, n*pushers+p, layers, size)
				}
				b.StartTimer()
				var wg sync.WaitGroup
				for p, img := range imgs {
					repo := fmt.Sprintf("client/r%d-%d", n, p)
					wg.Go(func() { pushPull(b, host, repo, img) })
				}
				wg.Wait()
				n++
			}
		}
	})
}

func BenchmarkClient1x1M(b *testing.B)          { benchmarkClient(b, 1, 1<<20, 1) }
func BenchmarkClient10x4K(b *testing.B)         { benchmarkClient(b, 10, 4<<10, 1) }
func BenchmarkClient8Pushers10x4K(b *testing.B) { benchmarkClient(b, 10, 4<<10, 8) }
