package bench

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// NewBaselineRefresh returns the baseline for the refresh rotation
// scenario. Its Requests put n refresh tokens in the store as its own code
// exchange would have issued them (each of its own grant, for the client,
// scope read, subject BenchSubject) and present each once. Per request it
// parses, authenticates, verifies the token's HMAC, mints a new access
// token and refresh token, then under the lock looks the old token up,
// checks its client and expiry, refuses (and revokes the grant on) a
// reuse, marks it used and stores the new tokens.
func NewBaselineRefresh() (*Server, error) {
	s, secret, err := newBaseline(nil)
	if err != nil {
		return nil, err
	}
	return s.server(secret, s.refreshRequests(secret)), nil
}

// refreshRequests returns the Requests of the refresh scenario.
func (s *baseline) refreshRequests(secret string) func(n int) ([]Request, error) {
	return func(n int) ([]Request, error) {
		reqs := make([]Request, n)
		for i := range reqs {
			grantID, err := newGrantID()
			if err != nil {
				return nil, err
			}
			tok, sig, err := s.newOpaque()
			if err != nil {
				return nil, err
			}
			now := time.Now()
			s.mu.Lock()
			s.putTokenLocked(sig, baselineToken{
				refresh: true, grantID: grantID, clientID: benchClientID, subject: BenchSubject,
				scope: "read", issuedAt: now, expires: now.Add(baselineRefreshLifetime),
			})
			s.mu.Unlock()
			reqs[i] = RefreshRequest(benchClientID, secret, tok)
		}
		return reqs, nil
	}
}

// NewBaselineCodeExchange returns the baseline for the code exchange
// scenario. Its Requests put n authorization codes in the store as its
// authorization endpoint would have (for the client and its redirect URI,
// scope read, subject BenchSubject, the S256 challenge of a fresh
// verifier, valid 60 seconds) and redeem each once. Per request it
// parses, authenticates, verifies the code's HMAC, checks the verifier's
// syntax and hashes it, mints an access token and a refresh token, then
// under the lock looks the code up, checks client, redirect_uri and
// challenge, refuses (and revokes what it gave on) a replay, checks
// expiry, marks it used and stores the new tokens.
func NewBaselineCodeExchange() (*Server, error) {
	s, secret, err := newBaseline(nil)
	if err != nil {
		return nil, err
	}
	return s.server(secret, s.codeRequests(secret)), nil
}

// codeRequests returns the Requests of the code exchange scenario.
func (s *baseline) codeRequests(secret string) func(n int) ([]Request, error) {
	return func(n int) ([]Request, error) {
		reqs := make([]Request, n)
		for i := range reqs {
			verifier, err := randomSecret() // 43 unreserved characters
			if err != nil {
				return nil, err
			}
			grantID, err := newGrantID()
			if err != nil {
				return nil, err
			}
			code, sig, err := s.newOpaque()
			if err != nil {
				return nil, err
			}
			s.mu.Lock()
			s.codes[sig] = baselineCode{
				grantID: grantID, clientID: benchClientID, redirectURI: BenchRedirectURI,
				subject: BenchSubject, scope: "read", challenge: s256(verifier),
				expires: time.Now().Add(baselineCodeLifetime),
			}
			s.mu.Unlock()
			reqs[i] = CodeExchangeRequest(benchClientID, secret, code, verifier)
		}
		return reqs, nil
	}
}

// baselinePair is a new access token and refresh token of a grant. They
// are minted before the lock is taken, so that the lock covers only the
// bookkeeping, and the use of the old credential and the storing of the
// new ones are one step: a reuse racing with the rotation cannot revoke
// the grant between them and leave the new tokens alive.
type baselinePair struct {
	access, accessSig   string
	refresh, refreshSig string
}

func (s *baseline) newPair() (baselinePair, error) {
	var p baselinePair
	var err error
	if p.access, p.accessSig, err = s.newOpaque(); err != nil {
		return p, err
	}
	p.refresh, p.refreshSig, err = s.newOpaque()
	return p, err
}

// putPairLocked stores the records of p: the access token with scope, the
// refresh token with the grant's scope. s.mu must be held.
func (s *baseline) putPairLocked(p baselinePair, grantID, clientID, subject, scope, grantScope string, now time.Time) {
	s.tokens[p.accessSig] = baselineToken{
		grantID: grantID, clientID: clientID, subject: subject, scope: scope,
		issuedAt: now, expires: now.Add(baselineAccessLifetime),
	}
	s.tokens[p.refreshSig] = baselineToken{
		refresh: true, grantID: grantID, clientID: clientID, subject: subject, scope: grantScope,
		issuedAt: now, expires: now.Add(baselineRefreshLifetime),
	}
	s.grants[grantID] = append(s.grants[grantID], p.accessSig, p.refreshSig)
}

// writePair answers with the tokens of p (RFC 6749 §5.1).
func writePair(w http.ResponseWriter, p baselinePair, scope string) {
	writeBaselineJSON(w, http.StatusOK, baselineTokenResponse{
		AccessToken:  p.access,
		TokenType:    "Bearer",
		ExpiresIn:    int64(baselineAccessLifetime / time.Second),
		RefreshToken: p.refresh,
		Scope:        scope,
	})
}

// refresh answers a refresh token request (RFC 6749 §6), rotating the
// refresh token.
func (s *baseline) refresh(w http.ResponseWriter, r *http.Request, c *baselineClient) {
	sig, ok := s.opaqueSignature(r.PostForm.Get("refresh_token"))
	if !ok {
		writeBaselineError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	p, err := s.newPair()
	if err != nil {
		writeBaselineError(w, http.StatusInternalServerError, "server_error")
		return
	}
	scope, code := s.rotate(sig, c, r.PostForm.Get("scope"), p, time.Now())
	if code != "" {
		writeBaselineError(w, http.StatusBadRequest, code)
		return
	}
	writePair(w, p, scope)
}

// rotate uses the refresh token of signature sig for client c and stores
// p in its place. It returns the access token's scope: the one asked
// for, which may only narrow the grant's, or the grant's. On failure it
// returns an error code instead.
func (s *baseline) rotate(sig string, c *baselineClient, scope string, p baselinePair, now time.Time) (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[sig]
	// Another client's token is refused without touching its grant: the
	// caller does not own it, so its reuse proves nothing.
	if !ok || !t.refresh || t.clientID != c.id {
		return "", "invalid_grant"
	}
	if t.used {
		// Someone holds a copy of a rotated token: RFC 9700 §4.14.2.
		s.revokeGrantLocked(t.grantID)
		return "", "invalid_grant"
	}
	if !now.Before(t.expires) {
		return "", "invalid_grant"
	}
	if scope == "" {
		scope = t.scope
	} else if !scopeWithin(scope, t.scope) {
		return "", "invalid_scope"
	}
	t.used = true
	s.tokens[sig] = t
	s.putPairLocked(p, t.grantID, t.clientID, t.subject, scope, t.scope, now)
	return scope, ""
}

// scopeWithin reports whether every scope of requested is in granted.
func scopeWithin(requested, granted string) bool {
	have := strings.Fields(granted)
	for _, sc := range strings.Fields(requested) {
		found := false
		for _, g := range have {
			found = found || g == sc
		}
		if !found {
			return false
		}
	}
	return true
}

// exchangeCode answers an authorization code request (RFC 6749 §4.1.3)
// with PKCE (RFC 7636 §4.6).
func (s *baseline) exchangeCode(w http.ResponseWriter, r *http.Request, c *baselineClient) {
	sig, ok := s.opaqueSignature(r.PostForm.Get("code"))
	verifier := r.PostForm.Get("code_verifier")
	if !ok || !validVerifier(verifier) {
		writeBaselineError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	p, err := s.newPair()
	if err != nil {
		writeBaselineError(w, http.StatusInternalServerError, "server_error")
		return
	}
	scope, ok := s.redeem(sig, c, r.PostForm.Get("redirect_uri"), s256(verifier), p, time.Now())
	if !ok {
		writeBaselineError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	writePair(w, p, scope)
}

// redeem uses the code of signature sig and stores p as the tokens of its
// grant, returning the grant's scope.
func (s *baseline) redeem(sig string, c *baselineClient, redirectURI, challenge string, p baselinePair, now time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.codes[sig]
	// A replay must pass these checks before it may revoke anything:
	// whoever merely saw the code must not be able to revoke the tokens.
	if !ok || a.clientID != c.id || redirectURI != a.redirectURI ||
		subtle.ConstantTimeCompare([]byte(challenge), []byte(a.challenge)) != 1 {
		return "", false
	}
	if a.used {
		// The code has leaked: revoke what it gave (RFC 6749 §4.1.2).
		s.revokeGrantLocked(a.grantID)
		return "", false
	}
	if !now.Before(a.expires) {
		return "", false
	}
	a.used = true
	s.codes[sig] = a
	s.putPairLocked(p, a.grantID, a.clientID, a.subject, a.scope, a.scope, now)
	return a.scope, true
}

// s256 is the S256 code_challenge of a verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// validVerifier reports whether v is a code_verifier: 43 to 128
// unreserved characters (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
