package grant

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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
		subject := &PresentedToken{Subject: "alice", Claims: map[string]any{"act": act, "may_act": may}}
		actor := &PresentedToken{Subject: "a", Issuer: "https://i"}
		_ = mayActAllows(may, actor)
		got, err := actClaim(subject, actor)
		if err != nil {
			return
		}
		// What is kept is a valid chain, one longer than the subject's.
		assert.True(t, validAct(got, 1), "kept an invalid act: %v", got)
		assert.Equal(t, act, got.(map[string]any)["act"])
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
	_, err := actClaim(&PresentedToken{Claims: map[string]any{"act": chain(maxActDepth - 1)}}, actor)
	assert.NoError(t, err, "a chain one shorter than the bound gets the new actor")
	_, err = actClaim(&PresentedToken{Claims: map[string]any{"act": chain(maxActDepth)}}, actor)
	assert.Error(t, err, "the new actor would make it too long")
	_, err = actClaim(&PresentedToken{Claims: map[string]any{"act": chain(maxActDepth + 1)}}, nil)
	assert.Error(t, err, "a subject's chain beyond the bound is refused even without an actor")
}
