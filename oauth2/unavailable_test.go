package oauth2

import (
	"net/http"
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

// PeerAddress counts an IPv4 client by its address and an IPv6 one by its
// /56, with or without a port (some middleware drops it), IPv4-mapped
// addresses as IPv4 and zones dropped.
func TestPeerAddress(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:1234":               "192.0.2.1",
		"192.0.2.1":                    "192.0.2.1",
		"[::ffff:192.0.2.1]:1234":      "192.0.2.1",
		"::ffff:192.0.2.1":             "192.0.2.1",
		"[2001:db8:1:2aa:aaaa::1]:443": "2001:db8:1:200::/56",
		"2001:db8:1:2ff::1":            "2001:db8:1:200::/56",
		"[fe80::1%eth0]:80":            "fe80::/56",
		"fe80::1%eth0":                 "fe80::/56",
		"@unix":                        "@unix",
	} {
		r := &http.Request{RemoteAddr: remote}
		assert.Equal(t, want, PeerAddress(r), remote)
	}
}

// Budget keys cannot be made to collide by a client id holding the
// separators.
func TestBudgetKeysDoNotCollide(t *testing.T) {
	assert.NotEqual(t, budgetKey("k", "a@198.51.100.7", ""), budgetKey("k", "a", "198.51.100.7"))
	assert.NotEqual(t, budgetKey("k", "", "x"), budgetKey("k", "x", ""))
}
