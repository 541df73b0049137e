package oauth2

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A line an attacker can trigger on every request is logged at most once
// an interval, with the number of occurrences it stands for.
func TestLogSampler(t *testing.T) {
	s := logSampler{every: time.Second}
	t0 := time.Unix(1000, 0)
	assert.True(t, s.due(t0))
	assert.EqualValues(t, 1, s.taken())
	for i := range 99 {
		assert.False(t, s.due(t0.Add(time.Duration(i)*time.Millisecond)))
	}
	assert.True(t, s.due(t0.Add(time.Second)))
	assert.EqualValues(t, 100, s.taken(), "the 99 not logged and this one")
}

// Retry-After is whole seconds, rounded up, at least one (RFC 9110
// §10.2.3).
func TestRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", time.Minute: "60"} {
		assert.Equal(t, want, retryAfter(d).Get("Retry-After"), "%v", d)
	}
}
