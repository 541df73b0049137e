package grant_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// Tests of the JWT bearer grant (RFC 7523 §2.1) and of trusted issuers'
// JWTs as token exchange subjects (RFC 8693).

// testIssuer is a trusted issuer: its identifier and signing key.
type testIssuer struct {
	iss string
	key jwk.Key
}

const idpIssuer = "https://idp.example"

func newTestIssuer(t *testing.T, iss string) *testIssuer {
	t.Helper()
	raw, err := jwk.FromRaw(mustECKey(t))
	require.NoError(t, err)
	require.NoError(t, raw.Set(jwk.KeyIDKey, "k1"))
	require.NoError(t, raw.Set(jwk.AlgorithmKey, jwa.ES256))
	return &testIssuer{iss: iss, key: raw}
}

// entry is the issuer as a TrustedIssuer with its public JWKS.
func (i *testIssuer) entry(t *testing.T) oauth2.TrustedIssuer {
	t.Helper()
	pub, err := i.key.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	doc, err := json.Marshal(set)
	require.NoError(t, err)
	return oauth2.TrustedIssuer{Issuer: i.iss, JWKS: doc}
}

// sign returns a JWT of the issuer with claims; "iss" is the issuer's
// unless claims set it.
func (i *testIssuer) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	c := map[string]any{"iss": i.iss}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	payload, err := json.Marshal(c)
	require.NoError(t, err)
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.KeyIDKey, "k1"))
	require.NoError(t, hdr.Set(jws.TypeKey, "JWT"))
	out, err := jws.Sign(payload, jws.WithKey(jwa.ES256, i.key, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	return string(out)
}

// bearerHarness is a Provider with the JWT bearer grant trusting idp, and
// the client "fed", confidential, registered for the grant with scopes
// read and write (default read).
type bearerHarness struct {
	*testkit.Harness
	idp       *testIssuer
	fedSecret string
}

func newBearer(t *testing.T, configure func(*grant.JWTBearerOptions)) *bearerHarness {
	b := &bearerHarness{idp: newTestIssuer(t, idpIssuer)}
	list, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{b.idp.entry(t)}, nil)
	require.NoError(t, err)
	b.Harness = testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		opts := grant.JWTBearerOptions{TrustedIssuers: list, Replay: store,
			MapSubject: func(_ context.Context, _ *storage.Client, jwt *oauth2.TrustedJWT) (string, error) {
				return jwt.Issuer + "#" + jwt.Subject, nil
			}}
		if configure != nil {
			configure(&opts)
		}
		cfg.Grants = []oauth2.GrantFactory{grant.JWTBearer(opts)}
	})
	b.fedSecret = b.AddClient(storage.Client{ID: "fed", GrantTypes: []string{grant.GrantTypeJWTBearer},
		Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}})
	return b
}

// assertion returns a valid assertion for this server, with claims
// changed as given (nil deletes one).
func (b *bearerHarness) assertion(claims map[string]any) string {
	c := map[string]any{"sub": "alice", "aud": b.Provider.Issuer(), "exp": b.Now().Add(5 * time.Minute).Unix(),
		"iat": b.Now().Unix(), "jti": randomJTI(b.T)}
	for k, v := range claims {
		c[k] = v
	}
	return b.idp.sign(b.T, c)
}

func (b *bearerHarness) present(assertion string, pairs ...string) *testkit.Response {
	b.T.Helper()
	form := url.Values{"grant_type": {grant.GrantTypeJWTBearer}}
	if assertion != "" {
		form.Set("assertion", assertion)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		form.Set(pairs[i], pairs[i+1])
	}
	return b.Token("fed", b.fedSecret, form)
}

func TestJWTBearerIssuesTokensForTheMappedSubject(t *testing.T) {
	b := newBearer(t, nil)
	r := b.present(b.assertion(nil))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "Bearer", r.Str("token_type"))
	assert.Empty(t, r.Str("refresh_token"))
	rec, err := b.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, idpIssuer+"#alice", rec.Subject)
	assert.Equal(t, "fed", rec.ClientID)
	assert.Equal(t, []string{"read"}, rec.Scopes, "the client's default scopes without a policy")
	// The audience may also be the token endpoint (RFC 7523 §3 item 3),
	// or an array naming this server.
	r = b.present(b.assertion(map[string]any{"aud": b.Provider.TokenEndpoint()}), "scope", "write")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = b.present(b.assertion(map[string]any{"aud": []string{"https://elsewhere.example", b.Provider.Issuer()}}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	// The metadata advertises the grant.
	md := b.Do(mustGet(t, b.Provider.MetadataURL()))
	assert.Contains(t, md.JSON["grant_types_supported"], grant.GrantTypeJWTBearer)
}

// RFC 7523 §3, §3.1: every refusal is invalid_grant, and uses nothing up.
func TestJWTBearerRefusals(t *testing.T) {
	b := newBearer(t, nil)
	stranger := newTestIssuer(t, "https://stranger.example")
	impostor := newTestIssuer(t, idpIssuer) // the right iss, another key
	now := b.Now()
	cases := map[string]string{
		"aud is another server":         b.assertion(map[string]any{"aud": "https://elsewhere.example"}),
		"no aud":                        b.assertion(map[string]any{"aud": nil}),
		"expired":                       b.assertion(map[string]any{"exp": now.Add(-2 * time.Minute).Unix()}),
		"no exp":                        b.assertion(map[string]any{"exp": nil}),
		"exp more than 10 minutes away": b.assertion(map[string]any{"exp": now.Add(12 * time.Minute).Unix()}),
		"nbf in the future":             b.assertion(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()}),
		"no sub":                        b.assertion(map[string]any{"sub": nil}),
		"no jti":                        b.assertion(map[string]any{"jti": nil}),
		"an untrusted issuer":           stranger.sign(t, map[string]any{"sub": "alice", "aud": b.Provider.Issuer(), "exp": now.Add(time.Minute).Unix(), "jti": "j1"}),
		"a trusted issuer's name, another key": impostor.sign(t, map[string]any{"sub": "alice", "aud": b.Provider.Issuer(),
			"exp": now.Add(time.Minute).Unix(), "jti": "j2"}),
		"not a JWT":            "not-a-jwt",
		"bound to a key (cnf)": b.assertion(map[string]any{"cnf": map[string]any{"jkt": "abc"}}),
	}
	for name, assertion := range cases {
		t.Run(name, func(t *testing.T) {
			testkit.RequireOAuthError(t, b.present(assertion), http.StatusBadRequest, oauth2.ErrInvalidGrant)
		})
	}
	testkit.RequireOAuthError(t, b.present(""), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	assert.Empty(t, b.Events(oauth2.EventTokenIssued))
}

// RFC 7523 §3 item 7: an assertion is used once; a refused request does
// not burn it.
func TestJWTBearerReplay(t *testing.T) {
	b := newBearer(t, nil)
	assertion := b.assertion(nil)
	// Refused for its scope first: the jti is not used up.
	testkit.RequireOAuthError(t, b.present(assertion, "scope", "admin"), http.StatusBadRequest, oauth2.ErrInvalidScope)
	require.Equal(t, http.StatusOK, b.present(assertion).Status)
	testkit.RequireOAuthError(t, b.present(assertion), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}

// The subject mapping is the application's (without one the grant is not
// built: see TestJWTBearerConfiguration).
func TestJWTBearerSubjectMapping(t *testing.T) {
	b := newBearer(t, func(o *grant.JWTBearerOptions) {
		o.MapSubject = func(_ context.Context, _ *storage.Client, jwt *oauth2.TrustedJWT) (string, error) {
			switch jwt.Subject {
			case "alice":
				return "user-1", nil
			case "client":
				return oauth2.ClientSubjectPrefix + "fed", nil // never a client's subject
			case "long":
				return strings.Repeat("x", oauth2.MaxSubjectBytes+1), nil
			}
			return "", errors.New("unknown user")
		}
	})
	r := b.present(b.assertion(nil))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rec, err := b.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, "user-1", rec.Subject)
	for _, sub := range []string{"mallory", "client", "long"} {
		testkit.RequireOAuthError(t, b.present(b.assertion(map[string]any{"sub": sub})), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	}
}

// Scopes through the policy: only narrow, and a refusal is invalid_grant.
func TestJWTBearerPolicy(t *testing.T) {
	var got *grant.JWTBearerRequest
	b := newBearer(t, func(o *grant.JWTBearerOptions) {
		o.Policy = grant.JWTBearerPolicyFunc(func(_ context.Context, req *grant.JWTBearerRequest) (*grant.Allowance, error) {
			got = req
			if req.Assertion.Claims["tier"] == "gold" {
				return &grant.Allowance{Scopes: []string{"read", "write"}, RefreshToken: true}, nil
			}
			if req.Assertion.Claims["tier"] == "none" {
				return nil, nil
			}
			return &grant.Allowance{Scopes: []string{"read"}}, nil
		})
	})
	r := b.present(b.assertion(nil), "scope", "write")
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidScope)
	require.NotNil(t, got)
	assert.Equal(t, idpIssuer+"#alice", got.Subject)
	assert.Equal(t, "fed", got.Client.ID)
	r = b.present(b.assertion(map[string]any{"tier": "gold"}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "read write", r.Str("scope"))
	assert.Empty(t, r.Str("refresh_token"), "fed is not registered for refresh_token")
	testkit.RequireOAuthError(t, b.present(b.assertion(map[string]any{"tier": "none"})), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}

func TestJWTBearerConfiguration(t *testing.T) {
	store := memory.New()
	list, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{newTestIssuer(t, idpIssuer).entry(t)}, nil)
	require.NoError(t, err)
	mapSubject := func(context.Context, *storage.Client, *oauth2.TrustedJWT) (string, error) { return "x", nil }
	var nilList *oauth2.TrustedIssuerList
	for name, opts := range map[string]grant.JWTBearerOptions{
		"no issuers":                {Replay: store, MapSubject: mapSubject},
		"a nil *TrustedIssuerList":  {TrustedIssuers: nilList, Replay: store, MapSubject: mapSubject},
		"no replay store":           {TrustedIssuers: list, MapSubject: mapSubject},
		"no subject mapping":        {TrustedIssuers: list, Replay: store},
		"negative leeway":           {TrustedIssuers: list, Replay: store, MapSubject: mapSubject, Leeway: -1},
		"negative maximum":          {TrustedIssuers: list, Replay: store, MapSubject: mapSubject, MaxLifetime: -1},
		"a symmetric algorithm":     {TrustedIssuers: list, Replay: store, MapSubject: mapSubject, Algorithms: []string{"HS256"}},
		"an algorithm that is none": {TrustedIssuers: list, Replay: store, MapSubject: mapSubject, Algorithms: []string{"ES265"}},
	} {
		t.Run(name, func(t *testing.T) {
			key := make([]byte, 32)
			_, err := oauth2.NewProvider(oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store,
				TokenKeys: [][]byte{key}, Grants: []oauth2.GrantFactory{grant.JWTBearer(opts)}})
			require.Error(t, err)
		})
	}
}

// A trusted issuer's JWT as a token exchange subject (RFC 8693 §3 "jwt").
func TestTokenExchangeOfATrustedIssuersJWT(t *testing.T) {
	idp := newTestIssuer(t, idpIssuer)
	list, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{idp.entry(t)}, nil)
	require.NoError(t, err)
	mapSubject := func(_ context.Context, _ *storage.Client, jwt *oauth2.TrustedJWT) (string, error) {
		if jwt.Subject == "stranger" {
			return "", errors.New("no such user")
		}
		return jwt.Issuer + "#" + jwt.Subject, nil
	}
	x := newExchange(t, "jwt", func(cfg *oauth2.Config, _ *memory.Store) {
		for i := range cfg.Grants {
			if i == len(cfg.Grants)-1 { // the exchange grant newExchange added
				cfg.Grants[i] = grant.TokenExchange(grant.TokenExchangeOptions{TrustedIssuers: list, MapSubject: mapSubject,
					Policy: grant.TokenExchangePolicyFunc(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
						return &grant.Allowance{}, nil
					})})
			}
		}
	})
	now := x.Now()
	sign := func(claims map[string]any) string {
		c := map[string]any{"sub": "alice", "aud": x.Provider.Issuer(), "exp": now.Add(10 * time.Minute).Unix(), "scope": "read write"}
		for k, v := range claims {
			c[k] = v
		}
		return idp.sign(t, c)
	}
	exchange := func(subject string, pairs ...string) *testkit.Response {
		return x.exchange("api", x.apiSecret, append([]string{"subject_token", subject, "subject_token_type", grant.TokenTypeJWT}, pairs...)...)
	}
	r := exchange(sign(nil), "scope", "read")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	claims := jwtClaims(t, r.Str("access_token"))
	assert.Equal(t, idpIssuer+"#alice", claims["sub"])
	assert.Equal(t, "read", claims["scope"])
	assert.LessOrEqual(t, int64(claims["exp"].(float64)), now.Add(10*time.Minute).Unix(), "never outlives the subject token")
	// aud naming the client also does.
	require.Equal(t, http.StatusOK, exchange(sign(map[string]any{"aud": []string{"api"}})).Status)

	// Refusals: invalid_request (RFC 8693 §2.2.2).
	for name, tok := range map[string]string{
		"aud names neither this server nor the client": sign(map[string]any{"aud": "https://elsewhere.example"}),
		"expired":                     sign(map[string]any{"exp": now.Add(-5 * time.Minute).Unix()}),
		"untrusted issuer":            newTestIssuer(t, "https://stranger.example").sign(t, map[string]any{"sub": "a", "aud": x.Provider.Issuer(), "exp": now.Add(time.Minute).Unix()}),
		"no sub":                      sign(map[string]any{"sub": nil}),
		"declared as an access token": "",
	} {
		t.Run(name, func(t *testing.T) {
			if tok == "" {
				r := x.exchange("api", x.apiSecret, "subject_token", sign(nil), "subject_token_type", grant.TokenTypeAccessToken)
				testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
				return
			}
			testkit.RequireOAuthError(t, exchange(tok), http.StatusBadRequest, oauth2.ErrInvalidRequest)
		})
	}
	// Expired within the issuer's leeway: valid as a JWT, too late for a
	// token of its own (RFC 8693 §2.2.2).
	testkit.RequireOAuthError(t, exchange(sign(map[string]any{"exp": now.Add(-10 * time.Second).Unix()})), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// aud naming a public client names anyone: spa may not rely on it.
	r = x.exchange("spa", "", "subject_token", sign(map[string]any{"aud": "spa"}), "subject_token_type", grant.TokenTypeJWT)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// The issuer's act chain keeps its identities only, each named with
	// the issuer: it speaks for its own subjects, not for this server's
	// client:web (RFC 8693 §4.1).
	r = exchange(sign(map[string]any{"act": map[string]any{"sub": "client:web", "exp": 1, "act": map[string]any{"sub": "svc", "iss": "https://other.example"}}}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, map[string]any{"sub": "client:web", "iss": idpIssuer, "act": map[string]any{"sub": "svc", "iss": "https://other.example"}},
		jwtClaims(t, r.Str("access_token"))["act"])
	// may_act of the issuer's JWT names the issuer's subjects, unless it
	// says otherwise: this server's client:api is not the issuer's.
	apiActor := x.ccToken("api", x.apiSecret)
	for mayAct, ok := range map[string]bool{`{"sub":"client:api"}`: false, `{"sub":"client:api","iss":"` + x.Provider.Issuer() + `"}`: true} {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(mayAct), &m))
		r = exchange(sign(map[string]any{"may_act": m}), "actor_token", apiActor, "actor_token_type", grant.TokenTypeAccessToken)
		if ok {
			require.Equal(t, http.StatusOK, r.Status, "%s: %s", mayAct, r.Body)
		} else {
			testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
		}
	}

	// The issuer cannot speak for this server's subjects: an act chain
	// naming an actor of this server is refused.
	r = exchange(sign(map[string]any{"act": map[string]any{"sub": "client:web", "iss": x.Provider.Issuer()}}))
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)

	// More scopes than the JWT carries.
	testkit.RequireOAuthError(t, exchange(sign(map[string]any{"scope": "read"}), "scope", "write"), http.StatusBadRequest, oauth2.ErrInvalidScope)

	// A trusted issuer's JWT as actor: act names it with its issuer.
	at, _ := x.userTokens(oauth2.Approval{Subject: "bob"})
	r = x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken,
		"actor_token", sign(map[string]any{"sub": "robot"}), "actor_token_type", grant.TokenTypeJWT)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, map[string]any{"sub": "robot", "iss": idpIssuer}, jwtClaims(t, r.Str("access_token"))["act"])
	// may_act naming the issuer's robot lets it act; naming a local
	// "robot" does not let another issuer's robot act.
	for mayAct, ok := range map[string]bool{`{"sub":"robot","iss":"` + idpIssuer + `"}`: true, `{"sub":"robot"}`: false} {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(mayAct), &m))
		at, _ := x.userTokens(oauth2.Approval{Subject: "carol", Claims: map[string]any{"may_act": m}})
		r = x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken,
			"actor_token", sign(map[string]any{"sub": "robot"}), "actor_token_type", grant.TokenTypeJWT)
		if ok {
			require.Equal(t, http.StatusOK, r.Status, "%s: %s", mayAct, r.Body)
		} else {
			testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
		}
	}
}

func mustECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

func randomJTI(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

// An issuer's access token (typ at+jwt, RFC 9068 §2.1) is not a one-time
// assertion, even when it names this server.
func TestJWTBearerRefusesAccessTokens(t *testing.T) {
	b := newBearer(t, nil)
	c := map[string]any{"sub": "alice", "aud": b.Provider.Issuer(), "exp": b.Now().Add(5 * time.Minute).Unix(), "jti": "at-1"}
	payload, err := json.Marshal(map[string]any{"iss": idpIssuer, "sub": c["sub"], "aud": c["aud"], "exp": c["exp"], "jti": c["jti"]})
	require.NoError(t, err)
	for _, typ := range []string{"at+jwt", "application/AT+JWT"} {
		hdr := jws.NewHeaders()
		require.NoError(t, hdr.Set(jws.KeyIDKey, "k1"))
		require.NoError(t, hdr.Set(jws.TypeKey, typ))
		signed, err := jws.Sign(payload, jws.WithKey(jwa.ES256, b.idp.key, jws.WithProtectedHeaders(hdr)))
		require.NoError(t, err)
		testkit.RequireOAuthError(t, b.present(string(signed)), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	}
}

// RFC 7523 §3 item 7 under concurrency: of many identical assertions at
// once, exactly one is honoured; and one used is refused until it could
// no longer be accepted anyway.
func TestJWTBearerReplayConcurrentAndUntilExpiry(t *testing.T) {
	b := newBearer(t, nil)
	assertion := b.assertion(map[string]any{"exp": b.Now().Add(2 * time.Minute).Unix()})
	const n = 20
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"grant_type": {grant.GrantTypeJWTBearer}, "assertion": {assertion}}
			req, err := http.NewRequest(http.MethodPost, b.Provider.TokenEndpoint(), strings.NewReader(form.Encode()))
			if err != nil {
				statuses <- 0
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("fed", b.fedSecret)
			resp, err := b.Server.Client().Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == http.StatusOK {
			ok++
		} else {
			assert.Equal(t, http.StatusBadRequest, s)
		}
	}
	assert.Equal(t, 1, ok)
	// The last second the assertion would be accepted (exp + leeway), it
	// is still remembered.
	b.Advance(2*time.Minute + oauth2.DefaultTrustedJWTLeeway - time.Second)
	testkit.RequireOAuthError(t, b.present(assertion), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	assert.Len(t, b.Events(oauth2.EventTokenIssued), 1)
}

// An issuer whose keys cannot be fetched is the server's outage, not a bad
// assertion: 503 temporarily_unavailable (RFC 6749 §5.2 via RFC 7523
// §3.1), and nothing is used up.
func TestJWTBearerIssuerKeysUnavailable(t *testing.T) {
	idp := newTestIssuer(t, idpIssuer)
	var down atomic.Bool
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		entry := idp.entry(t)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(entry.JWKS)
	}))
	t.Cleanup(jwks.Close)
	down.Store(true)
	list, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{{Issuer: idpIssuer, JWKSURI: jwks.URL}},
		&oauth2.JWKSFetcher{AllowPrivateAddresses: true, MinRefetchInterval: time.Nanosecond})
	require.NoError(t, err)
	b := &bearerHarness{idp: idp}
	b.Harness = testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{grant.JWTBearer(grant.JWTBearerOptions{TrustedIssuers: list, Replay: store,
			MapSubject: func(_ context.Context, _ *storage.Client, jwt *oauth2.TrustedJWT) (string, error) {
				return "user-" + jwt.Subject, nil
			}})}
	})
	b.fedSecret = b.AddClient(storage.Client{ID: "fed", GrantTypes: []string{grant.GrantTypeJWTBearer}, Scopes: []string{"read"}})
	assertion := b.assertion(nil)
	r := b.present(assertion)
	testkit.RequireOAuthError(t, r, http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
	// Once the keys are back, the same assertion is honoured.
	down.Store(false)
	require.Equal(t, http.StatusOK, b.present(assertion).Status)
}

// The assertion's scope claim, when present, bounds what it obtains.
func TestJWTBearerScopeClaim(t *testing.T) {
	b := newBearer(t, nil)
	testkit.RequireOAuthError(t, b.present(b.assertion(map[string]any{"scope": "read"}), "scope", "write"), http.StatusBadRequest, oauth2.ErrInvalidScope)
	r := b.present(b.assertion(map[string]any{"scope": "read"}), "scope", "read")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	// Without a scope parameter: the client's defaults within the claim.
	r = b.present(b.assertion(map[string]any{"scope": "write"}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rec, err := b.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Empty(t, rec.Scopes, "fed's default is read, which the claim does not allow")
	testkit.RequireOAuthError(t, b.present(b.assertion(map[string]any{"scope": 7})), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}
