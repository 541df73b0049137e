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

// SessionIDIndex returns how many IDs s indexes its login sessions by,
// and how many keys the index holds in all.
func SessionIDIndex(s *Store) (ids, keys int) {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.byID {
		keys += len(k)
	}
	return len(t.byID), keys
}
