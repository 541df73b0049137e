package harness

import (
	"sync"
	"time"
)

// The ledger remembers every code and token the load received and what it
// did with them, so that the checks after the load know what each must be:
// an access token is active unless it or its grant was revoked (RFC 7009
// §2.1: revoking a refresh token revokes its grant); a refresh token is
// active unless it was rotated (RFC 9700 §4.14.2) or its grant revoked; a
// used code or refresh token never redeems again (RFC 6749 §4.1.2,
// §10.4). An operation that got no answer because its instance was killed
// leaves what it touched in doubt: the server may or may not have done it.

// tokenKind tells access from refresh tokens.
type tokenKind int

const (
	accessToken tokenKind = iota
	refreshToken
)

// String names the kind in the report.
func (k tokenKind) String() string {
	if k == refreshToken {
		return "refresh token"
	}
	return "access token"
}

// grantRecord is one authorization grant of the code flow: the tokens of a
// code and of the refreshes that follow.
type grantRecord struct {
	revoked bool
	// doubt: a revocation of its refresh token got no answer.
	doubt bool
}

// tokenRecord is a token the load received.
type tokenRecord struct {
	value string
	kind  tokenKind
	// grant is nil for client credentials tokens.
	grant *grantRecord
	// issuedBy names the instance that issued it; issuedAt is when.
	issuedBy string
	issuedAt time.Time
	// revoked: an access token revoked by itself. rotated: a refresh
	// token used (consumed) by a refresh.
	revoked, rotated bool
	// doubt: a revocation or refresh of it got no answer.
	doubt bool
}

// codeRecord is an authorization code the load redeemed.
type codeRecord struct {
	value, verifier string
	// doubt: its redemption got no answer.
	doubt bool
}

// expectation is what introspection must say of a token now.
type expectation int

const (
	expectActive expectation = iota
	expectInactive
	expectUnknown
)

// ledger is the record of a load. It is safe for concurrent use; a nil
// ledger records nothing (the soak keeps no record).
type ledger struct {
	mu     sync.Mutex
	tokens []*tokenRecord
	codes  []*codeRecord
}

// addToken records a token received.
func (l *ledger) addToken(t *tokenRecord) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = append(l.tokens, t)
}

// addCode records a code sent for redemption.
func (l *ledger) addCode(c *codeRecord) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.codes = append(l.codes, c)
}

// update changes records under the ledger's lock.
func (l *ledger) update(f func()) {
	if l == nil {
		f()
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
}

// expectOf returns what introspection must say of t.
func (l *ledger) expectOf(t *tokenRecord) expectation {
	if l == nil {
		return t.expect()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return t.expect()
}

// expect is ledger.expectOf under the lock.
func (t *tokenRecord) expect() expectation {
	g := t.grant
	switch {
	case t.revoked, t.rotated, g != nil && g.revoked:
		return expectInactive
	case t.doubt, g != nil && g.doubt:
		return expectUnknown
	}
	return expectActive
}

// snapshot returns the records as they are now.
func (l *ledger) snapshot() (tokens []*tokenRecord, codes []*codeRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*tokenRecord(nil), l.tokens...), append([]*codeRecord(nil), l.codes...)
}
