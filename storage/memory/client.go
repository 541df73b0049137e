package memory

import (
	"context"
	"errors"

	"github.com/grantor-dev/grantor/storage"
)

// PutClient registers c, replacing any client with the same ID. The store
// keeps a deep copy, so c may be modified afterwards. A nil client or an
// empty ID is an error.
func (s *Store) PutClient(c *storage.Client) error {
	if c == nil {
		return errors.New("memory: nil client")
	}
	if c.ID == "" {
		return errors.New("memory: client has an empty ID")
	}
	cc := c.Clone()
	s.clientsMu.Lock()
	s.clients[cc.ID] = cc
	s.clientsMu.Unlock()
	return nil
}

// DeleteClient removes the client with the given ID, if any. Token records
// issued to it are kept.
func (s *Store) DeleteClient(id string) {
	s.clientsMu.Lock()
	delete(s.clients, id)
	s.clientsMu.Unlock()
}

// Client implements [storage.ClientStore]. It returns a deep copy of the
// registered client, which the caller may modify, or [storage.ErrNotFound].
func (s *Store) Client(ctx context.Context, id string) (*storage.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.clientsMu.RLock()
	c, ok := s.clients[id]
	s.clientsMu.RUnlock()
	if !ok {
		return nil, storage.ErrNotFound
	}
	// Stored clients are never modified in place, so copying outside the
	// lock is safe. The copy runs on every client authentication: Clone
	// costs two allocations, three with JWKS.
	return c.Clone(), nil
}
