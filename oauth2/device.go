package oauth2

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// The verification side of the device authorization grant (RFC 8628 §3.3):
// the application's verification page finds a device authorization by the
// user code the user types, shows the client and the scopes, and approves
// or denies it. It works like the authorization code flow's pages: the
// lookup opens an interaction bound to the browser, and the decision is
// made through that interaction's id, from that browser only.

// Errors of the verification API, besides those of the interactions
// (ErrInteractionNotFound, ErrInteractionBrowser, ErrStorageFailure).
var (
	// ErrUserCodeNotFound: the user code is unknown, has expired, or its
	// device authorization has been decided already. Show a page that
	// says so and lets the user try again.
	ErrUserCodeNotFound = errors.New("oauth2: unknown, expired or already used user code")
	// ErrThrottled: too many attempts; the error is a *ThrottledError
	// that says when to try again.
	ErrThrottled = errors.New("oauth2: too many attempts")
)

// ThrottledError is the error of an attempt refused by a throttle (too
// many user codes tried from one browser or address, RFC 8628 §5.1).
// errors.Is(err, ErrThrottled) holds for it. Answer 429 Too Many Requests
// with a Retry-After header of RetryAfter.
type ThrottledError struct {
	// RetryAfter is how long until the throttle's window ends.
	RetryAfter time.Duration
}

// Error says that there were too many attempts.
func (e *ThrottledError) Error() string {
	return "oauth2: too many attempts; try again in " + e.RetryAfter.Round(time.Second).String()
}

// Is reports whether target is ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up and at
// least 1: the value of a Retry-After header (RFC 9110 §10.2.3).
func (e *ThrottledError) RetryAfterSeconds() string {
	return strconv.FormatInt(max(int64((e.RetryAfter+time.Second-1)/time.Second), 1), 10)
}

// UserCodeVerifier is implemented by a GrantHandler whose authorizations
// the user approves on a verification page by typing a user code (RFC 8628
// §3.3), as grant.DeviceCode's are. The Provider's verification API
// (PendingDeviceAuthorization, DeviceInteraction, ApproveDevice,
// DenyDevice) works through the one registered grant that implements it.
type UserCodeVerifier interface {
	// DeviceAuthorizations returns the store of the grant's device
	// authorizations.
	DeviceAuthorizations() storage.DeviceAuthorizationStore

	// NormalizeUserCode returns a user code as the user typed it in its
	// canonical form, whose UserCodeKeys the store holds, and in the form
	// the device shows (RFC 8628 §6.1: case and separators do not
	// matter). ok is false when input cannot be a user code. It must
	// look at at most the first few hundred bytes of input.
	NormalizeUserCode(input string) (canonical, display string, ok bool)
}

// PendingDeviceAuthorization is what the application's verification page
// needs to know of a device authorization waiting for the user's decision.
type PendingDeviceAuthorization struct {
	// ID is the interaction id to pass to DeviceInteraction, ApproveDevice
	// and DenyDevice, from the same browser.
	ID string
	// Client is the client asking; show its Name.
	Client *storage.Client
	// Scopes are what the client asks for.
	Scopes []string
	// UserCode is the user code as the device shows it. Show it on the
	// confirmation page, for the user to compare with the device's
	// screen (RFC 8628 §5.4). Only PendingDeviceAuthorization knows it:
	// the code is not stored, and DeviceInteraction leaves it empty.
	UserCode string
	// ExpiresAt is when the interaction ends: the device authorization's
	// expiry, or the interaction's lifetime if that comes sooner.
	ExpiresAt time.Time
}

// userCodeKeyDomain separates the digests of user codes from any other
// HMAC made with the token keys.
const userCodeKeyDomain = "grantor user code\x00"

// UserCodeKeys returns the storage keys of a canonical user code: its
// HMAC-SHA256 under each of Config.TokenKeys, base64url, the signing key's
// first. Store a new user code under the first; look one up under each, so
// that it is found across a rotation of the keys. A user code is short
// enough to be found from a plain hash by trying them all; without the
// keys, a leaked table of these digests tells nothing.
func (p *Provider) UserCodeKeys(canonical string) []string {
	macs := p.tokenKeys.MACs(userCodeKeyDomain, canonical)
	keys := make([]string, len(macs))
	for i, m := range macs {
		keys[i] = base64.RawURLEncoding.EncodeToString(m)
	}
	return keys
}

// PendingDeviceAuthorization looks up the device authorization of a user
// code typed on the application's verification page (RFC 8628 §3.3), and
// opens an interaction bound to this browser for the user's decision. r is
// the browser's request; w receives the binding cookie. Show the user the
// client's name, the scopes and the user code, and ask for an explicit
// confirmation (RFC 8628 §5.4): never approve because a link carried the
// code (verification_uri_complete).
//
// Every well-formed code tried counts against the browser's budget, its
// address's, and the account's when Config.UserCodeAccount names one
// (Config.UserCodeAttempts, RFC 8628 §5.1) before it is looked up; beyond
// them the answer is a *ThrottledError until the window ends. A code that is unknown, expired or decided already is
// ErrUserCodeNotFound; a store failure wraps ErrStorageFailure.
func (p *Provider) PendingDeviceAuthorization(w http.ResponseWriter, r *http.Request, userCode string) (*PendingDeviceAuthorization, error) {
	if p.userCodes == nil {
		return nil, errors.New("oauth2: no registered grant issues user codes (grant.DeviceCode)")
	}
	canonical, display, ok := p.userCodes.NormalizeUserCode(userCode)
	if !ok {
		return nil, ErrUserCodeNotFound // no guess: nothing to count
	}
	binding, err := p.browserBinding(w, r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorageFailure, err)
	}
	if err := p.throttleUserCodes(r, binding); err != nil {
		return nil, err
	}
	store := p.userCodes.DeviceAuthorizations()
	now := p.clock()
	var rec *storage.DeviceAuthorization
	for _, key := range p.UserCodeKeys(canonical) {
		rec, err = store.DeviceAuthorizationByUserCode(r.Context(), key)
		if !errors.Is(err, storage.ErrNotFound) {
			break
		}
	}
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrUserCodeNotFound
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStorageFailure, err)
	case rec.Status != storage.DevicePending || !now.Before(rec.ExpiresAt):
		return nil, ErrUserCodeNotFound
	}
	client, err := p.clients.Client(r.Context(), rec.ClientID)
	switch {
	case errors.Is(err, storage.ErrNotFound) || err == nil && client.Disabled:
		return nil, ErrUserCodeNotFound // the client is gone: nothing to approve
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStorageFailure, err)
	}
	// No InteractionRateLimit here: the user code budgets bound the
	// interactions an address can open far lower.
	id, err := p.newHandle()
	if err != nil {
		return nil, fmt.Errorf("%w: randomness unavailable: %w", ErrStorageFailure, err)
	}
	it := &storage.Interaction{
		Key:            digest(id),
		Request:        storage.AuthorizationRequest{ClientID: rec.ClientID, Scopes: rec.Scopes},
		BrowserBinding: digest(binding),
		CreatedAt:      now,
		ExpiresAt:      earlier(now.Add(p.interactionLifetime), rec.ExpiresAt),

		DeviceAuthorizationKey: rec.Key,
	}
	if err := p.interactions.CreateInteraction(r.Context(), it); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorageFailure, err)
	}
	return &PendingDeviceAuthorization{ID: id, Client: client, Scopes: slices.Clone(rec.Scopes),
		UserCode: display, ExpiresAt: it.ExpiresAt}, nil
}

// throttleUserCodes counts a user code about to be looked up against the
// budgets of the browser, of its address and of the account the page is
// logged in as (Config.UserCodeAccount) (RFC 8628 §5.1). Each is counted
// before the lookup, so that concurrent guesses cannot slip past.
func (p *Provider) throttleUserCodes(r *http.Request, binding string) error {
	if p.userCodeAttempts < 0 {
		return nil
	}
	ctx := r.Context()
	now := p.clock()
	addr := boundAddress(p.clientAddress(r))
	type budget struct {
		key   string
		limit int64
	}
	budgets := append(make([]budget, 0, 3),
		budget{budgetKey("user-code-browser", "", digest(binding)), p.userCodeAttempts},
		budget{budgetKey("user-code-address", "", addr), addressAttemptsFactor * p.userCodeAttempts})
	if p.userCodeAccount != nil {
		if account := p.userCodeAccount(r); account != "" {
			// Digested: an account name may be long, and is no key.
			budgets = append(budgets, budget{budgetKey("user-code-account", "", digest(account)), p.userCodeAttempts})
		}
	}
	for _, b := range budgets {
		n, reset, err := p.limiter.Take(ctx, b.key, p.userCodeWindow, now)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStorageFailure, err)
		}
		if n > b.limit {
			if n == b.limit+1 {
				p.logger.LogAttrs(ctx, slog.LevelWarn, "user code attempts throttled",
					slog.String("address", addr), slog.Int64("limit", b.limit))
			}
			return &ThrottledError{RetryAfter: reset.Sub(now)}
		}
	}
	return nil
}

// addressAttemptsFactor is how many times a browser's budget of user code
// attempts its client address has, for the several users one address can
// serve (a household, an office behind one NAT).
const addressAttemptsFactor = 4

// loadDeviceInteraction returns the open interaction of id, checking that
// this browser started it and that it verifies a device authorization.
func (p *Provider) loadDeviceInteraction(r *http.Request, id string) (*storage.Interaction, error) {
	if p.userCodes == nil {
		return nil, ErrInteractionNotFound
	}
	it, err := p.loadInteraction(r, id)
	if err != nil {
		return nil, err
	}
	if it.DeviceAuthorizationKey == "" {
		return nil, ErrInteractionNotFound // an authorization request's
	}
	return it, nil
}

// DeviceInteraction returns the device authorization that an interaction
// opened by PendingDeviceAuthorization verifies, for the application's
// pages after the first (a login page, say). r is the browser's request:
// the interaction can only be seen from the browser that opened it. Its
// errors are those of PendingAuthorization.
func (p *Provider) DeviceInteraction(r *http.Request, interactionID string) (*PendingDeviceAuthorization, error) {
	it, err := p.loadDeviceInteraction(r, interactionID)
	if err != nil {
		return nil, err
	}
	client, err := p.clients.Client(r.Context(), it.Request.ClientID)
	switch {
	case errors.Is(err, storage.ErrNotFound) || err == nil && client.Disabled:
		return nil, ErrInteractionNotFound
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStorageFailure, err)
	}
	return &PendingDeviceAuthorization{ID: interactionID, Client: client, Scopes: slices.Clone(it.Request.Scopes),
		ExpiresAt: it.ExpiresAt}, nil
}

// ApproveDevice grants the device authorization of an interaction opened
// by PendingDeviceAuthorization: the device's next poll gets the tokens.
// r is the browser's request. It writes no response: show the user a page
// that says to return to the device.
//
// Its errors are Approve's: the interaction is unknown, expired, decided
// already or was opened in another browser, the store failed, or the
// approval is wrong (no subject, scopes that were not asked for, a claim
// with a registered name).
func (p *Provider) ApproveDevice(r *http.Request, interactionID string, a Approval) error {
	it, err := p.loadDeviceInteraction(r, interactionID)
	if err != nil {
		return err
	}
	if err := checkApproval(&a, &it.Request); err != nil {
		return err
	}
	d := storage.DeviceDecision{Status: storage.DeviceApproved, Subject: a.Subject, Scopes: a.Scopes,
		AuthTime: a.AuthTime, Claims: a.Claims}
	if d.Scopes == nil {
		d.Scopes = it.Request.Scopes
	}
	if d.AuthTime.IsZero() {
		d.AuthTime = p.clock()
	}
	return p.decideDevice(r, it, d)
}

// DenyDevice refuses the device authorization of an interaction opened by
// PendingDeviceAuthorization: the device's next poll gets access_denied
// (RFC 8628 §3.5). Its errors are ApproveDevice's.
func (p *Provider) DenyDevice(r *http.Request, interactionID string) error {
	it, err := p.loadDeviceInteraction(r, interactionID)
	if err != nil {
		return err
	}
	return p.decideDevice(r, it, storage.DeviceDecision{Status: storage.DeviceDenied})
}

// decideDevice records the decision, then completes the interaction. The
// decision is the compare-and-set that matters: of two concurrent
// decisions, on one interaction or on two for one user code, only one is
// recorded; and one that fails to be recorded leaves the interaction open,
// for the user to retry.
func (p *Provider) decideDevice(r *http.Request, it *storage.Interaction, d storage.DeviceDecision) error {
	ctx := r.Context()
	now := p.clock()
	_, err := p.userCodes.DeviceAuthorizations().DecideDeviceAuthorization(ctx, it.DeviceAuthorizationKey, d, now)
	switch {
	case errors.Is(err, storage.ErrConsumed), errors.Is(err, storage.ErrNotFound):
		return ErrInteractionNotFound
	case errors.Is(err, storage.ErrTooLarge):
		return fmt.Errorf("oauth2: the approval is too large to store (Approval.Claims): %w", err)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrStorageFailure, err)
	}
	// Decided: the interaction has served. A failure to mark it is no
	// failure of the decision; a second decision through it finds the
	// authorization decided.
	if err := p.completeInteraction(ctx, it); err != nil && !errors.Is(err, ErrInteractionNotFound) {
		p.logger.LogAttrs(ctx, slog.LevelWarn, "a decided device interaction could not be completed",
			slog.String("error", err.Error()))
	}
	return nil
}
