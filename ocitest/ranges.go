package ocitest

import (
	"errors"
	"strconv"
	"strings"
)

// byteRange is one satisfiable range of a Range request, inclusive.
type byteRange struct{ start, end int64 }

var (
	errRangeMalformed     = errors.New("malformed Range header")
	errRangeUnsatisfiable = errors.New("no requested range overlaps the content")
)

// parseRange interprets an RFC 9110 "bytes=" Range header against content
// of size bytes: first-last, first- and -suffix forms, comma separated.
// Ranges that start past the end are dropped; if none remain the result is
// errRangeUnsatisfiable. A header that is not a bytes range set at all is
// errRangeMalformed.
func parseRange(header string, size int64) ([]byteRange, error) {
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return nil, errRangeMalformed
	}
	var out []byteRange
	seen := false
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		seen = true
		first, last, ok := strings.Cut(part, "-")
		if !ok {
			return nil, errRangeMalformed
		}
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		if first == "" {
			n, err := parseNonNegative(last)
			if err != nil {
				return nil, errRangeMalformed
			}
			if n == 0 || size == 0 {
				continue // an empty suffix selects nothing
			}
			out = append(out, byteRange{start: max(size-n, 0), end: size - 1})
			continue
		}
		start, err := parseNonNegative(first)
		if err != nil {
			return nil, errRangeMalformed
		}
		end := size - 1
		if last != "" {
			if end, err = parseNonNegative(last); err != nil || end < start {
				return nil, errRangeMalformed
			}
			end = min(end, size-1)
		}
		if start >= size {
			continue
		}
		out = append(out, byteRange{start: start, end: end})
	}
	if !seen {
		return nil, errRangeMalformed
	}
	if len(out) == 0 {
		return nil, errRangeUnsatisfiable
	}
	return out, nil
}

// parseNonNegative parses a decimal byte position: digits only.
func parseNonNegative(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errRangeMalformed
	}
	return strconv.ParseInt(s, 10, 64)
}

// parseContentRange reads the Content-Range of an upload chunk. The spec's
// form is "<start>-<end>" (inclusive); the RFC 9110 form "bytes
// <start>-<end>/<total>" that some clients send is accepted too.
func parseContentRange(header string) (start, end int64, err error) {
	s := strings.TrimSpace(header)
	if rest, ok := strings.CutPrefix(s, "bytes"); ok {
		s = strings.TrimLeft(rest, " =")
		if before, _, ok := strings.Cut(s, "/"); ok {
			s = before
		}
	}
	first, last, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, errRangeMalformed
	}
	if start, err = parseNonNegative(first); err != nil {
		return 0, 0, errRangeMalformed
	}
	if end, err = parseNonNegative(last); err != nil || end < start {
		return 0, 0, errRangeMalformed
	}
	return start, end, nil
}
