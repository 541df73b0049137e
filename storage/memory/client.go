package memory

import (
	"context"
	"errors"
	"slices"

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
	cc := cloneClient(c)
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
	// lock is safe.
	return cloneClient(c), nil
}

// cloneClient returns a deep copy of c. Its string lists share one new
// array (see cloneLists): a lookup costs two allocations, three with JWKS,
// instead of one per list; it runs on every client authentication.
func cloneClient(c *storage.Client) *storage.Client {
	cc := *c
	cc.JWKS = slices.Clone(c.JWKS)
	cloneLists(&cc.RedirectURIs, &cc.GrantTypes, &cc.Scopes, &cc.DefaultScopes, &cc.Audience, &cc.Resources)
	return &cc
}
