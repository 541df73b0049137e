package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// What introspection must say of a token after what the load did with it:
// the checks after a crash judge every token by these rules.
func TestLedgerExpectations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(at, rt *tokenRecord, g *grantRecord)
		at    expectation
		rt    expectation
	}{
		{"fresh tokens are active", func(*tokenRecord, *tokenRecord, *grantRecord) {}, expectActive, expectActive},
		{"RFC 7009 §2.1: a revoked access token alone", func(at, _ *tokenRecord, _ *grantRecord) { at.revoked = true },
			expectInactive, expectActive},
		{"RFC 7009 §2.1: revoking the refresh token revokes the grant",
			func(_, _ *tokenRecord, g *grantRecord) { g.revoked = true }, expectInactive, expectInactive},
		{"RFC 9700 §4.14.2: a rotated refresh token, its access token still active",
			func(_, rt *tokenRecord, _ *grantRecord) { rt.rotated = true }, expectActive, expectInactive},
		{"a refresh that got no answer leaves its token in doubt",
			func(_, rt *tokenRecord, _ *grantRecord) { rt.doubt = true }, expectActive, expectUnknown},
		{"a grant revocation that got no answer leaves the grant in doubt",
			func(_, _ *tokenRecord, g *grantRecord) { g.doubt = true }, expectUnknown, expectUnknown},
		{"a token known revoked is not in doubt",
			func(at, _ *tokenRecord, g *grantRecord) { at.revoked, g.doubt = true, true }, expectInactive, expectUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &grantRecord{}
			at := &tokenRecord{kind: accessToken, grant: g}
			rt := &tokenRecord{kind: refreshToken, grant: g}
			tc.setup(at, rt, g)
			var l *ledger // the soak's: no record, same rules
			assert.Equal(t, tc.at, l.expectOf(at), "access token")
			assert.Equal(t, tc.rt, (&ledger{}).expectOf(rt), "refresh token")
		})
	}
}
