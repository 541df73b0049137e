package grant

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
)

// act and may_act come from subject tokens: a trusted issuer's JWT, or a
// record whose claims an application set. Whatever they hold, the grant
// answers without panicking, and keeps a chain of delegation only when it
// is well formed and at most maxActDepth deep (RFC 8693 §4.1, §4.4).
func FuzzDelegationClaims(f *testing.F) {
	for _, seed := range []string{
		`{"sub":"a"}`, `{"sub":"a","act":{"sub":"b"}}`, `{"sub":"a","iss":"https://i"}`,
		`{"sub":1}`, `[]`, `"x"`, `null`, `{"act":{"sub":"b"}}`, `{"sub":"","act":{}}`,
		strings.Repeat(`{"sub":"a","act":`, 20) + `{"sub":"z"}` + strings.Repeat(`}`, 20),
	} {
		f.Add(seed, seed)
	}
	f.Fuzz(func(t *testing.T, subjectAct, mayAct string) {
		var act, may any
		if json.Unmarshal([]byte(subjectAct), &act) != nil || json.Unmarshal([]byte(mayAct), &may) != nil {
			return
		}
		for _, issuer := range []string{"", "https://i"} {
			subject := &PresentedToken{Subject: "alice", Issuer: "https://as", Claims: map[string]any{"act": act, "may_act": may}}
			if issuer != "" {
				subject.JWT, subject.Issuer = &oauth2.TrustedJWT{Issuer: issuer}, issuer
			}
			actor := &PresentedToken{Subject: "a", Issuer: "https://i"}
			_ = mayActAllows(may, subject, actor)
			got, err := actClaim(subject, actor, "https://as")
			if err != nil {
				continue
			}
			// What is kept is a valid chain, one longer than the
			// subject's, each actor of a trusted issuer's chain named
			// with an issuer.
			chain := got.(map[string]any)
			n, ok := normalizeAct(chain, "", 1)
			require.True(t, ok, "kept an invalid act: %v", got)
			assert.Equal(t, chain, n, "kept members other than sub, iss and act")
			if act != nil {
				assert.Equal(t, actDepth(chain), actDepth(chain["act"].(map[string]any))+1)
			}
			for level, _ := chain["act"].(map[string]any); level != nil; level, _ = level["act"].(map[string]any) {
				if issuer != "" {
					assert.NotEmpty(t, level["iss"], "an actor of %s named without an issuer", issuer)
				}
			}
		}
	})
}

func TestActChainsAreBounded(t *testing.T) {
	chain := func(n int) any {
		var v any = map[string]any{"sub": "s0"}
		for i := 1; i < n; i++ {
			v = map[string]any{"sub": "s", "act": v}
		}
		return v
	}
	actor := &PresentedToken{Subject: "a"}
	_, err := actClaim(&PresentedToken{Claims: map[string]any{"act": chain(maxActDepth - 1)}}, actor, "https://as")
	assert.NoError(t, err, "a chain one shorter than the bound gets the new actor")
	_, err = actClaim(&PresentedToken{Claims: map[string]any{"act": chain(maxActDepth)}}, actor, "https://as")
	assert.Error(t, err, "the new actor would make it too long")
	_, err = actClaim(&PresentedToken{Claims: map[string]any{"act": chain(maxActDepth + 1)}}, nil, "https://as")
	assert.Error(t, err, "a subject's chain beyond the bound is refused even without an actor")
}

// Actors are named as subjects are (RFC 8693 §4.1): text of at most
// oauth2.MaxSubjectBytes, in the chain a subject token brings and for the
// new actor alike.
func TestActorNamesAreSubjects(t *testing.T) {
	for _, bad := range []string{"", "a\x01b", "a\x7fb", strings.Repeat("x", oauth2.MaxSubjectBytes+1), "\xff"} {
		_, err := actClaim(&PresentedToken{}, &PresentedToken{Subject: bad}, "https://as")
		assert.Error(t, err, "actor %q", bad)
		_, err = actClaim(&PresentedToken{Claims: map[string]any{"act": map[string]any{"sub": bad}}}, nil, "https://as")
		assert.Error(t, err, "a prior actor %q", bad)
	}
	_, err := actClaim(&PresentedToken{Claims: map[string]any{"act": map[string]any{"sub": "client:web"}}},
		&PresentedToken{Subject: strings.Repeat("x", oauth2.MaxSubjectBytes)}, "https://as")
	assert.NoError(t, err, "a client's subject, and the longest one")
}
