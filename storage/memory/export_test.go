package memory

// LimiterSweeps returns how many times l has scanned its table for ended
// keys.
func LimiterSweeps(l *Limiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sweeps
}
