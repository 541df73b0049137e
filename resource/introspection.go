package resource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/dpop"
	"github.com/grantor-dev/grantor/internal/urlpolicy"
)

// Defaults and limits of Introspection.
const (
	// DefaultIntrospectionCacheTTL is how long an active introspection
	// answer is reused, unless the token expires sooner.
	DefaultIntrospectionCacheTTL = time.Minute
	// DefaultIntrospectionCacheSize is how many answers the cache holds.
	DefaultIntrospectionCacheSize = 10_000
	// MaxInactiveCacheTTL bounds how long an inactive answer is reused.
	MaxInactiveCacheTTL = 10 * time.Second
	// DefaultIntrospectionTimeout bounds one introspection request when
	// IntrospectionConfig.HTTPClient is nil.
	DefaultIntrospectionTimeout = 10 * time.Second
	// MaxIntrospectionResponseSize is the largest introspection response
	// read; a larger one is an error (ErrUnavailable).
	MaxIntrospectionResponseSize = 64 << 10
)

// IntrospectionConfig configures Introspection, the resource server's
// client of an authorization server's introspection endpoint (RFC 7662).
type IntrospectionConfig struct {
	// URL is the introspection_endpoint (RFC 8414 §2). It must be https,
	// unless its host is loopback (RFC 7662 §4: the endpoint must be
	// protected by TLS). Required.
	URL string
	// ClientID and ClientSecret authenticate the resource server with
	// client_secret_basic (RFC 7662 §2.1; RFC 6749 §2.3.1). Required. A
	// Grantor server answers only about tokens issued to this client, or
	// whose audience is one of its storage.Client.Resources.
	ClientID     string
	ClientSecret string
	// HTTPClient makes the requests; when nil, a client with
	// DefaultIntrospectionTimeout. Redirects are never followed: the
	// credentials go to URL only.
	HTTPClient *http.Client
	// CacheTTL is how long an active answer is reused, never beyond the
	// token's exp: DefaultIntrospectionCacheTTL when zero; a negative
	// value switches the cache off. A token revoked at the authorization
	// server stays accepted here until its answer leaves the cache (RFC
	// 7662 §4), so choose the longest delay the API can tolerate.
	// Inactive answers are kept for min(CacheTTL, MaxInactiveCacheTTL).
	CacheTTL time.Duration
	// CacheSize bounds the number of cached answers, the least recently
	// used going first: DefaultIntrospectionCacheSize when zero.
	CacheSize int
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
}

// Introspection returns a Validator that asks the authorization server
// about each token (RFC 7662 §2.1), authenticating with
// client_secret_basic, and caches the answers under the SHA-256 digest of
// the token, never the token itself.
//
// An answer with "active": true is accepted when its exp, if any, is
// still ahead and its token_type, if any, is "Bearer" or "DPoP" (a DPoP
// answer must carry cnf; Middleware then refuses the token as a bearer
// token, RFC 9449 §7.2): a refresh token presented at the API is refused
// (RFC 8725 §3.12). An inactive answer is ErrInvalidToken.
//
// A request that fails, times out, or gets anything but a 200 with a JSON
// object of at most MaxIntrospectionResponseSize bytes — including 401
// when the resource server's own credentials are wrong, and 429 — is
// ErrUnavailable and is not cached.
//
// It is an error when URL is missing, not absolute, or http for a host
// that is not loopback, when ClientID or ClientSecret is missing, or when
// CacheSize is negative.
func Introspection(cfg IntrospectionConfig) (Validator, error) {
	if err := checkEndpointURL(cfg.URL); err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("resource: IntrospectionConfig needs ClientID and ClientSecret (RFC 7662 §2.1)")
	case cfg.CacheSize < 0:
		return nil, errors.New("resource: IntrospectionConfig.CacheSize must not be negative")
	}
	iv := &introspector{
		url:  cfg.URL,
		auth: "Basic " + basicCredentials(cfg.ClientID, cfg.ClientSecret),
		ttl:  cfg.CacheTTL,
		now:  cfg.Clock,
	}
	if iv.now == nil {
		iv.now = time.Now
	}
	if iv.ttl == 0 {
		iv.ttl = DefaultIntrospectionCacheTTL
	}
	if iv.ttl > 0 {
		size := cfg.CacheSize
		if size == 0 {
			size = DefaultIntrospectionCacheSize
		}
		iv.cache = newLRU(size)
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if cfg.HTTPClient == nil {
		iv.client = &http.Client{Timeout: DefaultIntrospectionTimeout, CheckRedirect: noRedirect}
	} else {
		c := *cfg.HTTPClient
		c.CheckRedirect = noRedirect
		iv.client = &c
	}
	return iv, nil
}

// basicCredentials encodes client_secret_basic credentials: each part
// form-encoded (RFC 6749 §2.3.1), then Basic (RFC 7617 §2).
func basicCredentials(id, secret string) string {
	r := http.Request{Header: http.Header{}}
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// checkEndpointURL accepts absolute https URLs, and http ones for
// loopback hosts.
func checkEndpointURL(raw string) error {
	if err := urlpolicy.CheckTLS(raw); err != nil {
		return fmt.Errorf("resource: the introspection URL %w", err)
	}
	return nil
}

type introspector struct {
	url    string
	auth   string
	client *http.Client
	ttl    time.Duration
	now    func() time.Time
	cache  *lru // nil when caching is off
}

// cached is one remembered answer: a token, or nil for an inactive one.
type cached struct {
	token   *Token
	desc    string // why an inactive token is refused
	expires time.Time
}

func (iv *introspector) Validate(ctx context.Context, tok string) (*Token, error) {
	var key [sha256.Size]byte
	if iv.cache != nil {
		key = sha256.Sum256([]byte(tok))
		if c, ok := iv.cache.get(key, iv.now()); ok {
			return c.answer()
		}
	}
	c, err := iv.introspect(ctx, tok)
	if err != nil {
		return nil, err
	}
	if iv.cache != nil {
		now := iv.now()
		if c.token != nil {
			c.expires = now.Add(iv.ttl)
			if !c.token.ExpiresAt.IsZero() && c.token.ExpiresAt.Before(c.expires) {
				c.expires = c.token.ExpiresAt
			}
		} else {
			c.expires = now.Add(min(iv.ttl, MaxInactiveCacheTTL))
		}
		iv.cache.put(key, c, now)
	}
	return c.answer()
}

// answer returns a copy of the cached token, so that no caller can change
// what the next one sees, or the error of an inactive answer.
func (c *cached) answer() (*Token, error) {
	if c.token == nil {
		return nil, invalidToken(c.desc, nil)
	}
	t := *c.token
	t.Scopes = append([]string(nil), t.Scopes...)
	t.Audience = append([]string(nil), t.Audience...)
	if t.Claims != nil {
		m := make(map[string]any, len(t.Claims))
		for k, v := range t.Claims {
			m[k] = v
		}
		t.Claims = m
	}
	return &t, nil
}

// introspect asks the authorization server (RFC 7662 §2.1).
func (iv *introspector) introspect(ctx context.Context, tok string) (*cached, error) {
	form := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, iv.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: introspection request: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", iv.auth)
	resp, err := iv.client.Do(req)
	if err != nil {
		// The error of Do quotes the URL, never the body.
		return nil, fmt.Errorf("%w: introspection: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxIntrospectionResponseSize))
		return nil, fmt.Errorf("%w: introspection: status %d", ErrUnavailable, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxIntrospectionResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the introspection response: %w", ErrUnavailable, err)
	}
	if len(body) > MaxIntrospectionResponseSize {
		return nil, fmt.Errorf("%w: the introspection response is larger than %d bytes", ErrUnavailable, MaxIntrospectionResponseSize)
	}
	c, err := parseIntrospection(body, iv.now())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return c, nil
}

// parseIntrospection decodes an introspection response (RFC 7662 §2.2).
// An error means the answer is unusable, not that the token is invalid.
func parseIntrospection(body []byte, now time.Time) (*cached, error) {
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&members); err != nil || members == nil {
		return nil, errors.New("resource: the introspection response is not a JSON object")
	}
	var active bool
	if err := json.Unmarshal(members["active"], &active); err != nil {
		return nil, errors.New("resource: the introspection response has no boolean active member")
	}
	if !active {
		return &cached{desc: descInvalid}, nil
	}
	t := &Token{}
	str := func(name string, dst *string) error {
		raw, ok := members[name]
		if !ok {
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("resource: the introspection member %q is not a string", name)
		}
		return nil
	}
	date := func(name string, dst *time.Time) error {
		raw, ok := members[name]
		if !ok {
			return nil
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return fmt.Errorf("resource: the introspection member %q is not a number", name)
		}
		*dst = time.Unix(int64(f), 0)
		return nil
	}
	var scope, tokenType string
	var nbf time.Time
	for _, err := range []error{
		str("sub", &t.Subject), str("client_id", &t.ClientID), str("scope", &scope),
		str("jti", &t.ID), str("token_type", &tokenType),
		date("exp", &t.ExpiresAt), date("iat", &t.IssuedAt), date("nbf", &nbf),
	} {
		if err != nil {
			return nil, err
		}
	}
	t.Scopes = strings.Fields(scope)
	if raw, ok := members["aud"]; ok {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			t.Audience = []string{one}
		} else if err := json.Unmarshal(raw, &t.Audience); err != nil {
			return nil, errors.New(`resource: the introspection member "aud" is not a string or an array of strings`)
		}
	}
	if raw, ok := members["cnf"]; ok {
		// RFC 9449 §6.2: the key of a DPoP-bound token. Another
		// confirmation method leaves KeyThumbprint empty, and the cnf
		// member in Claims still marks the token as bound.
		var cnf struct {
			JKT string `json:"jkt"`
		}
		if json.Unmarshal(raw, &cnf) == nil && dpop.CheckThumbprint(cnf.JKT) == nil {
			t.KeyThumbprint = cnf.JKT
		}
	}
	for name, raw := range members {
		switch name {
		case "active", "sub", "client_id", "scope", "jti", "token_type", "exp", "iat", "nbf", "aud":
			continue
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&v) != nil {
			continue
		}
		if t.Claims == nil {
			t.Claims = make(map[string]any)
		}
		t.Claims[name] = v
	}
	switch {
	case tokenType == "" || strings.EqualFold(tokenType, "Bearer"):
	case strings.EqualFold(tokenType, "DPoP"):
		if !t.bound() {
			// RFC 9449 §6.2 requires cnf: a bound token whose key is
			// unknown is refused all the same.
			return &cached{desc: descBound}, nil
		}
	default:
		// A refresh token, or a kind we do not know (RFC 8725 §3.12).
		return &cached{desc: descNotAccess}, nil
	}
	switch {
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return &cached{desc: descExpired}, nil
	case !nbf.IsZero() && nbf.After(now):
		return &cached{desc: descNotYet}, nil
	}
	return &cached{token: t}, nil
}
