package storagetest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Op names a storage operation, after the method that performs it.
type Op string

// The operations Faulty can make fail.
const (
	OpClient                   Op = "Client"
	OpCreateTokens             Op = "CreateTokens"
	OpToken                    Op = "Token"
	OpRevokeToken              Op = "RevokeToken"
	OpRevokeGrant              Op = "RevokeGrant"
	OpConsumeToken             Op = "ConsumeToken"
	OpRemember                 Op = "Remember"
	OpCreateInteraction        Op = "CreateInteraction"
	OpInteraction              Op = "Interaction"
	OpCompleteInteraction      Op = "CompleteInteraction"
	OpCreateAuthorizationCode  Op = "CreateAuthorizationCode"
	OpAuthorizationCode        Op = "AuthorizationCode"
	OpConsumeAuthorizationCode Op = "ConsumeAuthorizationCode"
	OpCreatePushedRequest      Op = "CreatePushedRequest"
	OpPushedRequest            Op = "PushedRequest"
	OpConsumePushedRequest     Op = "ConsumePushedRequest"

	OpCreateDeviceAuthorization     Op = "CreateDeviceAuthorization"
	OpDeviceAuthorizationByUserCode Op = "DeviceAuthorizationByUserCode"
	OpDecideDeviceAuthorization     Op = "DecideDeviceAuthorization"
	OpPollDeviceAuthorization       Op = "PollDeviceAuthorization"
	OpConsumeDeviceAuthorization    Op = "ConsumeDeviceAuthorization"
)

// ErrInjected is the error Faulty returns when no other is given.
var ErrInjected = errors.New("storagetest: injected fault")

// Faulty wraps a Store and makes chosen operations fail, to test what the
// code above storage does when storage fails: that it answers with an
// error (server_error, or 503 where an RFC says so) and leaves nothing
// half-done. It is safe for concurrent use.
//
// Fail makes an operation fail before it reaches the store: nothing is
// written. FailAfter lets it reach the store and then reports the error
// anyway, the way a commit whose acknowledgement is lost looks to its
// caller: the write happened, the caller does not know.
type Faulty struct {
	Store

	mu     sync.Mutex
	before map[Op]error
	after  map[Op]error
	calls  map[Op]int
}

// NewFaulty wraps s; until Fail or FailAfter is called every operation
// goes through.
func NewFaulty(s Store) *Faulty {
	return &Faulty{Store: s, before: map[Op]error{}, after: map[Op]error{}, calls: map[Op]int{}}
}

// Fail makes op fail with err (ErrInjected when nil) without reaching the
// store, until Heal.
func (f *Faulty) Fail(op Op, err error) { f.set(f.before, op, err) }

// FailAfter makes op reach the store and then fail with err (ErrInjected
// when nil), until Heal.
func (f *Faulty) FailAfter(op Op, err error) { f.set(f.after, op, err) }

// Heal makes every operation go through again.
func (f *Faulty) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.before)
	clear(f.after)
}

// Calls returns how many times op was called, failed or not.
func (f *Faulty) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *Faulty) set(m map[Op]error, op Op, err error) {
	if err == nil {
		err = ErrInjected
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m[op] = err
}

// enter counts a call of op and returns the error to fail it with before
// it reaches the store, if any.
func (f *Faulty) enter(op Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	return f.before[op]
}

// leave returns err, or the error to fail op with after the store
// succeeded.
func (f *Faulty) leave(op Op, err error) error {
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.after[op]
}

// do runs an operation without a result through the fault points.
func (f *Faulty) do(op Op, call func() error) error {
	if err := f.enter(op); err != nil {
		return err
	}
	return f.leave(op, call())
}

// faultyGet runs an operation with a result through the fault points.
func faultyGet[R any](f *Faulty, op Op, call func() (*R, error)) (*R, error) {
	if err := f.enter(op); err != nil {
		return nil, err
	}
	r, err := call()
	// A record that comes with its verdict (ErrConsumed, ErrSlowDown)
	// stays with it.
	if err = f.leave(op, err); err != nil && !errors.Is(err, storage.ErrConsumed) && !errors.Is(err, storage.ErrSlowDown) {
		return nil, err
	}
	return r, err
}

// Client implements storage.ClientStore.
func (f *Faulty) Client(ctx context.Context, id string) (*storage.Client, error) {
	return faultyGet(f, OpClient, func() (*storage.Client, error) { return f.Store.Client(ctx, id) })
}

// CreateTokens implements storage.TokenStore.
func (f *Faulty) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	return f.do(OpCreateTokens, func() error { return f.Store.CreateTokens(ctx, tokens...) })
}

// Token implements storage.TokenStore.
func (f *Faulty) Token(ctx context.Context, key string) (*storage.Token, error) {
	return faultyGet(f, OpToken, func() (*storage.Token, error) { return f.Store.Token(ctx, key) })
}

// RevokeToken implements storage.TokenStore.
func (f *Faulty) RevokeToken(ctx context.Context, key string, at time.Time) error {
	return f.do(OpRevokeToken, func() error { return f.Store.RevokeToken(ctx, key, at) })
}

// RevokeGrant implements storage.TokenStore.
func (f *Faulty) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	return f.do(OpRevokeGrant, func() error { return f.Store.RevokeGrant(ctx, grantID, at) })
}

// ConsumeToken implements storage.RefreshTokenStore.
func (f *Faulty) ConsumeToken(ctx context.Context, key string, at time.Time) (*storage.Token, error) {
	return faultyGet(f, OpConsumeToken, func() (*storage.Token, error) { return f.Store.ConsumeToken(ctx, key, at) })
}

// Remember implements storage.ReplayStore.
func (f *Faulty) Remember(ctx context.Context, key string, expiresAt time.Time) error {
	return f.do(OpRemember, func() error { return f.Store.Remember(ctx, key, expiresAt) })
}

// CreateInteraction implements storage.InteractionStore.
func (f *Faulty) CreateInteraction(ctx context.Context, i *storage.Interaction) error {
	return f.do(OpCreateInteraction, func() error { return f.Store.CreateInteraction(ctx, i) })
}

// Interaction implements storage.InteractionStore.
func (f *Faulty) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	return faultyGet(f, OpInteraction, func() (*storage.Interaction, error) { return f.Store.Interaction(ctx, key) })
}

// CompleteInteraction implements storage.InteractionStore.
func (f *Faulty) CompleteInteraction(ctx context.Context, key string, at time.Time) (*storage.Interaction, error) {
	return faultyGet(f, OpCompleteInteraction, func() (*storage.Interaction, error) { return f.Store.CompleteInteraction(ctx, key, at) })
}

// CreateAuthorizationCode implements storage.AuthorizationCodeStore.
func (f *Faulty) CreateAuthorizationCode(ctx context.Context, c *storage.AuthorizationCode) error {
	return f.do(OpCreateAuthorizationCode, func() error { return f.Store.CreateAuthorizationCode(ctx, c) })
}

// AuthorizationCode implements storage.AuthorizationCodeStore.
func (f *Faulty) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	return faultyGet(f, OpAuthorizationCode, func() (*storage.AuthorizationCode, error) { return f.Store.AuthorizationCode(ctx, key) })
}

// ConsumeAuthorizationCode implements storage.AuthorizationCodeStore.
func (f *Faulty) ConsumeAuthorizationCode(ctx context.Context, key string, at time.Time) (*storage.AuthorizationCode, error) {
	return faultyGet(f, OpConsumeAuthorizationCode, func() (*storage.AuthorizationCode, error) {
		return f.Store.ConsumeAuthorizationCode(ctx, key, at)
	})
}

// CreatePushedRequest implements storage.PushedRequestStore.
func (f *Faulty) CreatePushedRequest(ctx context.Context, r *storage.PushedRequest) error {
	return f.do(OpCreatePushedRequest, func() error { return f.Store.CreatePushedRequest(ctx, r) })
}

// PushedRequest implements storage.PushedRequestStore.
func (f *Faulty) PushedRequest(ctx context.Context, key string) (*storage.PushedRequest, error) {
	return faultyGet(f, OpPushedRequest, func() (*storage.PushedRequest, error) { return f.Store.PushedRequest(ctx, key) })
}

// ConsumePushedRequest implements storage.PushedRequestStore.
func (f *Faulty) ConsumePushedRequest(ctx context.Context, key string, at time.Time) (*storage.PushedRequest, error) {
	return faultyGet(f, OpConsumePushedRequest, func() (*storage.PushedRequest, error) {
		return f.Store.ConsumePushedRequest(ctx, key, at)
	})
}

var _ Store = (*Faulty)(nil)

// CreateDeviceAuthorization implements storage.DeviceAuthorizationStore.
func (f *Faulty) CreateDeviceAuthorization(ctx context.Context, d *storage.DeviceAuthorization) error {
	return f.do(OpCreateDeviceAuthorization, func() error { return f.Store.CreateDeviceAuthorization(ctx, d) })
}

// DeviceAuthorizationByUserCode implements storage.DeviceAuthorizationStore.
func (f *Faulty) DeviceAuthorizationByUserCode(ctx context.Context, userCodeKey string) (*storage.DeviceAuthorization, error) {
	return faultyGet(f, OpDeviceAuthorizationByUserCode, func() (*storage.DeviceAuthorization, error) {
		return f.Store.DeviceAuthorizationByUserCode(ctx, userCodeKey)
	})
}

// DecideDeviceAuthorization implements storage.DeviceAuthorizationStore.
func (f *Faulty) DecideDeviceAuthorization(ctx context.Context, key string, d storage.DeviceDecision, at time.Time) (*storage.DeviceAuthorization, error) {
	return faultyGet(f, OpDecideDeviceAuthorization, func() (*storage.DeviceAuthorization, error) {
		return f.Store.DecideDeviceAuthorization(ctx, key, d, at)
	})
}

// PollDeviceAuthorization implements storage.DeviceAuthorizationStore.
func (f *Faulty) PollDeviceAuthorization(ctx context.Context, key, clientID string, at time.Time, slowDown time.Duration) (*storage.DeviceAuthorization, error) {
	return faultyGet(f, OpPollDeviceAuthorization, func() (*storage.DeviceAuthorization, error) {
		return f.Store.PollDeviceAuthorization(ctx, key, clientID, at, slowDown)
	})
}

// ConsumeDeviceAuthorization implements storage.DeviceAuthorizationStore.
func (f *Faulty) ConsumeDeviceAuthorization(ctx context.Context, key string, at time.Time) (*storage.DeviceAuthorization, error) {
	return faultyGet(f, OpConsumeDeviceAuthorization, func() (*storage.DeviceAuthorization, error) {
		return f.Store.ConsumeDeviceAuthorization(ctx, key, at)
	})
}
