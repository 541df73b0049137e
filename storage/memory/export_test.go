package memory

// LimiterSweeps returns how many times l has scanned its table for ended
// keys.
func LimiterSweeps(l *Limiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sweeps
}

// InteractionSweeps returns how many times s has scanned its interactions
// for ones to delete.
func InteractionSweeps(s *Store) int {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	return s.interactions.sweeps
}

// DeviceUserCodes returns how many user codes s indexes.
func DeviceUserCodes(s *Store) int {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	return len(s.devices.userCodes)
}
