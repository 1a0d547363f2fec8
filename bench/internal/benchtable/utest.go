package main

import (
	"math"
	"slices"
)

// uTestP is the two-sided p-value of the Mann-Whitney U test of samples
// x and y (the test benchstat uses): the chance that two samples of the
// same distribution differ at least as much in rank sum as these do. Ties
// get their mean rank. The p-value is exact, by enumerating every way of
// splitting the pooled ranks, when there are at most a million ways;
// beyond that it uses the normal approximation.
func uTestP(x, y []float64) float64 {
	n, m := len(x), len(y)
	if n == 0 || m == 0 {
		return math.NaN()
	}
	ranks := midRanks(append(slices.Clone(x), y...))
	var observed float64
	for _, r := range ranks[:n] {
		observed += r
	}
	mean := float64(n) * float64(n+m+1) / 2
	dev := math.Abs(observed - mean)
	if binomial(n+m, n) > 1e6 {
		variance := float64(n*m) * float64(n+m+1) / 12
		z := (dev - 0.5) / math.Sqrt(variance)
		return math.Min(1, math.Erfc(math.Max(z, 0)/math.Sqrt2))
	}
	// Every choice of n of the pooled ranks for the first sample is
	// equally likely under the null hypothesis.
	var extreme, total int
	var walk func(start, left int, sum float64)
	walk = func(start, left int, sum float64) {
		if left == 0 {
			total++
			if math.Abs(sum-mean) >= dev-1e-9 {
				extreme++
			}
			return
		}
		for i := start; i <= len(ranks)-left; i++ {
			walk(i+1, left-1, sum+ranks[i])
		}
	}
	walk(0, n, 0)
	return float64(extreme) / float64(total)
}

// midRanks returns the rank of each value of v (1-based), ties sharing the
// mean of the ranks they span.
func midRanks(v []float64) []float64 {
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	ranks := make([]float64, len(v))
	for i := 0; i < len(order); {
		j := i
		for j < len(order) && v[order[j]] == v[order[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for _, k := range order[i:j] {
			ranks[k] = r
		}
		i = j
	}
	return ranks
}

func binomial(n, k int) float64 {
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return c
}
