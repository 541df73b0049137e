package resource

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// lru is a bounded cache of introspection answers keyed by the SHA-256
// digest of the token, least recently used first out. It is safe for
// concurrent use.
type lru struct {
	mu    sync.Mutex
	size  int
	items map[[sha256.Size]byte]*list.Element
	order *list.List // of *lruEntry, most recent at the front
}

type lruEntry struct {
	key [sha256.Size]byte
	val *cached
}

func newLRU(size int) *lru {
	return &lru{size: size, items: make(map[[sha256.Size]byte]*list.Element), order: list.New()}
}

// get returns the answer under key if it has not expired at now.
func (c *lru) get(key [sha256.Size]byte, now time.Time) (*cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*lruEntry)
	if !now.Before(e.val.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// put stores val under key, evicting the least recently used entry when
// the cache is full.
func (c *lru) put(key [sha256.Size]byte, val *cached, now time.Time) {
	if !now.Before(val.expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*lruEntry).val = val
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.size {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*lruEntry).key)
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, val: val})
}
