package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"
)

// Login throttling (issue 15). A login attempt is counted, before its
// password is checked, against limits per window of loginWindow, in the
// order below; the first one exceeded refuses the attempt with 429 and
// Retry-After, without checking the password (no argon2id cost), and an
// attempt refused by one limit is not counted by the next. An attempt
// from a browser unknown to the account is counted against:
//
//  1. attempts from the client's address, whatever the account: bounds
//     what one address can make us hash, and one password tried on many
//     accounts;
//  2. attempts at one account from one address, the strictest: a guesser
//     gets a few guesses per window from each address;
//  3. attempts at one account from everywhere: bounds guessing spread
//     over many addresses.
//
// An attempt from a known device, a browser with a device cookie for the
// account (devicecookie.go: it logged in as that account before), is counted
// against limit 1 and, instead of limits 2 and 3, against
//
//  4. attempts from that device at that account, as strict as limit 2:
//     a stolen device cookie is worth a few guesses per window and no
//     more, from however many addresses.
//
// Limit 3 lets a third party throttle an account, by spending
// maxAttemptsPerAccount attempts, from at least
// maxAttemptsPerAccount/maxAttemptsPerAccountAddress addresses (limit 2),
// in every window, and only until the window ends: windows are fixed and
// aligned, so attempts refused during a window do not prolong it. It now
// throttles unknown devices only: the user's own browsers, where she
// logged in before, are not counted by it, and so never throttled because
// of guessers at other addresses. The trade-offs that remain:
//
//   - A user is still throttled with everyone else on a browser that
//     does not know her: a new device, a private window, cleared cookies,
//     a cookie past its 90 days, or one made before the server last
//     started, since the HMAC key is random at start (a server that keeps
//     its key, or a cluster sharing one, would keep its devices known).
//   - Whoever copies a device cookie gets limit 4's guesses besides the
//     unknown devices' budget, and by spending them throttles that
//     browser too until the window ends. The cookie is HttpOnly, and
//     Secure on https, to make that hard.
//   - Limit 1 counts everyone behind one address together: a guesser
//     behind the user's own address (an office, carrier-grade NAT) can
//     spend it, which is why it is generous.
//
// Limits 2 to 4 should count failures only, but a Limiter counts as it
// reads, and the count must be known before the password is checked: so
// they count the attempts the earlier limits let through, the user's own
// successful logins included. Those are few: a session lasts hours.
//
// The client's address is the connection's (r.RemoteAddr). Headers such
// as X-Forwarded-For are never read: any client can set them. A server
// behind a reverse proxy takes the address from the proxy's header only
// when the connection comes from the proxy.
const (
	// loginLimiterKeys bounds the keys the in-memory limiter counts one
	// by one (memory.Limiter); an attempt uses at most three, a known
	// device's two.
	loginLimiterKeys = 100_000
	// loginWindow is the length of the windows the limits count in.
	loginWindow = 15 * time.Minute
	// maxAttemptsPerAddress is limit 1. An office behind one address
	// shares it, hence a generous value.
	maxAttemptsPerAddress = 100
	// maxAttemptsPerAccountAddress is limit 2: a user who mistypes a few
	// times still gets in.
	maxAttemptsPerAccountAddress = 5
	// maxAttemptsPerAccount is limit 3, ten times limit 2.
	maxAttemptsPerAccount = 10 * maxAttemptsPerAccountAddress
	// maxAttemptsPerDevice is limit 4, a known device's budget at its
	// account: as few as limit 2, since the user is at one device too.
	maxAttemptsPerDevice = maxAttemptsPerAccountAddress
)

// Bounds of the password verifications, each an argon2id hash over 19 MiB.
const (
	// maxConcurrentVerifications is how many run at once: 76 MiB at most.
	maxConcurrentVerifications = 4
	// maxVerifyWait is how long a login waits for a verification slot
	// before it is answered 503; the request's end stops it sooner.
	maxVerifyWait = 2 * time.Second
	// busyRetryAfter is the Retry-After of that 503: a slot frees up
	// within a fraction of a second.
	busyRetryAfter = time.Second
)

// throttleLogin counts a login attempt at account (an accountKey) from
// the client address addr (oauth2.PeerAddress) at now against the limits
// above: those of a known device
// when device, the nonce of the browser's device cookie entry for account
// (knownDevice), is not "", else those of an unknown one. It returns the
// zero time when the attempt may go on, or the end of the window when it
// must be refused.
func (pg *pages) throttleLogin(ctx context.Context, account, device, addr string, now time.Time) (retryAt time.Time, err error) {
	type limit struct {
		key string
		max int64
	}
	limits := []limit{{"login-address:" + addr, maxAttemptsPerAddress}}
	if device != "" {
		limits = append(limits, limit{"login-device:" + device, maxAttemptsPerDevice})
	} else {
		limits = append(limits,
			limit{"login-account-address:" + account + "/" + addr, maxAttemptsPerAccountAddress},
			limit{"login-account:" + account, maxAttemptsPerAccount})
	}
	for _, l := range limits {
		n, resetAt, err := pg.limiter.Take(ctx, l.key, loginWindow, now)
		if err != nil {
			return time.Time{}, err
		}
		if n > l.max {
			return resetAt, nil
		}
	}
	return time.Time{}, nil
}

// accountKey is what the login limits and the device cookies know an
// account by: the SHA-256 of its username, base64url. The username is
// hashed: it may be as long as the form, and people sometimes type their
// password into it.
func accountKey(username string) string {
	sum := sha256.Sum256([]byte(username))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// errVerifyBusy reports that no verification slot freed up in time.
var errVerifyBusy = errors.New("password verification busy")

// authenticate checks the credentials in one of maxConcurrentVerifications
// slots. Without a free slot it waits, at most pg.verifyWait and no longer
// than the request, then returns errVerifyBusy.
func (pg *pages) authenticate(ctx context.Context, username, password string) (*user, error) {
	select {
	case pg.verifySlots <- struct{}{}:
	default:
		// Only when the slots are all taken: with a zero wait, a free slot
		// is still taken.
		wait := time.NewTimer(pg.verifyWait)
		defer wait.Stop()
		select {
		case pg.verifySlots <- struct{}{}:
		case <-wait.C:
			return nil, errVerifyBusy
		case <-ctx.Done():
			return nil, errVerifyBusy
		}
	}
	defer func() { <-pg.verifySlots }()
	return pg.users.authenticate(username, password)
}

// retryAfter is the Retry-After value, in whole seconds, rounded up, for
// a wait until t.
func retryAfter(now, t time.Time) int {
	return max(1, int((t.Sub(now)+time.Second-1)/time.Second))
}
