package memstore

import (
	_ "crypto/sha256" // registers sha256 for go-digest
	_ "crypto/sha512" // registers sha512 for go-digest
	"regexp"

	"github.com/opencontainers/go-digest"
)

// MaxNameLength is the longest repository name accepted. The spec gives no
// hard limit, but many clients cap host + "/" + name at 255 characters, and
// the reference implementation refuses longer names.
const MaxNameLength = 255

var (
	nameRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// ValidName reports whether name is a repository name the spec allows.
func ValidName(name string) bool {
	return len(name) <= MaxNameLength && nameRE.MatchString(name)
}

// ValidTag reports whether tag matches the spec's tag grammar.
func ValidTag(tag string) bool {
	return tagRE.MatchString(tag)
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
	dg, err := digest.Parse(d)
	if err != nil {
		return "", withDetail(ErrDigestInvalid, map[string]string{"digest": d}, "invalid digest %q: %v", d, err)
	}
	if !SupportedAlgorithm(dg.Algorithm()) {
		return "", withDetail(ErrDigestInvalid, map[string]string{"digest": d}, "unsupported digest algorithm %q", dg.Algorithm())
	}
	return dg, nil
}

// SupportedAlgorithm reports whether the store accepts digests of alg.
func SupportedAlgorithm(alg digest.Algorithm) bool {
	return alg == digest.SHA256 || alg == digest.SHA512
}
