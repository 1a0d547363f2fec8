package main

import (
	"math"
	"testing"
)

func TestUTestP(t *testing.T) {
	for _, tt := range []struct {
		name string
		x, y []float64
		want float64
	}{
		// Completely separated samples of 5: 2 of the 252 splits are as
		// extreme (one each way).
		{"separated 5+5", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 2.0 / 252},
		{"separated, other way", []float64{6, 7, 8, 9, 10}, []float64{1, 2, 3, 4, 5}, 2.0 / 252},
		// Identical values: every split ties the observed one.
		{"all tied", []float64{4, 4, 4}, []float64{4, 4, 4}, 1},
		// 3+3 separated: 2 of 20.
		{"separated 3+3", []float64{1, 2, 3}, []float64{4, 5, 6}, 0.1},
	} {
		if got := uTestP(tt.x, tt.y); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: p = %v, want %v", tt.name, got, tt.want)
		}
	}
	// Interleaved: no evidence of a difference.
	if p := uTestP([]float64{1, 3, 5, 7, 9}, []float64{2, 4, 6, 8, 10}); p < 0.5 {
		t.Errorf("interleaved 5+5: p = %v, want large", p)
	}
	if p := uTestP(nil, []float64{1}); !math.IsNaN(p) {
		t.Errorf("empty sample: p = %v, want NaN", p)
	}
	// Large samples use the normal approximation: separated samples of
	// 20 are very significant, interleaved ones not at all.
	var a, b, c []float64
	for i := range 20 {
		a = append(a, float64(i))
		b = append(b, float64(i+100))
		c = append(c, float64(i)+0.5)
	}
	if p := uTestP(a, b); p > 1e-6 {
		t.Errorf("separated 20+20: p = %v, want tiny", p)
	}
	if p := uTestP(a, c); p < 0.5 {
		t.Errorf("interleaved 20+20: p = %v, want large", p)
	}
}

func TestMidRanks(t *testing.T) {
	got := midRanks([]float64{10, 20, 10, 30})
	want := []float64{1.5, 3, 1.5, 4}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("midRanks = %v, want %v", got, want)
		}
	}
}
