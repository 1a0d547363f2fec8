package ocitest

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

var clkStart = time.Date(2024, 2, 29, 23, 59, 30, 0, time.UTC)

func TestClockFake(t *testing.T) {
	c := NewFakeClock(clkStart)
	if got := c.Now(); !got.Equal(clkStart) {
		t.Errorf("Now() = %v, want %v", got, clkStart)
	}
	// It does not move by itself.
	if got := c.Now(); !got.Equal(clkStart) {
		t.Errorf("Now() moved to %v without Advance", got)
	}
	c.Advance(45 * time.Second)
	if want := clkStart.Add(45 * time.Second); !c.Now().Equal(want) {
		t.Errorf("after Advance(45s) Now() = %v, want %v", c.Now(), want)
	}
	c.Advance(0)
	c.Advance(-15 * time.Second)
	if want := clkStart.Add(30 * time.Second); !c.Now().Equal(want) {
		t.Errorf("after Advance(-15s) Now() = %v, want %v", c.Now(), want)
	}
	earlier := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(earlier) // Set may go backwards
	if !c.Now().Equal(earlier) {
		t.Errorf("after Set Now() = %v, want %v", c.Now(), earlier)
	}
	c.Advance(time.Hour)
	if want := earlier.Add(time.Hour); !c.Now().Equal(want) {
		t.Errorf("Advance after Set: Now() = %v, want %v", c.Now(), want)
	}

	// The zero FakeClock is usable and starts at the zero time.
	var z FakeClock
	if !z.Now().IsZero() {
		t.Errorf("zero FakeClock Now() = %v", z.Now())
	}
	z.Advance(time.Minute)
	if z.Now() != (time.Time{}).Add(time.Minute) {
		t.Errorf("zero FakeClock after Advance: %v", z.Now())
	}

	var _ Clock = c // a FakeClock is a Clock
}

func TestClockFakeConcurrent(t *testing.T) {
	c := NewFakeClock(clkStart)
	const goroutines, steps = 8, 500
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range steps {
				c.Advance(time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			prev := c.Now()
			for range steps {
				// Only Advance runs concurrently, by positive steps: the
				// clock never goes backwards.
				now := c.Now()
				if now.Before(prev) {
					t.Errorf("Now() went backwards: %v after %v", now, prev)
					return
				}
				prev = now
			}
		}()
	}
	wg.Wait()
	if want := clkStart.Add(goroutines * steps * time.Millisecond); !c.Now().Equal(want) {
		t.Errorf("after %d concurrent Advances Now() = %v, want %v", goroutines*steps, c.Now(), want)
	}

	// Set racing with Now and Advance: no data race, and the clock ends at
	// the Set target plus the Advances that came after the last Set.
	target := clkStart.Add(-time.Hour)
	for range goroutines {
		wg.Add(3)
		go func() { defer wg.Done(); c.Set(target) }()
		go func() { defer wg.Done(); c.Advance(time.Second) }()
		go func() { defer wg.Done(); _ = c.Now() }()
	}
	wg.Wait()
	if got, max := c.Now(), target.Add(goroutines*time.Second); got.Before(target) || got.After(max) {
		t.Errorf("Now() = %v, want between %v and %v", got, target, max)
	}
}

func TestClockRequestTime(t *testing.T) {
	clock := NewFakeClock(clkStart)
	reg := New(t, WithClock(clock))

	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)
	clock.Advance(90 * time.Second)
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/tags/list", nil), http.StatusNotFound)
	later := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	clock.Set(later)
	pushBlob(t, reg, "team/app", []byte("clock"))
	clock.Advance(time.Nanosecond)
	// Faulted requests are stamped too.
	reg.FailNext(Match{Kind: Ping}, http.StatusServiceUnavailable)
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusServiceUnavailable)

	want := []time.Time{clkStart, clkStart.Add(90 * time.Second), later, later.Add(time.Nanosecond)}
	reqs := reg.Requests()
	if len(reqs) != len(want) {
		t.Fatalf("%d requests recorded, want %d", len(reqs), len(want))
	}
	for i, r := range reqs {
		if !r.Time.Equal(want[i]) {
			t.Errorf("request %d (%s) Time = %v, want %v", i, r, r.Time, want[i])
		}
		// Duration is measured on the wall clock, not the fake one.
		if r.Duration < 0 || r.Duration > time.Minute {
			t.Errorf("request %d Duration = %v", i, r.Duration)
		}
	}
}

func TestClockRealByDefault(t *testing.T) {
	reg := New(t)
	before := time.Now()
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)
	after := time.Now()
	r, ok := reg.LastRequest()
	if !ok {
		t.Fatal("no request recorded")
	}
	if r.Time.Before(before) || r.Time.After(after) {
		t.Errorf("Time = %v, want between %v and %v", r.Time, before, after)
	}
}
