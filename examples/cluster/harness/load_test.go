package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The wrong secrets at the slow-hashed client come DefaultGuessesPerMinute
// a minute, counted in windows aligned as the servers' limiter counts them,
// so that each minute brings two over the servers' limit of ten, and never
// more: the address's budget is shared with everyone at 127.0.0.1.
func TestGuessesPerMinute(t *testing.T) {
	now := time.Date(2026, 12, 6, 16, 0, 50, 0, time.UTC)
	b := &windowBudget{limit: DefaultGuessesPerMinute, window: time.Minute, now: func() time.Time { return now }}
	for i := range DefaultGuessesPerMinute {
		assert.True(t, b.allow(), "guess %d of the minute", i+1)
	}
	assert.False(t, b.allow(), "the minute's guesses are spent")
	now = now.Add(9 * time.Second) // 16:00:59
	assert.False(t, b.allow(), "still the same minute")
	now = now.Add(time.Second) // 16:01:00
	assert.True(t, b.allow(), "a new minute, a new budget, though 10 s passed since the last guess")
}

func TestHasFlag(t *testing.T) {
	usage := "Usage of server:\n" +
		"  -addr string\n    \taddress to listen on (default \"127.0.0.1:8080\")\n" +
		"  -dpop\n    \taccept DPoP proofs\n" +
		"  -store string\n    \twhere clients and tokens are kept; with postgres, give -secret-file\n"
	assert.True(t, hasFlag([]byte(usage), "addr"))
	assert.True(t, hasFlag([]byte(usage), "dpop"), "a boolean flag, with no type after it")
	assert.False(t, hasFlag([]byte(usage), "secret-file"), "named in another flag's help, not a flag of its own")
	assert.False(t, hasFlag([]byte(usage), "add"), "a prefix of a flag")
	assert.True(t, hasFlag([]byte(usage+"  -secret-file string\n    \tthe secrets that seal the keys\n"), "secret-file"))
}
