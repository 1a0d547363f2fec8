package ocitest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"time"
)

// Tokens are JWTs (RFC 7519) signed with HMAC-SHA256 under the registry's
// own random key, carrying the access granted in the "access" claim as the
// Docker token specification describes it. A token signed by another
// registry, altered, expired or meant for another service is refused.

// tokenKind separates access tokens from refresh tokens, so one can never
// be used as the other.
const (
	kindAccess  = "access"
	kindRefresh = "refresh"
)

// RefreshTokenTTL is how long refresh tokens last.
const RefreshTokenTTL = 30 * 24 * time.Hour

// accessEntry is one resource of a token's access claim.
type accessEntry struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

type tokenClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  string        `json:"aud"`
	Expiry    int64         `json:"exp"`
	NotBefore int64         `json:"nbf"`
	IssuedAt  int64         `json:"iat"`
	ID        string        `json:"jti"`
	Kind      string        `json:"ocifixture_kind"`
	Access    []accessEntry `json:"access"`
}

var tokenHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

var tokenSeq atomic.Int64

// tokenEncoding decodes a token's parts: base64url without padding (RFC
// 7515), trailing bits zero.
var tokenEncoding = base64.RawURLEncoding.Strict()

// notTokenRune reports whether r cannot be in a token: base64url and dots.
func notTokenRune(r rune) bool {
	return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.')
}

// sign makes a token for claims.
func (au *authority) sign(c tokenClaims) string {
	c.Issuer = "ocifixture"
	c.Audience = au.service
	c.ID = itoa(int(tokenSeq.Add(1)))
	payload, _ := json.Marshal(c)
	unsigned := tokenHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(au.mac(unsigned))
}

func (au *authority) mac(s string) []byte {
	m := hmac.New(sha256.New, au.key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// issue makes an access token for user granting access, and returns it
// with its issue time.
func (au *authority) issue(user string, access []accessEntry) (string, time.Time) {
	now := au.clock.Now()
	sub := user
	if user == Anonymous {
		sub = ""
	}
	if access == nil {
		access = []accessEntry{}
	}
	return au.sign(tokenClaims{
		Subject: sub, Kind: kindAccess, Access: access,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(au.ttl).Unix(),
	}), now
}

// issueRefresh makes a refresh token for user.
func (au *authority) issueRefresh(user string) string {
	now := au.clock.Now()
	return au.sign(tokenClaims{
		Subject: user, Kind: kindRefresh,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(RefreshTokenTTL).Unix(),
	})
}

// Why a token was refused (in the challenge's error_description).
var (
	errTokenMalformed = errors.New("malformed token")
	errTokenSignature = errors.New("token not signed by this registry")
	errTokenExpired   = errors.New("token expired")
	errTokenNotYet    = errors.New("token not valid yet")
	errTokenAudience  = errors.New("token for another service")
	errTokenKind      = errors.New("wrong kind of token")
)

// verify checks a token's signature, kind, service and lifetime and
// returns its claims.
func (au *authority) verify(token, kind string) (tokenClaims, error) {
	var c tokenClaims
	i := strings.LastIndexByte(token, '.')
	if i < 0 || strings.Count(token, ".") != 2 || strings.ContainsFunc(token, notTokenRune) {
		return c, errTokenMalformed
	}
	// Strict, and only base64url characters (the decoder skips newlines):
	// a token has one spelling. Lenient decoding ignores the spare bits
	// of the last character, so four strings (the token and three others)
	// would all pass as the same token.
	sig, err := tokenEncoding.DecodeString(token[i+1:])
	if err != nil {
		return c, errTokenMalformed
	}
	if !hmac.Equal(sig, au.mac(token[:i])) {
		return c, errTokenSignature
	}
	j := strings.IndexByte(token, '.')
	payload, err := tokenEncoding.DecodeString(token[j+1 : i])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, errTokenMalformed
	}
	now := au.clock.Now().Unix()
	switch {
	case c.Kind != kind:
		return c, errTokenKind
	case c.Audience != au.service:
		return c, errTokenAudience
	case now >= c.Expiry:
		return c, errTokenExpired
	case now < c.NotBefore:
		return c, errTokenNotYet
	}
	return c, nil
}

// user is who a token was issued to.
func (c tokenClaims) user() string {
	if c.Subject == "" {
		return Anonymous
	}
	return c.Subject
}

// grants is what the token's access claim allows on repo.
func (c tokenClaims) grants(repo string) actions {
	var out actions
	for _, e := range c.Access {
		switch {
		case e.Type == "repository" && e.Name == repo && repo != "":
			for _, a := range e.Actions {
				out |= actionBit(Action(a)) &^ actCatalog
			}
		case e.Type == "registry" && e.Name == "catalog":
			for _, a := range e.Actions {
				if a == "*" {
					out |= actCatalog
				}
			}
		}
	}
	return out
}

// otherRepos reports whether the token grants anything on a repository
// other than repo.
func (c tokenClaims) otherRepos(repo string) bool {
	for _, e := range c.Access {
		if e.Type == "repository" && e.Name != repo && len(e.Actions) > 0 {
			return true
		}
	}
	return false
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
