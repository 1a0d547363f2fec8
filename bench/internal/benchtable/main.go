// Command benchtable turns the output of the bench module's benchmarks
// (go test -bench, any -count) into the markdown table of BENCHMARKS.md:
// the median of each implementation, ocifixture's ratio to the floor and
// to the faster of go-containerregistry and cue-labs, and whether the
// targets of issue 8 are met. Where ocifixture's median is slower than the
// faster anchor's but a Mann-Whitney U test of the rounds finds no
// significant difference (p > 0.05, benchstat's "~"), the table says "≈"
// with the p-value rather than ✅ or ❌.
//
//	go run ./internal/benchtable [-cpu] results.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// kind says which number of a benchmark the table shows.
type kind int

const (
	timeKind       kind = iota // ns/op, lower is better
	throughputKind             // MB/s shown as MiB/s, higher is better
	allocKind                  // alloc/stored, lower is better
	retainedKind               // retained/stored, lower is better
)

// row is one line of the table.
type row struct {
	bench string // benchmark name without "Benchmark"
	label string
	kind  kind
	// floorMax (time) or floorMin (throughput) bounds ocifixture/floor;
	// 0: no floor target. absMax bounds the value itself (heap).
	floorMax, floorMin, absMax float64
	// ggcrMin is a lower bound of ocifixture/ggcr throughput.
	ggcrMin float64
}

var rows = []row{
	{bench: "Ping", label: "ping", kind: timeKind, floorMax: 1.3},
	{bench: "ManifestGetTag", label: "manifest GET by tag", kind: timeKind, floorMax: 1.3},
	{bench: "ManifestHeadDigest", label: "manifest HEAD by digest", kind: timeKind, floorMax: 1.3},
	{bench: "BlobHead", label: "blob HEAD", kind: timeKind, floorMax: 1.3},
	{bench: "BlobGet4K", label: "blob GET 4 KiB", kind: timeKind, floorMax: 1.3},
	{bench: "BlobGet64M", label: "blob GET 64 MiB", kind: throughputKind, floorMin: 0.9},
	{bench: "PushMonolithic4K", label: "monolithic push 4 KiB", kind: timeKind},
	{bench: "PushMonolithic64M", label: "monolithic push 64 MiB", kind: throughputKind, floorMin: 0.6, ggcrMin: 1.4},
	{bench: "PushChunked16x1M", label: "chunked push 16 × 1 MiB", kind: throughputKind, floorMin: 0.6, ggcrMin: 1.4},
	{bench: "ManifestPut", label: "manifest PUT", kind: timeKind, floorMax: 1.3},
	{bench: "TagsPage", label: "one tags page (n=100) of 100,000 tags", kind: timeKind, floorMax: 1.5},
	{bench: "Referrers", label: "referrers list, 1,000 referrers", kind: timeKind, floorMax: 3},
	{bench: "ParallelMix", label: "parallel mix 8:4:4:1 (per request)", kind: timeKind, floorMax: 1.3},
	{bench: "Heap16x16M", label: "bytes allocated per stored byte (16 × 16 MiB)", kind: allocKind, absMax: 1.1},
	{bench: "Heap16x16M", label: "bytes retained per stored byte (16 × 16 MiB)", kind: retainedKind, absMax: 1.01},
	{bench: "NewClose", label: "start + Close", kind: timeKind},
	{bench: "Client1x1M", label: "ggcr remote push+pull, 1 × 1 MiB", kind: timeKind},
	{bench: "Client10x4K", label: "ggcr remote push+pull, 10 × 4 KiB", kind: timeKind},
	{bench: "Client8Pushers10x4K", label: "ggcr remote, 8 concurrent push+pull of 10 × 4 KiB", kind: timeKind},
}

var impls = []string{"floor", "ocifixture", "ggcr", "cue"}

// alpha is the significance level below which a difference between the
// rounds of two implementations counts as real (benchstat's default).
const alpha = 0.05

var line = regexp.MustCompile(`^Benchmark([^/\s]+)/impl=([^\s-]+)(?:-\d+)?\s+\d+\s+(.*)$`)

// results maps bench -> impl -> unit -> values.
type results map[string]map[string]map[string][]float64

func parse(r io.Reader) (results, error) {
	res := results{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if res[m[1]] == nil {
			res[m[1]] = map[string]map[string][]float64{}
		}
		if res[m[1]][m[2]] == nil {
			res[m[1]][m[2]] = map[string][]float64{}
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res[m[1]][m[2]][f[i+1]] = append(res[m[1]][m[2]][f[i+1]], v)
		}
	}
	return res, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cpu makes time rows use cpu-ns/op (the process's CPU time per
// operation) instead of ns/op.
var cpu = flag.Bool("cpu", false, "compare CPU time per operation (cpu-ns/op) instead of wall time")

func (k kind) unit() string {
	if k == timeKind && *cpu {
		return "cpu-ns/op"
	}
	return [...]string{"ns/op", "MB/s", "alloc/stored", "retained/stored"}[k]
}

func (k kind) format(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	switch k {
	case timeKind:
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.3g ms", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.3g µs", v/1e3)
		}
		return fmt.Sprintf("%.3g ns", v)
	case throughputKind:
		return fmt.Sprintf("%.0f MiB/s", v*1e6/(1<<20))
	}
	return fmt.Sprintf("%.3f", v)
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func main() {
	flag.Parse()
	in := io.Reader(os.Stdin)
	if flag.NArg() > 0 {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	res, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("| workload | floor | ocifixture | ggcr | cue | ocifixture ÷ floor | ocifixture ÷ faster anchor | targets |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		med := map[string]float64{}
		for _, im := range impls {
			med[im] = median(res[r.bench][im][r.kind.unit()])
		}
		if math.IsNaN(med["ocifixture"]) {
			continue
		}
		o, f := med["ocifixture"], med["floor"]
		better := func(a, b float64) bool { return a <= b } // a at least as good as b
		if r.kind == throughputKind {
			better = func(a, b float64) bool { return a >= b }
		}
		anchorName := "ggcr"
		if better(med["cue"], med["ggcr"]) || math.IsNaN(med["ggcr"]) {
			anchorName = "cue"
		}
		anchor := med[anchorName]
		var targets []string
		check := func(ok bool, what string) {
			mark := "✅"
			if !ok {
				mark = "❌"
			}
			targets = append(targets, mark+" "+what)
		}
		if r.floorMax > 0 && !math.IsNaN(f) {
			check(o/f <= r.floorMax, fmt.Sprintf("≤ %.1f× floor", r.floorMax))
		}
		if r.floorMin > 0 && !math.IsNaN(f) {
			check(o/f >= r.floorMin, fmt.Sprintf("≥ %.1f× floor", r.floorMin))
		}
		if r.ggcrMin > 0 {
			check(o/med["ggcr"] >= r.ggcrMin, fmt.Sprintf("≥ %.1f× ggcr", r.ggcrMin))
		}
		if r.absMax > 0 {
			check(o <= r.absMax, fmt.Sprintf("≤ %.2f", r.absMax))
		}
		if !math.IsNaN(anchor) {
			// Slower by the medians, but by less than the rounds can
			// tell apart: "≈", with the U test's p-value (as benchstat
			// prints "~" for p > 0.05).
			p := uTestP(res[r.bench]["ocifixture"][r.kind.unit()], res[r.bench][anchorName][r.kind.unit()])
			if !better(o, anchor) && p > alpha {
				targets = append(targets, fmt.Sprintf("≈ faster anchor (%s; p=%.2f)", anchorName, p))
			} else {
				check(better(o, anchor), "≥ faster anchor")
			}
		}
		vsAnchor := ratio(o, anchor)
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.label,
			r.kind.format(f), r.kind.format(o), r.kind.format(med["ggcr"]), r.kind.format(med["cue"]),
			ratio(o, f), vsAnchor, strings.Join(targets, "<br>"))
	}
}
