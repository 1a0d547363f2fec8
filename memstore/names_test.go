package memstore

import (
	"regexp"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// The spec's regular expressions, the oracles of the hand-written checks.
var (
	specNameRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	specTagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// TestValidNameAndTagMatchTheSpecGrammar compares ValidName and ValidTag
// with the spec's regular expressions on every string of up to 6 bytes
// over an alphabet with each kind of character, and on long ones.
func TestValidNameAndTagMatchTheSpecGrammar(t *testing.T) {
	alphabet := []byte("a0._-/A:")
	var walk func(prefix []byte)
	n := 0
	walk = func(prefix []byte) {
		s := string(prefix)
		n++
		if got, want := ValidName(s), specNameRE.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, the spec's grammar says %v", s, got, want)
		}
		if got, want := ValidTag(s), specTagRE.MatchString(s); got != want {
			t.Errorf("ValidTag(%q) = %v, the spec's grammar says %v", s, got, want)
		}
		if len(prefix) == 6 {
			return
		}
		for _, c := range alphabet {
			walk(append(prefix, c))
		}
	}
	walk(nil)
	for _, s := range []string{
		strings.Repeat("a", MaxNameLength), strings.Repeat("a", MaxNameLength+1),
		strings.Repeat("a/", 127) + "a", "team/app", "a__b", "a___b", "a--------b", "a-.b", "a._b",
		strings.Repeat("t", 128), strings.Repeat("t", 129), "é", "a\x00b",
	} {
		if got, want := ValidName(s), len(s) <= MaxNameLength && specNameRE.MatchString(s); got != want {
			t.Errorf("ValidName(%.40q) = %v, want %v", s, got, want)
		}
		if got, want := ValidTag(s), specTagRE.MatchString(s); got != want {
			t.Errorf("ValidTag(%.40q) = %v, want %v", s, got, want)
		}
	}
	if n < 100_000 {
		t.Fatalf("walked only %d strings", n)
	}
}

// TestParseDigestFastPath: the digests checked without go-digest give
// exactly what go-digest's parse gives.
func TestParseDigestFastPath(t *testing.T) {
	sha256 := digest.FromString("x").Encoded()
	sha512 := digest.SHA512.FromString("x").Encoded()
	for _, s := range []string{
		"sha256:" + sha256, "sha512:" + sha512,
		"sha256:" + strings.ToUpper(sha256), "sha256:" + sha256[:63], "sha256:" + sha256 + "0",
		"sha256:" + sha256[:63] + "g", "sha512:" + sha256, "sha384:" + sha512[:96],
		"sha256:" + sha512, "sha256" + sha256, ":" + sha256, "SHA256:" + sha256, "",
	} {
		got, err := ParseDigest(s)
		want, werr := digest.Parse(s)
		if werr == nil && !SupportedAlgorithm(want.Algorithm()) {
			werr = ErrDigestInvalid
		}
		if (err == nil) != (werr == nil) || err == nil && got != want {
			t.Errorf("ParseDigest(%.20q…) = %q, %v; go-digest: %q, %v", s, got, err, want, werr)
		}
	}
	d := "sha256:" + sha256
	if n := testing.AllocsPerRun(100, func() { ParseDigest(d) }); n != 0 {
		t.Errorf("ParseDigest of a sha256 digest allocated %v times", n)
	}
}

// TestHashDigest: the digests made without go-digest's fmt.Sprintf are
// go-digest's, in fewer allocations (the sum's buffer, which escapes
// through the hash.Hash interface, and the string).
func TestHashDigest(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("x"), []byte(strings.Repeat("manifest", 100))} {
		for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
			if got, want := digestOf(alg, b), alg.FromBytes(b); got != want {
				t.Errorf("digestOf(%s, %d bytes) = %s, want %s", alg, len(b), got, want)
			}
		}
	}
	h := digest.SHA256.Hash()
	h.Write([]byte("x"))
	n := testing.AllocsPerRun(100, func() { hashDigest(digest.SHA256, h) })
	if goDigest := testing.AllocsPerRun(100, func() { digest.NewDigest(digest.SHA256, h) }); n > 2 || n >= goDigest {
		t.Errorf("hashDigest allocated %v times, go-digest %v", n, goDigest)
	}
}
