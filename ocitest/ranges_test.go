package ocitest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		header string
		size   int64
		want   []byteRange
		err    error
	}{
		{"bytes=1-3", 10, []byteRange{{1, 3}}, nil},
		{"bytes=0-0", 10, []byteRange{{0, 0}}, nil},
		{"bytes=0-9", 10, []byteRange{{0, 9}}, nil},
		{"bytes=2-", 10, []byteRange{{2, 9}}, nil},
		{"bytes=9-", 10, []byteRange{{9, 9}}, nil},
		{"bytes=-3", 10, []byteRange{{7, 9}}, nil},
		{"bytes=-10", 10, []byteRange{{0, 9}}, nil},
		{"bytes=-100", 10, []byteRange{{0, 9}}, nil},  // suffix longer than content: all of it
		{"bytes=5-100", 10, []byteRange{{5, 9}}, nil}, // end clamped
		{"bytes=0-1,4-5", 10, []byteRange{{0, 1}, {4, 5}}, nil},
		{"bytes=0-1, 4-5 ,-2", 10, []byteRange{{0, 1}, {4, 5}, {8, 9}}, nil},
		{"bytes=0-1,,4-5", 10, []byteRange{{0, 1}, {4, 5}}, nil},
		{"bytes=0-1,20-30", 10, []byteRange{{0, 1}}, nil}, // the unsatisfiable one is dropped
		{"bytes=0-9223372036854775807", 10, []byteRange{{0, 9}}, nil},
		{"bytes=-9223372036854775807", 10, []byteRange{{0, 9}}, nil},

		// nothing overlaps
		{"bytes=10-", 10, nil, errRangeUnsatisfiable},
		{"bytes=10-20", 10, nil, errRangeUnsatisfiable},
		{"bytes=-0", 10, nil, errRangeUnsatisfiable},
		{"bytes=10-11,12-", 10, nil, errRangeUnsatisfiable},
		{"bytes=0-", 0, nil, errRangeUnsatisfiable},
		{"bytes=0-0", 0, nil, errRangeUnsatisfiable},
		{"bytes=-1", 0, nil, errRangeUnsatisfiable},

		// not a byte range set
		{"", 10, nil, errRangeMalformed},
		{"bytes=", 10, nil, errRangeMalformed},
		{"bytes=,", 10, nil, errRangeMalformed},
		{"bytes=1", 10, nil, errRangeMalformed},
		{"bytes=-", 10, nil, errRangeMalformed},
		{"bytes=3-1", 10, nil, errRangeMalformed},
		{"bytes=a-b", 10, nil, errRangeMalformed},
		{"bytes=1-2-3", 10, nil, errRangeMalformed},
		{"bytes=--1", 10, nil, errRangeMalformed},
		{"bytes=+1-2", 10, nil, errRangeMalformed},
		{"bytes=0x1-2", 10, nil, errRangeMalformed},
		{"bytes=0-1,x", 10, nil, errRangeMalformed}, // one bad part spoils the set
		{"bytes=0-99999999999999999999", 10, nil, errRangeMalformed},
		{"items=0-1", 10, nil, errRangeMalformed},
		{"bytes 0-1", 10, nil, errRangeMalformed},
		{"Bytes=0-1", 10, nil, errRangeMalformed},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%d", tt.header, tt.size), func(t *testing.T) {
			got, err := parseRange(tt.header, tt.size)
			if !errors.Is(err, tt.err) {
				t.Fatalf("parseRange error = %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(byteRange{})); diff != "" {
				t.Errorf("parseRange mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		header     string
		start, end int64
		ok         bool
	}{
		{"0-0", 0, 0, true},
		{"0-4", 0, 4, true},
		{"5-9", 5, 9, true},
		{" 5-9 ", 5, 9, true},
		{"1048576-2097151", 1048576, 2097151, true},
		// The RFC 9110 form some clients send.
		{"bytes 0-4/10", 0, 4, true},
		{"bytes 0-4/*", 0, 4, true},
		{"bytes=0-4", 0, 4, true},

		{"", 0, 0, false},
		{"-", 0, 0, false},
		{"5", 0, 0, false},
		{"5-", 0, 0, false},
		{"-5", 0, 0, false},
		{"9-5", 0, 0, false},
		{"a-b", 0, 0, false},
		{"0-4/10", 0, 0, false},
		{"+0-4", 0, 0, false},
		{"0--4", 0, 0, false},
		{"0-4-5", 0, 0, false},
		{"bytes */10", 0, 0, false},
		{"bytes", 0, 0, false},
		{"0-99999999999999999999", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.header), func(t *testing.T) {
			start, end, err := parseContentRange(tt.header)
			if (err == nil) != tt.ok {
				t.Fatalf("parseContentRange(%q) error = %v, want ok=%v", tt.header, err, tt.ok)
			}
			if !tt.ok {
				if !errors.Is(err, errRangeMalformed) {
					t.Errorf("error = %v, want errRangeMalformed", err)
				}
				return
			}
			if start != tt.start || end != tt.end {
				t.Errorf("parseContentRange(%q) = %d-%d, want %d-%d", tt.header, start, end, tt.start, tt.end)
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=1-3", "bytes=2-", "bytes=-3", "bytes=0-1,4-5", "bytes=10-", "bytes=", "x"} {
		f.Add(s, int64(10))
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 { // math.MinInt64
			return
		}
		got, err := parseRange(header, size)
		if err != nil {
			if !errors.Is(err, errRangeMalformed) && !errors.Is(err, errRangeUnsatisfiable) {
				t.Fatalf("unexpected error %v", err)
			}
			if got != nil {
				t.Fatalf("ranges %v with error %v", got, err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("no ranges and no error")
		}
		for _, r := range got {
			if r.start < 0 || r.start > r.end || r.end >= size {
				t.Fatalf("range %+v outside content of %d bytes", r, size)
			}
		}
		if parts := strings.Count(header, ",") + 1; len(got) > parts {
			t.Fatalf("%d ranges from %d parts", len(got), parts)
		}
		// The ranges found, written back as a header, read the same.
		var canon []string
		for _, r := range got {
			canon = append(canon, fmt.Sprintf("%d-%d", r.start, r.end))
		}
		again, err := parseRange("bytes="+strings.Join(canon, ","), size)
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("ranges %v written back read as %v, %v", got, again, err)
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-4", "bytes 0-4/10", "5-", "9-5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		start, end, err := parseContentRange(header)
		if err != nil {
			return
		}
		if start < 0 || end < start {
			t.Fatalf("parseContentRange(%q) = %d-%d", header, start, end)
		}
		// Both accepted forms of the range found read the same.
		for _, form := range []string{"%d-%d", "bytes %d-%d/*"} {
			h := fmt.Sprintf(form, start, end)
			if s, e, err := parseContentRange(h); err != nil || s != start || e != end {
				t.Fatalf("parseContentRange(%q) = %d-%d: %q reads as %d-%d, %v", header, start, end, h, s, e, err)
			}
		}
	})
}
