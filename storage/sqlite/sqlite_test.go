package sqlite_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/sqlite"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// open returns a store on a new database file in t's temporary directory,
// closed when the test ends.
func open(t testing.TB, opts ...sqlite.Option) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "grantor.db")
	return openPath(t, path, opts...), path
}

// openPath opens the store at path, closed when the test ends.
func openPath(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, clients ...*storage.Client) storagetest.Store {
		s, _ := open(t)
		for _, c := range clients {
			require.NoError(t, s.PutClient(t.Context(), c))
		}
		return s
	})
}

func TestLimiterConformance(t *testing.T) {
	storagetest.RunLimiter(t, func(t *testing.T) storage.Limiter {
		s, _ := open(t)
		return s
	})
}

// TestLimiterConformanceTwoStores runs the limiter's suite against two
// Store values on one file, the calls alternating between them: the
// concurrent takes of one key then count through two pools of
// connections, as two processes would.
func TestLimiterConformanceTwoStores(t *testing.T) {
	storagetest.RunLimiter(t, func(t *testing.T) storage.Limiter {
		a, path := open(t)
		return &twoStores{s: [2]*sqlite.Store{a, openPath(t, path)}}
	})
}

func TestKeyStoreConformance(t *testing.T) {
	storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore {
		s, _ := open(t)
		return s
	})
}

// TestKeyStoreConformanceTwoStores runs the key store's suite against two
// Store values on one file, the calls alternating between them: the
// concurrent saves at one version then race through two pools of
// connections for SQLite's write lock, as the saves of two processes
// would, and exactly one may win.
func TestKeyStoreConformanceTwoStores(t *testing.T) {
	storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore {
		a, path := open(t)
		return &twoStores{s: [2]*sqlite.Store{a, openPath(t, path)}}
	})
}

func TestLoginSessionStoreConformance(t *testing.T) {
	storagetest.RunLoginSessionStore(t, func(t *testing.T) storage.LoginSessionStore {
		s, _ := open(t)
		return s
	})
}

// TestLoginSessionStoreConformanceTwoStores runs the login session
// store's suite against two Store values on one file, the calls
// alternating between them: concurrent additions of clients and
// deletions then race through two pools of connections for SQLite's
// write lock, as those of two processes would.
func TestLoginSessionStoreConformanceTwoStores(t *testing.T) {
	storagetest.RunLoginSessionStore(t, func(t *testing.T) storage.LoginSessionStore {
		a, path := open(t)
		return &twoStores{s: [2]*sqlite.Store{a, openPath(t, path)}}
	})
}

// TestConformanceTwoStores runs the suite against two Store values on one
// file, each with its own connections, the calls alternating between them:
// the concurrency cases then race two writers for SQLite's lock, as two
// processes would, and no SQLITE_BUSY may surface.
func TestConformanceTwoStores(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite runs once already in TestConformance")
	}
	storagetest.Run(t, func(t *testing.T, clients ...*storage.Client) storagetest.Store {
		a, path := open(t)
		b := openPath(t, path)
		for _, c := range clients {
			require.NoError(t, a.PutClient(t.Context(), c))
		}
		return &twoStores{s: [2]*sqlite.Store{a, b}}
	})
}

// twoStores sends each call to one of two stores in turn.
type twoStores struct {
	s [2]*sqlite.Store
	n atomic.Uint32
}

func (p *twoStores) next() *sqlite.Store { return p.s[p.n.Add(1)%2] }

func (p *twoStores) Client(ctx context.Context, id string) (*storage.Client, error) {
	return p.next().Client(ctx, id)
}

func (p *twoStores) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	return p.next().CreateTokens(ctx, tokens...)
}

func (p *twoStores) Token(ctx context.Context, key string) (*storage.Token, error) {
	return p.next().Token(ctx, key)
}

func (p *twoStores) RevokeToken(ctx context.Context, key string, at time.Time) error {
	return p.next().RevokeToken(ctx, key, at)
}

func (p *twoStores) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	return p.next().RevokeGrant(ctx, grantID, at)
}

func (p *twoStores) ConsumeToken(ctx context.Context, key string, at time.Time) (*storage.Token, error) {
	return p.next().ConsumeToken(ctx, key, at)
}

func (p *twoStores) Remember(ctx context.Context, key string, expiresAt time.Time) error {
	return p.next().Remember(ctx, key, expiresAt)
}

func (p *twoStores) CreateInteraction(ctx context.Context, i *storage.Interaction) error {
	return p.next().CreateInteraction(ctx, i)
}

func (p *twoStores) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	return p.next().Interaction(ctx, key)
}

func (p *twoStores) CompleteInteraction(ctx context.Context, key string, at time.Time) (*storage.Interaction, error) {
	return p.next().CompleteInteraction(ctx, key, at)
}

func (p *twoStores) CreateAuthorizationCode(ctx context.Context, c *storage.AuthorizationCode) error {
	return p.next().CreateAuthorizationCode(ctx, c)
}

func (p *twoStores) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	return p.next().AuthorizationCode(ctx, key)
}

func (p *twoStores) ConsumeAuthorizationCode(ctx context.Context, key string, at time.Time) (*storage.AuthorizationCode, error) {
	return p.next().ConsumeAuthorizationCode(ctx, key, at)
}

func (p *twoStores) CreatePushedRequest(ctx context.Context, r *storage.PushedRequest) error {
	return p.next().CreatePushedRequest(ctx, r)
}

func (p *twoStores) PushedRequest(ctx context.Context, key string) (*storage.PushedRequest, error) {
	return p.next().PushedRequest(ctx, key)
}

func (p *twoStores) ConsumePushedRequest(ctx context.Context, key string, at time.Time) (*storage.PushedRequest, error) {
	return p.next().ConsumePushedRequest(ctx, key, at)
}

func (p *twoStores) CreateDeviceAuthorization(ctx context.Context, d *storage.DeviceAuthorization) error {
	return p.next().CreateDeviceAuthorization(ctx, d)
}

func (p *twoStores) DeviceAuthorizationByUserCode(ctx context.Context, userCodeKey string) (*storage.DeviceAuthorization, error) {
	return p.next().DeviceAuthorizationByUserCode(ctx, userCodeKey)
}

func (p *twoStores) DecideDeviceAuthorization(ctx context.Context, key string, d storage.DeviceDecision, at time.Time) (*storage.DeviceAuthorization, error) {
	return p.next().DecideDeviceAuthorization(ctx, key, d, at)
}

func (p *twoStores) PollDeviceAuthorization(ctx context.Context, key, clientID string, at time.Time, slowDown time.Duration) (*storage.DeviceAuthorization, error) {
	return p.next().PollDeviceAuthorization(ctx, key, clientID, at, slowDown)
}

func (p *twoStores) ConsumeDeviceAuthorization(ctx context.Context, key string, at time.Time) (*storage.DeviceAuthorization, error) {
	return p.next().ConsumeDeviceAuthorization(ctx, key, at)
}

func (p *twoStores) Take(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	return p.next().Take(ctx, key, window, now)
}

func (p *twoStores) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	return p.next().LoadKeySet(ctx, name)
}

func (p *twoStores) SaveKeySet(ctx context.Context, name string, version int64, keys []storage.StoredKey) (int64, error) {
	return p.next().SaveKeySet(ctx, name, version, keys)
}

func (p *twoStores) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	return p.next().CreateLoginSession(ctx, ls)
}

func (p *twoStores) LoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	return p.next().LoginSession(ctx, key)
}

func (p *twoStores) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	return p.next().LoginSessionByID(ctx, id)
}

func (p *twoStores) AddSessionClient(ctx context.Context, key, clientID string) error {
	return p.next().AddSessionClient(ctx, key, clientID)
}

func (p *twoStores) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	return p.next().DeleteLoginSession(ctx, key)
}
