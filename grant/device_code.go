package grant

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/internal/urlpolicy"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// GrantTypeDeviceCode is the grant_type of RFC 8628 §3.4.
const GrantTypeDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// DeviceAuthorizationPath is the path of the device authorization endpoint
// (RFC 8628 §3.1) below the issuer, which Provider.Handler serves while the
// device grant is registered.
const DeviceAuthorizationPath = "/device_authorization"

// The defaults of DeviceCodeOptions.
const (
	// DefaultUserCodeAlphabet has no vowels, so that no word can be
	// spelt, and no letters that look alike (RFC 8628 §6.1).
	DefaultUserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	// DefaultUserCodeLength gives about 34.5 bits with the default
	// alphabet (RFC 8628 §5.1).
	DefaultUserCodeLength = 8
	// DefaultDeviceCodeLifetime is the expires_in of the codes.
	DefaultDeviceCodeLifetime = 10 * time.Minute
	// DefaultPollInterval is the interval of the response, the least time
	// between two polls (RFC 8628 §3.2: 5 seconds when absent).
	DefaultPollInterval = 5 * time.Second
	// DefaultDeviceAuthorizationRateLimit is DeviceCodeOptions.RateLimit's
	// default.
	DefaultDeviceAuthorizationRateLimit = 20
)

// slowDownStep is what each poll that comes too soon adds to the polling
// interval (RFC 8628 §3.5).
const slowDownStep = 5 * time.Second

// deviceCodePrefix starts every device code.
const deviceCodePrefix = "gr_dc_"

// minUserCodeBits is the least entropy of a user code that DeviceCode
// accepts, and relies on the Provider's throttle of user code attempts
// (oauth2.Config.UserCodeAttempts, RFC 8628 §5.1): at 20 bits and 20
// attempts per address in a window, 100 live codes are found with a
// chance of about 1 in 500 per address and window. The default, about
// 34.5 bits, makes that about 1 in 13 million.
const minUserCodeBits = 20

// maxUserCodeLength bounds the length of user codes.
const maxUserCodeLength = 32

// DeviceCodeOptions configure the device authorization grant.
type DeviceCodeOptions struct {
	// VerificationURI is the URL of the application's verification page,
	// where the user types the user code (RFC 8628 §3.2): an absolute
	// https URL without a fragment (http only for loopback hosts), short
	// enough to type. The response's verification_uri_complete is this
	// URL with the user_code query parameter added. Required.
	VerificationURI string

	// CodeLifetime is the expires_in of the codes: how long the user has
	// to decide. Between a minute and an hour; it defaults to 10 minutes.
	CodeLifetime time.Duration

	// Interval is the least time a client must leave between two polls,
	// the interval of the response, in whole seconds between 1 and 60.
	// It defaults to 5 seconds. A poll that comes sooner (by more than a
	// fifth of the interval, which allows for network delays) is answered
	// slow_down and adds 5 seconds to the device code's interval (RFC
	// 8628 §3.5).
	Interval time.Duration

	// UserCodeAlphabet is the characters of user codes: upper-case ASCII
	// letters and digits, each once, at least two. It defaults to
	// DefaultUserCodeAlphabet. Users may type them in either case, with
	// or without spaces and dashes (RFC 8628 §6.1).
	UserCodeAlphabet string
	// UserCodeLength is the number of characters of a user code, at most
	// 32. It defaults to 8. The alphabet and the length together must
	// give at least 20 bits; prefer 30 or more, as guessing a code of a
	// large deployment gets easier with the number of live codes. An
	// alphabet should not hold characters users confuse (0 and O, 1 and
	// I; RFC 8628 §6.1).
	UserCodeLength int

	// RateLimit is how many device authorization requests a client may
	// make within a window of CodeLifetime before it is answered 429 with
	// Retry-After: each stores a record for CodeLifetime, so a budget
	// keeps at most about RateLimit live ones (twice that across the
	// boundary of two windows). A confidential client has a budget of its
	// own; a public client, which anyone can name, one per client address
	// (oauth2.Config.ClientAddress). Zero means 20; a negative value
	// switches the limit off.
	RateLimit int

	// CheckGrant, when set, is called before an approved device
	// authorization is redeemed, with its record: return an error to
	// refuse it, for example when the user who approved has been locked
	// or disabled since. A non-*oauth2.Error becomes access_denied.
	CheckGrant func(ctx context.Context, client *storage.Client, d *storage.DeviceAuthorization) error
}

// DeviceCode returns the factory of the device authorization grant (RFC
// 8628) over store. It brings the device authorization endpoint
// (DeviceAuthorizationPath, advertised as device_authorization_endpoint),
// answers polls at the token endpoint, and issues the user codes that the
// application's verification page takes through the Provider
// (PendingDeviceAuthorization, ApproveDevice, DenyDevice), which needs
// oauth2.Config.Interactions.
//
// A client must be registered for GrantTypeDeviceCode; public clients
// may use it. The device code carries 256 random bits and is stored by its
// signature; the user code is stored by a keyed digest and is unique among
// live codes. A poll is answered authorization_pending until the user
// decides, access_denied after a denial, expired_token after expiry (until
// the store deletes the record: then invalid_grant), slow_down when it
// comes sooner than the device code's interval, and, once, with tokens
// after an approval; a device code polled by another client than its own
// is invalid_grant. Tokens include a refresh token when the client is
// registered for the refresh_token grant.
func DeviceCode(store storage.DeviceAuthorizationStore, opts DeviceCodeOptions) oauth2.GrantFactory {
	return func(p *oauth2.Provider) (oauth2.GrantHandler, error) {
		if store == nil {
			return nil, errors.New("grant: DeviceCode needs a storage.DeviceAuthorizationStore")
		}
		if err := opts.setDefaults(); err != nil {
			return nil, err
		}
		codes, err := p.OpaqueFormat(deviceCodePrefix)
		if err != nil {
			return nil, err
		}
		h := &deviceCode{p: p, store: store, codes: codes, opts: opts, rand: rand.Reader,
			endpointURL: p.EndpointURL(DeviceAuthorizationPath)}
		h.index = userCodeIndex(opts.UserCodeAlphabet)
		return h, nil
	}
}

// setDefaults fills in the defaults and checks the options.
func (o *DeviceCodeOptions) setDefaults() error {
	u, err := url.Parse(o.VerificationURI)
	switch {
	case o.VerificationURI == "":
		return errors.New("grant: DeviceCodeOptions.VerificationURI is required")
	case err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || strings.Contains(o.VerificationURI, "#"):
		return fmt.Errorf("grant: DeviceCodeOptions.VerificationURI %q must be an absolute URL without a fragment", o.VerificationURI)
	case u.Scheme != "https" && !(u.Scheme == "http" && urlpolicy.IsLoopbackHost(u.Hostname())):
		return fmt.Errorf("grant: DeviceCodeOptions.VerificationURI %q must use https (http only for loopback hosts)", o.VerificationURI)
	}
	o.CodeLifetime = cmpOr(o.CodeLifetime, DefaultDeviceCodeLifetime)
	if o.CodeLifetime < time.Minute || o.CodeLifetime > time.Hour {
		return errors.New("grant: DeviceCodeOptions.CodeLifetime must be between a minute and an hour")
	}
	o.Interval = cmpOr(o.Interval, DefaultPollInterval)
	if o.Interval < time.Second || o.Interval > time.Minute || o.Interval%time.Second != 0 {
		return errors.New("grant: DeviceCodeOptions.Interval must be whole seconds between 1 and 60")
	}
	o.UserCodeAlphabet = cmpOr(o.UserCodeAlphabet, DefaultUserCodeAlphabet)
	o.UserCodeLength = cmpOr(o.UserCodeLength, DefaultUserCodeLength)
	if err := checkUserCodeAlphabet(o.UserCodeAlphabet); err != nil {
		return err
	}
	if o.UserCodeLength < 1 || o.UserCodeLength > maxUserCodeLength {
		return fmt.Errorf("grant: DeviceCodeOptions.UserCodeLength must be between 1 and %d", maxUserCodeLength)
	}
	if bits := float64(o.UserCodeLength) * math.Log2(float64(len(o.UserCodeAlphabet))); bits < minUserCodeBits {
		return fmt.Errorf("grant: user codes of %d characters of %d give %.1f bits; at least %d are needed (RFC 8628 §5.1)",
			o.UserCodeLength, len(o.UserCodeAlphabet), bits, minUserCodeBits)
	}
	o.RateLimit = cmpOr(o.RateLimit, DefaultDeviceAuthorizationRateLimit)
	return nil
}

// checkUserCodeAlphabet checks that a user code alphabet is upper-case
// ASCII letters and digits, each once, at least two.
func checkUserCodeAlphabet(a string) error {
	if len(a) < 2 {
		return errors.New("grant: DeviceCodeOptions.UserCodeAlphabet needs at least two characters")
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return errors.New("grant: DeviceCodeOptions.UserCodeAlphabet must be upper-case ASCII letters and digits")
		}
		if strings.IndexByte(a[:i], c) >= 0 {
			return fmt.Errorf("grant: DeviceCodeOptions.UserCodeAlphabet has %q twice", c)
		}
	}
	return nil
}

// cmpOr returns v, or def when v is the zero value.
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

type deviceCode struct {
	p           *oauth2.Provider
	store       storage.DeviceAuthorizationStore
	codes       *token.Opaque
	opts        DeviceCodeOptions
	rand        io.Reader
	endpointURL string
	// index maps an upper-case ASCII character to its position in the
	// alphabet plus one; zero for characters outside it.
	index [256]uint8
}

func userCodeIndex(alphabet string) [256]uint8 {
	var idx [256]uint8
	for i := 0; i < len(alphabet); i++ {
		idx[alphabet[i]] = uint8(i + 1)
	}
	return idx
}

func (*deviceCode) GrantType() string { return GrantTypeDeviceCode }

// Endpoints brings the device authorization endpoint (RFC 8628 §3.1).
func (h *deviceCode) Endpoints() []oauth2.Endpoint {
	return []oauth2.Endpoint{{Path: DeviceAuthorizationPath, Handler: http.HandlerFunc(h.serveDeviceAuthorization),
		MetadataName: "device_authorization_endpoint"}}
}

// DeviceAuthorizations implements oauth2.UserCodeVerifier.
func (h *deviceCode) DeviceAuthorizations() storage.DeviceAuthorizationStore { return h.store }

// NormalizeUserCode implements oauth2.UserCodeVerifier: letters are
// compared without regard to case, and spaces and punctuation are ignored
// (RFC 8628 §6.1); any other character, or a wrong number of characters,
// makes the input no user code.
func (h *deviceCode) NormalizeUserCode(input string) (canonical, display string, ok bool) {
	n := h.opts.UserCodeLength
	if len(input) > 4*n+16 { // bounded before it is looked at
		return "", "", false
	}
	var b [maxUserCodeLength]byte
	k := 0
	for i := 0; i < len(input); i++ {
		c := input[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch {
		case h.index[c] != 0:
			if k == n {
				return "", "", false
			}
			b[k] = c
			k++
		case c == ' ' || c == '-' || c == '.' || c == '_' || c == '\t':
		default:
			return "", "", false
		}
	}
	if k != n {
		return "", "", false
	}
	canonical = string(b[:n])
	return canonical, displayUserCode(canonical), true
}

// displayUserCode writes a user code in groups of four separated by
// dashes, as the device shows it: "WDJB-MJHT".
func displayUserCode(code string) string {
	var sb strings.Builder
	for i := 0; i < len(code); i += 4 {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.WriteString(code[i:min(i+4, len(code))])
	}
	return sb.String()
}

// newUserCode returns a random user code, each character drawn uniformly
// from the alphabet.
func (h *deviceCode) newUserCode() (string, error) {
	a := h.opts.UserCodeAlphabet
	limit := 256 - 256%len(a) // bytes at or above it would favour some characters
	code := make([]byte, 0, h.opts.UserCodeLength)
	var buf [64]byte
	for len(code) < h.opts.UserCodeLength {
		if _, err := io.ReadFull(h.rand, buf[:]); err != nil {
			return "", err
		}
		for _, r := range buf {
			if int(r) < limit && len(code) < h.opts.UserCodeLength {
				code = append(code, a[int(r)%len(a)])
			}
		}
	}
	return string(code), nil
}

// deviceAuthorizationResponse is the response of RFC 8628 §3.2.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

func (h *deviceCode) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	resp, err := h.authorizeDevice(w, r)
	if err != nil {
		h.p.WriteErrorResponse(w, r, err)
		return
	}
	oauth2.WriteJSONResponse(w, http.StatusOK, resp)
}

// maxUserCodeTries bounds how many user codes a request draws before it
// gives up finding one that no live device authorization has.
const maxUserCodeTries = 5

// authorizeDevice answers a device authorization request (RFC 8628 §3.1).
func (h *deviceCode) authorizeDevice(w http.ResponseWriter, r *http.Request) (*deviceAuthorizationResponse, error) {
	req, err := h.p.ReadClientRequest(w, r, h.endpointURL)
	if err != nil {
		return nil, err
	}
	client := req.Client
	// Counted over the codes' lifetime: a budget holds at most RateLimit
	// live device authorizations (RFC 8628 §5.2).
	if err := h.p.ThrottleClient(r, client, oauth2.ClientThrottle{Name: "device_authorization", Limit: h.opts.RateLimit,
		Window: h.opts.CodeLifetime, Description: "too many device authorization requests; try again later"}); err != nil {
		return nil, err
	}
	if !client.AllowsGrantType(GrantTypeDeviceCode) {
		return nil, oauth2.NewError(oauth2.ErrUnauthorizedClient, "the client is not registered for the device authorization grant")
	}
	requested, err := oauth2.ParseScope(req.Form.Get("scope"))
	if err != nil {
		return nil, err
	}
	scopes, err := oauth2.ClientScopes(client, requested)
	if err != nil {
		return nil, err
	}
	deviceCode, key, err := h.codes.Generate()
	if err != nil {
		return nil, oauth2.NewError(oauth2.ErrServerError, "the device code could not be minted").WithCause(err)
	}
	rec := &storage.DeviceAuthorization{Key: key, ClientID: client.ID, Scopes: scopes,
		IssuedAt: req.Now, ExpiresAt: req.Now.Add(h.opts.CodeLifetime), Interval: enforcedInterval(h.opts.Interval)}
	var userCode string
	for try := 0; ; try++ {
		if userCode, err = h.newUserCode(); err != nil {
			return nil, oauth2.NewError(oauth2.ErrServerError, "randomness unavailable").WithCause(err)
		}
		keys := h.p.UserCodeKeys(userCode)
		rec.UserCodeKey = keys[0]
		if err = h.heldUnderOlderKeys(r.Context(), keys[1:], req.Now); err == nil {
			err = h.store.CreateDeviceAuthorization(r.Context(), rec)
		}
		if !errors.Is(err, storage.ErrDuplicate) || try == maxUserCodeTries-1 {
			break
		}
	}
	if err != nil {
		return nil, oauth2.StorageError("the device authorization could not be stored", err)
	}
	display := displayUserCode(userCode)
	sep := "?"
	if strings.Contains(h.opts.VerificationURI, "?") {
		sep = "&"
	}
	return &deviceAuthorizationResponse{
		DeviceCode:              deviceCode,
		UserCode:                display,
		VerificationURI:         h.opts.VerificationURI,
		VerificationURIComplete: h.opts.VerificationURI + sep + url.Values{"user_code": {display}}.Encode(),
		ExpiresIn:               int64(h.opts.CodeLifetime / time.Second),
		Interval:                int64(h.opts.Interval / time.Second),
	}, nil
}

// heldUnderOlderKeys returns storage.ErrDuplicate when a live device
// authorization holds the user code of one of keys: the digests of a user
// code under the token keys that no longer sign. While the keys rotate, a
// code stored under the old signing key must stay unique too, or the
// verification page could find two devices by one code.
func (h *deviceCode) heldUnderOlderKeys(ctx context.Context, keys []string, now time.Time) error {
	for _, k := range keys {
		rec, err := h.store.DeviceAuthorizationByUserCode(ctx, k)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return err
		case now.Before(rec.ExpiresAt):
			return storage.ErrDuplicate
		}
	}
	return nil
}

// enforcedInterval is the least time between two polls that the grant
// enforces for a device code whose announced interval is interval: a fifth
// less, so that a client that waits the interval is not answered slow_down
// because its previous poll was delayed on the way, or because the
// instances that answer it disagree on the time by a little. Each
// slow_down still adds the full 5 seconds.
func enforcedInterval(interval time.Duration) time.Duration {
	return interval - interval/5
}

var errBadDeviceCode = oauth2.NewError(oauth2.ErrInvalidGrant, "the device code is invalid or already used")

// HandleTokenRequest answers a poll (RFC 8628 §3.4, §3.5).
func (h *deviceCode) HandleTokenRequest(ctx context.Context, req *oauth2.TokenRequest) (*oauth2.Issue, error) {
	presented := req.Form.Get("device_code")
	if presented == "" {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "device_code is missing")
	}
	// A forged, truncated or mistyped code fails here, without a lookup.
	key, err := h.codes.Signature(presented)
	if err != nil {
		return nil, errBadDeviceCode.WithCause(err)
	}
	// The poll is recorded, and its interval enforced, in one step of the
	// store, whichever instance answers it. Another client's poll changes
	// nothing and finds nothing.
	rec, err := h.store.PollDeviceAuthorization(ctx, key, req.Client.ID, req.Now, slowDownStep)
	slow := errors.Is(err, storage.ErrSlowDown)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, errBadDeviceCode
	case err != nil && !slow:
		return nil, oauth2.StorageError("the device code could not be looked up", err)
	case !rec.ConsumedAt.IsZero():
		return nil, errBadDeviceCode
	case !req.Now.Before(rec.ExpiresAt):
		return nil, oauth2.NewError(oauth2.ErrExpiredToken, "the device code has expired")
	case rec.Status == storage.DeviceDenied:
		return nil, oauth2.NewError(oauth2.ErrAccessDenied, "the user denied the request")
	case slow:
		// The interval the client must now keep: what it was told, plus
		// five seconds for each slow_down.
		told := h.opts.Interval + rec.Interval - enforcedInterval(h.opts.Interval)
		return nil, oauth2.NewError(oauth2.ErrSlowDown, "polled too soon: wait "+
			fmt.Sprint(int64(told/time.Second))+" seconds between polls")
	case rec.Status == storage.DevicePending:
		return nil, oauth2.NewError(oauth2.ErrAuthorizationPending, "the user has not decided yet")
	case rec.Status != storage.DeviceApproved:
		return nil, oauth2.NewError(oauth2.ErrServerError, "the device authorization is in an unknown state").
			WithCause(fmt.Errorf("grant: device authorization status %d", rec.Status))
	}
	// The client's registration may have narrowed since the user approved.
	if oauth2.CheckScopeSubset(rec.GrantedScopes, req.Client.Scopes) != nil {
		return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "the client may no longer have what the user approved")
	}
	if h.opts.CheckGrant != nil {
		if err := h.opts.CheckGrant(ctx, req.Client, rec); err != nil {
			var oe *oauth2.Error
			if errors.As(err, &oe) {
				return nil, oe
			}
			return nil, oauth2.NewError(oauth2.ErrAccessDenied, "the authorization is no longer valid").WithCause(err)
		}
	}
	return &oauth2.Issue{
		Subject:      rec.Subject,
		Scopes:       rec.GrantedScopes,
		Claims:       rec.Claims,
		RefreshToken: true, // issued only to a client registered for refresh
		Consume: func(ctx context.Context) error {
			_, err := h.store.ConsumeDeviceAuthorization(ctx, key, req.Now)
			switch {
			case errors.Is(err, storage.ErrConsumed), errors.Is(err, storage.ErrNotFound):
				return errBadDeviceCode
			case err != nil:
				return oauth2.StorageError("the device code could not be redeemed", err)
			}
			return nil
		},
	}, nil
}
