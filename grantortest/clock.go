package grantortest

import (
	"sync"
	"time"
)

// Start returns the time a Server's clock starts at when no clock is
// given with WithClock: 2030-01-01 12:00 UTC, fixed so that tests and
// their output are exact.
func Start() time.Time { return time.Date(2030, time.January, 1, 12, 0, 0, 0, time.UTC) }

// Clock is a fake clock that a test moves by hand. A Server gives its
// Now method to every part that reads the time: the Provider
// (oauth2.Config.Clock), the memory store (memory.WithClock) and the
// validator of Server.Validator. A Clock is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
