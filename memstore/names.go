package memstore

import (
	_ "crypto/sha256" // registers sha256 for go-digest
	_ "crypto/sha512" // registers sha512 for go-digest
	"strings"

	"github.com/opencontainers/go-digest"
)

// MaxNameLength is the longest repository name accepted. The spec gives no
// hard limit, but many clients cap host + "/" + name at 255 characters, and
// the reference implementation refuses longer names.
const MaxNameLength = 255

// The grammars of the distribution spec, checked by hand: these run on
// every request, and a regexp match costs more than the rest of a small
// request's handling. names_test.go checks them against the spec's
// regular expressions.
//
//	name: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
//	tag:  [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}

// ValidName reports whether name is a repository name the spec allows.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLength {
		return false
	}
	// Each component starts and ends with [a-z0-9]; between runs of
	// those, a separator is ".", "_", "__" or any number of "-".
	start := 0 // where the current component starts
	for i := 0; i < len(name); {
		c := name[i]
		switch {
		case lowerAlnum(c):
			i++
			continue
		case c == '/':
			if i == start || !lowerAlnum(name[i-1]) {
				return false // empty component, or one ending in a separator
			}
			i++
			start = i
			continue
		}
		if i == start {
			return false // a component starting with a separator
		}
		j := i
		for j < len(name) && !lowerAlnum(name[j]) && name[j] != '/' {
			j++
		}
		switch sep := name[i:j]; {
		case sep == ".", sep == "_", sep == "__", allDashes(sep):
		default:
			return false
		}
		if j == len(name) || !lowerAlnum(name[j]) {
			return false // a separator at the end of a component
		}
		i = j
	}
	return lowerAlnum(name[len(name)-1])
}

func lowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func allDashes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			return false
		}
	}
	return true
}

// ValidTag reports whether tag matches the spec's tag grammar.
func ValidTag(tag string) bool {
	if len(tag) == 0 || len(tag) > 128 {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || i > 0 && (c == '.' || c == '-')) {
			return false
		}
	}
	return true
}

// checkName returns ErrNameInvalid for a name the spec does not allow.
func checkName(name string) error {
	if !ValidName(name) {
		return errorf(ErrNameInvalid, "invalid repository name %q", name)
	}
	return nil
}

// ParseDigest parses d and checks that its algorithm is one the store
// supports (sha256 or sha512) and its encoded part is well formed.
func ParseDigest(d string) (digest.Digest, error) {
	// The digests clients send, checked without go-digest's regexp.
	if alg, hex, ok := strings.Cut(d, ":"); ok &&
		(alg == "sha256" && len(hex) == 64 || alg == "sha512" && len(hex) == 128) && lowerHex(hex) {
		return digest.Digest(d), nil
	}
	dg, err := digest.Parse(d)
	if err != nil {
		return "", withDetail(ErrDigestInvalid, map[string]string{"digest": d}, "invalid digest %q: %v", d, err)
	}
	if !SupportedAlgorithm(dg.Algorithm()) {
		return "", withDetail(ErrDigestInvalid, map[string]string{"digest": d}, "unsupported digest algorithm %q", dg.Algorithm())
	}
	return dg, nil
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// SupportedAlgorithm reports whether the store accepts digests of alg.
func SupportedAlgorithm(alg digest.Algorithm) bool {
	return alg == digest.SHA256 || alg == digest.SHA512
}
