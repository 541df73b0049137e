package main

import (
	"container/list"
	"context"
	"slices"
	"sync"

	"github.com/grantor-dev/grantor/storage"
)

// maxConsents bounds the consents kept in memory. Only a logged-in user's
// approval on the consent page adds one, and each user keeps at most one
// per client, so the entries are at most users × clients; the bound holds
// the memory anyway, forgetting the consents used least recently first.
// A forgotten consent costs the user one more consent page, nothing else.
const maxConsents = 100_000

// consents remembers, per user and client, the scopes the user allowed on
// the consent page, so that an authorization request with prompt=none,
// which may show no page, can be answered when the user allowed it before
// (OpenID Connect Core §3.1.2.1). A real application keeps them in its
// database, where the user can also review and withdraw them.
type consents struct {
	max int

	mu sync.Mutex
	// order holds the entries, least recently used first; byKey finds
	// them by user and client.
	order *list.List
	byKey map[consentKey]*list.Element
}

// consentKey names a user's consent to one client.
type consentKey struct{ subject, client string }

// consent is a remembered consent: the scopes allowed.
type consent struct {
	key    consentKey
	scopes []string
}

// newConsents returns an empty memory of at most max consents.
func newConsents(max int) *consents {
	return &consents{max: max, order: list.New(), byKey: make(map[consentKey]*list.Element)}
}

// remember records that subject allowed client the scopes, besides those
// allowed before.
func (c *consents) remember(subject, client string, scopes []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := consentKey{subject, client}
	if e, ok := c.byKey[k]; ok {
		v := e.Value.(*consent)
		for _, s := range scopes {
			if !slices.Contains(v.scopes, s) {
				v.scopes = append(v.scopes, s)
			}
		}
		c.order.MoveToBack(e)
		return
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Front()
		delete(c.byKey, oldest.Value.(*consent).key)
		c.order.Remove(oldest)
	}
	c.byKey[k] = c.order.PushBack(&consent{key: k, scopes: slices.Compact(slices.Sorted(slices.Values(scopes)))})
}

// forget drops subject's consent to client: the user denied a request of
// the client, so nothing is allowed silently any more.
func (c *consents) forget(subject, client string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := consentKey{subject, client}
	if e, ok := c.byKey[k]; ok {
		c.order.Remove(e)
		delete(c.byKey, k)
	}
}

// allowed reports whether subject allowed client every one of scopes.
func (c *consents) allowed(subject, client string, scopes []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[consentKey{subject, client}]
	if !ok {
		return false
	}
	v := e.Value.(*consent)
	for _, s := range scopes {
		if !slices.Contains(v.scopes, s) {
			return false
		}
	}
	c.order.MoveToBack(e)
	return true
}

// consented is the oidc.ConsentFunc of the prompt=none requests
// (oidc.Provider.SilentAuthorize).
func (c *consents) consented(_ context.Context, subject string, client *storage.Client, scopes []string) (bool, error) {
	return c.allowed(subject, client.ID, scopes), nil
}
