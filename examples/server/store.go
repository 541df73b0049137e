package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/postgres"
	"github.com/grantor-dev/grantor/storage/sqlite"
)

// store is what the server needs of its storage: every interface the
// Provider and the grants use, and a way to register clients.
type store interface {
	storage.ClientStore
	storage.RefreshTokenStore
	storage.InteractionStore
	storage.AuthorizationCodeStore
	storage.PushedRequestStore
	storage.ReplayStore
	storage.DeviceAuthorizationStore
	// Limiter counts every throttle's events: in the database for SQLite
	// and PostgreSQL, so that instances over one database share one
	// budget (memory.Store counts those of this process).
	storage.Limiter
	// KeyStore keeps the token keys, sealed with the -secret-file's
	// secret, so that tokens survive a restart and every instance over
	// one database signs and verifies with the same keys (keys.go).
	storage.KeyStore
	// LoginSessionStore keeps the OpenID login sessions (openid.go), so
	// that every instance over one database shares them and they survive
	// a restart.
	storage.LoginSessionStore
	PutClient(ctx context.Context, c *storage.Client) error
}

// memoryStore adapts memory.Store, whose PutClient takes no context.
type memoryStore struct{ *memory.Store }

func (m memoryStore) PutClient(_ context.Context, c *storage.Client) error {
	return m.Store.PutClient(c)
}

// openedStore is the store chosen with -store, with what it takes to keep
// it tidy and to release it.
type openedStore struct {
	store
	// name describes the store in the start-up text. It never holds a
	// DSN, which may hold a password.
	name string
	// kind is "memory", "sqlite" or "postgres".
	kind string
	// persistent reports whether the store outlives the process, so
	// that its keys must be sealed with a secret that does too.
	persistent bool
	// deleteExpired deletes expired records; nil when the store does it
	// on its own (memory).
	deleteExpired func(ctx context.Context) (int, error)
	// close releases the store.
	close func() error
}

// storeSpec is a parsed -store value.
type storeSpec struct {
	kind   string // "memory", "sqlite" or "postgres"; "" is memory
	target string // the database file (sqlite) or DSN (postgres)
}

// parseStore parses a -store value: memory, sqlite:PATH or postgres:DSN.
// Errors never quote the DSN.
func parseStore(v string) (storeSpec, error) {
	kind, target, _ := strings.Cut(v, ":")
	switch kind {
	case "memory":
		if v != "memory" {
			return storeSpec{}, errors.New("-store memory takes no argument")
		}
	case "sqlite":
		if target == "" {
			return storeSpec{}, errors.New("-store sqlite needs a file name: sqlite:PATH")
		}
	case "postgres":
		if target == "" {
			return storeSpec{}, errors.New("-store postgres needs a DSN: postgres:DSN")
		}
	default:
		return storeSpec{}, fmt.Errorf("-store must be memory, sqlite:PATH or postgres:DSN, not %q", kind)
	}
	return storeSpec{kind: kind, target: target}, nil
}

// newMemoryStore returns an empty in-memory store.
func newMemoryStore() *openedStore {
	return &openedStore{
		store: memoryStore{memory.New()},
		name:  "memory (everything is lost on exit)",
		kind:  "memory",
		close: func() error { return nil },
	}
}

// openStore opens the store spec names, creating or migrating the schema
// of a database.
func openStore(ctx context.Context, spec storeSpec) (*openedStore, error) {
	switch spec.kind {
	case "sqlite":
		s, err := sqlite.Open(ctx, spec.target)
		if err != nil {
			return nil, err
		}
		return &openedStore{
			store:         s,
			name:          "sqlite (" + spec.target + ")",
			kind:          "sqlite",
			persistent:    true,
			deleteExpired: func(ctx context.Context) (int, error) { return s.DeleteExpired(ctx, time.Now()) },
			close:         s.Close,
		}, nil
	case "postgres":
		// pgx redacts the password from its errors.
		pool, err := pgxpool.New(ctx, spec.target)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		if err := postgres.Migrate(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
		s := postgres.New(pool)
		return &openedStore{
			store:         s,
			name:          "postgres",
			kind:          "postgres",
			persistent:    true,
			deleteExpired: func(ctx context.Context) (int, error) { return s.DeleteExpired(ctx, time.Now(), 0) },
			close:         func() error { pool.Close(); return nil },
		}, nil
	default:
		return newMemoryStore(), nil
	}
}

// sweepInterval is how often a database's expired records are deleted.
const sweepInterval = time.Minute

// sweepExpired calls deleteExpired every interval until ctx ends. A
// failure is logged; the next tick tries again.
func sweepExpired(ctx context.Context, deleteExpired func(context.Context) (int, error), interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := deleteExpired(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("deleting expired records", "err", err)
		case n > 0:
			log.Info("deleted expired records", "count", n)
		}
	}
}
