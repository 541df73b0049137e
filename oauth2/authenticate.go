package oauth2

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/grantor-dev/grantor/storage"
)

// authenticateClient authenticates the client of a request to endpoint
// (RFC 6749 §2.3, §3.2.1). It extracts the credentials, refuses a request
// that presents more than one method, looks the client up, and runs the
// authenticator of the client's registered method, and only that one.
//
// Every authentication failure is invalid_client with status 401, the same
// status, body and WWW-Authenticate challenge whether the client is
// unknown or the secret wrong (RFC 6749 §5.2). Attempts at a slow-hashed
// secret are throttled as secretVerifier describes. The credential
// parameters are removed from form, so that nothing downstream can store
// them by accident.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values, endpoint string) (*storage.Client, error) {
	a, err := extractCredentials(r, form)
	if err != nil {
		return nil, err
	}
	a.Issuer, a.Endpoint, a.Now, a.Request, a.secrets = p.issuer, endpoint, p.clock(), r, p.secrets

	if a.ClientID == "" {
		return nil, p.authFailure(ctx, a, "no client identification in the request")
	}
	if !validClientID(a.ClientID) {
		// Never looked up, counted or logged: it cannot be a client's.
		a.ClientID = ""
		return nil, p.authFailure(ctx, a, "malformed client_id")
	}
	client, err := p.clients.Client(ctx, a.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		if a.Secret != "" {
			// Spend what a wrong secret costs, throttle included, so
			// that an unknown client cannot be told from a wrong secret.
			if err := p.secrets.verifyUnknown(ctx, a.Secret, p.secrets.addressOf(r)); isVerdictless(err) {
				return nil, err
			}
		}
		return nil, p.authFailure(ctx, a, "unknown client")
	}
	if err != nil {
		return nil, StorageError("the client could not be looked up", err)
	}
	if client.Disabled {
		return nil, p.authFailure(ctx, a, "client is disabled")
	}
	method := client.AuthMethod()
	auth, ok := p.authenticators[method]
	if !ok {
		return nil, p.authFailure(ctx, a, "the client's authentication method "+method+" is not enabled")
	}
	if err := auth.AuthenticateClient(ctx, client, a); err != nil {
		var oe *Error
		if errors.As(err, &oe) {
			return nil, oe
		}
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, p.authFailure(ctx, a, method+": "+err.Error())
	}
	return client, nil
}

// isVerdictless reports whether an error of secret verification is a
// refusal that says nothing about the secret (throttled, unavailable,
// cancelled), to be answered as it is.
func isVerdictless(err error) bool {
	var oe *Error
	return errors.As(err, &oe) || errors.Is(err, context.Canceled)
}

// authFailure logs a failed authentication and returns the error to answer
// with. reason goes to the log and the event, never to the client; the
// client id has been checked by validClientID, or is empty.
func (p *Provider) authFailure(ctx context.Context, a *ClientAuthentication, reason string) error {
	p.logger.LogAttrs(ctx, slog.LevelInfo, "client authentication failed",
		slog.String("client_id", a.ClientID), slog.String("reason", reason))
	p.Emit(ctx, Event{Type: EventClientAuthFailed, ClientID: a.ClientID, Reason: reason})
	return &Error{Code: ErrInvalidClient, Description: "client authentication failed", Status: http.StatusUnauthorized}
}

// extractCredentials reads the client credentials of a request: the Basic
// header (RFC 6749 §2.3.1), the client_id and client_secret parameters, and
// a client assertion (RFC 7521 §4.2). It removes the secret and the
// assertion from form.
func extractCredentials(r *http.Request, form url.Values) (*ClientAuthentication, error) {
	a := &ClientAuthentication{
		Secret:        form.Get("client_secret"),
		Assertion:     form.Get("client_assertion"),
		AssertionType: form.Get("client_assertion_type"),
	}
	bodyID := form.Get("client_id")
	form.Del("client_secret")
	form.Del("client_assertion")
	form.Del("client_assertion_type")

	methods := 0
	if a.Secret != "" {
		methods++
	}
	if a.Assertion != "" || a.AssertionType != "" {
		methods++
	}
	authz := r.Header.Values("Authorization")
	if len(authz) > 1 {
		return nil, NewError(ErrInvalidRequest, "more than one Authorization header")
	}
	if len(authz) == 1 {
		scheme, credentials, _ := strings.Cut(authz[0], " ")
		if strings.EqualFold(scheme, "Basic") {
			a.Basic = true
			methods++
			id, secret, ok := decodeBasic(strings.TrimSpace(credentials))
			if !ok {
				return nil, &Error{Code: ErrInvalidClient, Description: "malformed Basic credentials", Status: http.StatusUnauthorized}
			}
			a.ClientID = id
			if methods > 1 {
				return nil, NewError(ErrInvalidRequest, "the request uses more than one client authentication method")
			}
			a.Secret = secret
			if bodyID != "" && bodyID != id {
				return nil, &Error{Code: ErrInvalidClient, Description: "client_id does not match the authenticated client", Status: http.StatusUnauthorized}
			}
			return a, nil
		}
	}
	if methods > 1 {
		return nil, NewError(ErrInvalidRequest, "the request uses more than one client authentication method")
	}
	if (a.Assertion == "") != (a.AssertionType == "") {
		return nil, NewError(ErrInvalidRequest, "client_assertion and client_assertion_type go together")
	}
	a.ClientID = bodyID
	if a.ClientID == "" && a.Assertion != "" {
		// Only to find the client; the authenticator verifies the
		// assertion, including that it names this client.
		sub, err := ClientAssertionSubject(a.Assertion)
		if err != nil {
			return nil, &Error{Code: ErrInvalidClient, Description: "malformed client assertion", Status: http.StatusUnauthorized}
		}
		a.ClientID = sub
	}
	return a, nil
}

// decodeBasic decodes Basic credentials whose user name and password are
// each form-urlencoded, as RFC 6749 §2.3.1 requires of client credentials.
func decodeBasic(s string) (id, secret string, ok bool) {
	if len(s) > maxBasicCredentials {
		return "", "", false // bounded before it is decoded
	}
	// Credentials of usual size are decoded on the stack: the string made
	// of them below is then their only copy on the heap.
	var buf [maxStackBasic]byte
	var raw []byte
	var err error
	if base64.StdEncoding.DecodedLen(len(s)) <= len(buf) {
		var n int
		n, err = base64.StdEncoding.Decode(buf[:], []byte(s))
		raw = buf[:n]
	} else {
		raw, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil {
		clear(buf[:])
		return "", "", false
	}
	credentials := string(raw)
	clear(buf[:]) // the secret is not left on the stack
	encID, encSecret, ok := strings.Cut(credentials, ":")
	if !ok {
		return "", "", false
	}
	if id, err = url.QueryUnescape(encID); err != nil || id == "" {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(encSecret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// maxBasicCredentials bounds the base64 of Basic credentials: a client id
// and a secret, each percent-encoded, within their parameter limits.
const maxBasicCredentials = 4 * (3*(MaxClientIDBytes+MaxParameterBytes) + 1 + 2) / 3

// maxStackBasic is the longest decoded Basic credentials that decodeBasic
// decodes on the stack: a client ID and a generated secret take about 100
// bytes.
const maxStackBasic = 256
