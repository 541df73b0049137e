package oauth2_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// dpopHarness is a Provider with DPoP on, the client credentials and
// refresh grants, a confidential client "svc" and a public client "pub".
type dpopHarness struct {
	*testkit.Harness
	secret string
	key    *testkit.DPoPKey
}

func newDPoP(t *testing.T, configure func(*oauth2.Config, *memory.Store)) *dpopHarness {
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		}
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store}
		if configure != nil {
			configure(cfg, store)
		}
	})
	d := &dpopHarness{Harness: h, key: testkit.NewDPoPKey(t, jwa.ES256)}
	d.secret = h.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
	return d
}

// tokenWithProof posts form as client svc with the given DPoP headers.
func (d *dpopHarness) tokenWithProof(form url.Values, proofs ...string) *testkit.Response {
	req := d.TokenRequest(form)
	req.SetBasicAuth("svc", d.secret)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return d.Do(req)
}

func (d *dpopHarness) proof(t *testing.T, c testkit.ProofClaims) string {
	if c.Method == "" {
		c.Method = http.MethodPost
	}
	if c.URL == "" {
		c.URL = d.Provider.TokenEndpoint()
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = d.Now()
	}
	return d.key.Proof(t, c)
}

var ccGrant = url.Values{"grant_type": {"client_credentials"}}

// A valid proof binds the access token to its key (RFC 9449 §5, §6.1):
// token_type DPoP, the thumbprint on the record, in introspection (§6.2)
// and in a JWT's cnf.jkt.
func TestDPoPBindsTheAccessToken(t *testing.T) {
	for _, format := range []string{"opaque", "jwt"} {
		t.Run(format, func(t *testing.T) {
			d := newDPoP(t, func(cfg *oauth2.Config, _ *memory.Store) {
				if format == "jwt" {
					cfg.AccessTokens = newJWTStrategy(t, cfg.Issuer)
				}
			})
			r := d.tokenWithProof(ccGrant, d.proof(t, testkit.ProofClaims{}))
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.Equal(t, "DPoP", r.Str("token_type"))
			rec, err := d.AccessTokenRecord(r.Str("access_token"))
			require.NoError(t, err)
			assert.Equal(t, d.key.Thumbprint, rec.KeyThumbprint)

			// The client introspects its own token (RFC 7662 §2.2, RFC 9449 §6.2).
			req, err := http.NewRequest(http.MethodPost, d.Provider.IntrospectionEndpoint(),
				strings.NewReader(url.Values{"token": {r.Str("access_token")}}.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("svc", d.secret)
			intro := d.Do(req)
			require.Equal(t, http.StatusOK, intro.Status, "%s", intro.Body)
			assert.Equal(t, true, intro.JSON["active"])
			assert.Equal(t, "DPoP", intro.JSON["token_type"])
			assert.Equal(t, map[string]any{"jkt": d.key.Thumbprint}, intro.JSON["cnf"])

			if format == "jwt" {
				payload, err := base64.RawURLEncoding.DecodeString(strings.Split(r.Str("access_token"), ".")[1])
				require.NoError(t, err)
				assert.Contains(t, string(payload), `"cnf":{"jkt":"`+d.key.Thumbprint+`"}`)
			}
		})
	}
}

// Without a proof the token is a Bearer token, and so it is when DPoP is
// off: the header is then ignored (RFC 9449 §5).
func TestDPoPIsOptionalAndIgnoredWhenOff(t *testing.T) {
	d := newDPoP(t, nil)
	r := d.tokenWithProof(ccGrant)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "Bearer", r.Str("token_type"))

	off := newDPoP(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.DPoP = nil })
	r = off.tokenWithProof(ccGrant, off.proof(t, testkit.ProofClaims{}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "Bearer", r.Str("token_type"))
	rec, err := off.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Empty(t, rec.KeyThumbprint)
}

// A refused proof is invalid_dpop_proof (400), and nothing is issued.
func TestDPoPRefusesBadProofs(t *testing.T) {
	d := newDPoP(t, nil)
	other := testkit.NewDPoPKey(t, jwa.EdDSA)
	cases := map[string][]string{
		"htu of another endpoint (§4.3 step 9)": {d.proof(t, testkit.ProofClaims{URL: d.Provider.RevocationEndpoint()})},
		"htm GET (§4.3 step 8)":                 {d.proof(t, testkit.ProofClaims{Method: http.MethodGet})},
		"iat an hour ago (§4.3 step 11)":        {d.proof(t, testkit.ProofClaims{IssuedAt: d.Now().Add(-3600e9)})},
		"two DPoP headers (§4.3 step 1)":        {d.proof(t, testkit.ProofClaims{}), other.Proof(t, testkit.ProofClaims{Method: "POST", URL: d.Provider.TokenEndpoint(), IssuedAt: d.Now()})},
		"not a JWT":                             {"not-a-jwt"},
	}
	for name, proofs := range cases {
		t.Run(name, func(t *testing.T) {
			r := d.tokenWithProof(ccGrant, proofs...)
			testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidDPoPProof)
			assert.NotContains(t, r.JSON, "access_token")
		})
	}
	assert.Empty(t, d.Events(oauth2.EventTokenIssued))
}

// A proof is accepted once (RFC 9449 §11.1), also when sent many times at
// once.
func TestDPoPProofIsSingleUse(t *testing.T) {
	d := newDPoP(t, nil)
	proof := d.proof(t, testkit.ProofClaims{})
	var ok, refused int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := d.tokenWithProof(ccGrant, proof)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Status == http.StatusOK:
				ok++
			case r.Str("error") == string(oauth2.ErrInvalidDPoPProof):
				refused++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, ok)
	assert.Equal(t, 19, refused)
}

// A client registered with dpop_bound_access_tokens must send a proof
// (RFC 9449 §5.2); a Provider without DPoP cannot serve it.
func TestDPoPBoundClientMustSendAProof(t *testing.T) {
	d := newDPoP(t, nil)
	d.secret = d.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}, DPoPBoundAccessTokens: true})
	testkit.RequireOAuthError(t, d.tokenWithProof(ccGrant), http.StatusBadRequest, oauth2.ErrInvalidDPoPProof)
	r := d.tokenWithProof(ccGrant, d.proof(t, testkit.ProofClaims{}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "DPoP", r.Str("token_type"))

	off := newDPoP(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.DPoP = nil })
	off.secret = off.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}, DPoPBoundAccessTokens: true})
	testkit.RequireOAuthError(t, off.tokenWithProof(ccGrant, off.proof(t, testkit.ProofClaims{})), http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
}

// With nonces at the token endpoint, a proof without one is use_dpop_nonce
// with a DPoP-Nonce to retry with (RFC 9449 §8), which then succeeds.
func TestDPoPNonceAtTheTokenEndpoint(t *testing.T) {
	d := newDPoP(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store, Nonce: oauth2.DPoPNonceTokenEndpoint, NonceKeys: [][]byte{make([]byte, 32)}}
	})
	r := d.tokenWithProof(ccGrant, d.proof(t, testkit.ProofClaims{}))
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrUseDPoPNonce)
	nonce := r.Header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)

	r = d.tokenWithProof(ccGrant, d.proof(t, testkit.ProofClaims{Nonce: "made-up"}))
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrUseDPoPNonce)

	r = d.tokenWithProof(ccGrant, d.proof(t, testkit.ProofClaims{Nonce: nonce}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "DPoP", r.Str("token_type"))
}

// The metadata advertises the proof algorithms only while DPoP is on
// (RFC 9449 §5.1).
func TestDPoPMetadata(t *testing.T) {
	d := newDPoP(t, nil)
	assert.Equal(t, []string{"ES256", "EdDSA", "RS256", "PS256"}, d.Provider.Metadata().DPoPSigningAlgsSupported)
	off := newDPoP(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.DPoP = nil })
	assert.Empty(t, off.Provider.Metadata().DPoPSigningAlgsSupported)
}

// NewProvider refuses DPoP without replay protection and nonce settings
// that contradict each other.
func TestDPoPConfiguration(t *testing.T) {
	store := memory.New()
	for name, c := range map[string]*oauth2.DPoPConfig{
		"no replay store":           {},
		"nonce keys without nonces": {Replay: store, NonceKeys: [][]byte{make([]byte, 32)}},
		"nonces without keys":       {Replay: store, Nonce: oauth2.DPoPNonceTokenEndpoint},
		"a short nonce key":         {Replay: store, Nonce: oauth2.DPoPNonceEverywhere, NonceKeys: [][]byte{make([]byte, 8)}},
		"HS256 proofs":              {Replay: store, Algorithms: []string{"HS256"}},
		"alg none":                  {Replay: store, Algorithms: []string{"none"}},
		"RSA keys of 1024 bits":     {Replay: store, MaxRSAKeyBits: 1024},
	} {
		cfg := validConfig()
		cfg.DPoP = c
		_, err := oauth2.NewProvider(cfg)
		assert.Error(t, err, name)
	}
}

// A public client's refresh token is bound to its proof's key (RFC 9449
// §5): it refreshes with that key only; a confidential client's is not.
func TestDPoPBindsAPublicClientsRefreshToken(t *testing.T) {
	d := newDPoP(t, nil)
	d.AddClient(storage.Client{ID: "pub", TokenEndpointAuthMethod: oauth2.AuthMethodNone, GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"}})
	rt := d.SeedRefreshToken(storage.Token{ClientID: "pub", Subject: "alice", Scopes: []string{"read"}})
	refresh := func(rt string, proofs ...string) *testkit.Response {
		req := d.TokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"pub"}})
		for _, p := range proofs {
			req.Header.Add("DPoP", p)
		}
		return d.Do(req)
	}
	r := refresh(rt, d.proof(t, testkit.ProofClaims{}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	next, err := d.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, d.key.Thumbprint, next.KeyThumbprint)

	other := testkit.NewDPoPKey(t, jwa.EdDSA)
	otherProof := other.Proof(t, testkit.ProofClaims{Method: "POST", URL: d.Provider.TokenEndpoint(), IssuedAt: d.Now()})
	testkit.RequireOAuthError(t, refresh(r.Str("refresh_token"), otherProof), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	testkit.RequireOAuthError(t, refresh(r.Str("refresh_token")), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	// The refused attempts consumed nothing.
	r = refresh(r.Str("refresh_token"), d.proof(t, testkit.ProofClaims{}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	secret := d.AddClient(storage.Client{ID: "conf", GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"}})
	rt = d.SeedRefreshToken(storage.Token{ClientID: "conf", Subject: "alice", Scopes: []string{"read"}})
	req := d.TokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	req.SetBasicAuth("conf", secret)
	req.Header.Set("DPoP", d.proof(t, testkit.ProofClaims{}))
	r = d.Do(req)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "DPoP", r.Str("token_type"))
	next, err = d.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.Empty(t, next.KeyThumbprint, "a confidential client's refresh token is protected by its authentication")
}

// newJWTStrategy returns a JWT access token strategy for issuer.
func newJWTStrategy(t *testing.T, issuer string) token.AccessTokenStrategy {
	key, err := token.GenerateSigningKey(jwa.ES256)
	require.NoError(t, err)
	keys, err := token.NewKeySet(key)
	require.NoError(t, err)
	s, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: issuer})
	require.NoError(t, err)
	return s
}

// Revoking a DPoP-bound token needs no proof (RFC 9449 §5; RFC 7009 §2.1
// authenticates the client only).
func TestDPoPBoundTokenIsRevokedWithoutAProof(t *testing.T) {
	d := newDPoP(t, nil)
	r := d.tokenWithProof(ccGrant, d.proof(t, testkit.ProofClaims{}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	tok := r.Str("access_token")
	require.Equal(t, http.StatusOK, d.Revoke("svc", d.secret, tok).Status)
	intro := d.Introspect("svc", d.secret, tok)
	require.Equal(t, http.StatusOK, intro.Status, "%s", intro.Body)
	assert.Equal(t, false, intro.JSON["active"])
}

// Neither the log nor the event hook ever sees a proof or a key: not for
// an accepted proof, a refused one or a replay.
func TestDPoPProofsAndKeysNeverReachLogsOrEvents(t *testing.T) {
	log := &syncBuffer{}
	d := newDPoP(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	good := d.proof(t, testkit.ProofClaims{})
	bad := d.proof(t, testkit.ProofClaims{URL: "https://elsewhere.example/token"})
	require.Equal(t, http.StatusOK, d.tokenWithProof(ccGrant, good).Status)
	d.tokenWithProof(ccGrant, good) // a replay
	d.tokenWithProof(ccGrant, bad)
	d.tokenWithProof(ccGrant, "garbage."+good)

	var events strings.Builder
	for _, typ := range []oauth2.EventType{oauth2.EventTokenIssued, oauth2.EventClientAuthFailed} {
		for _, e := range d.Events(typ) {
			fmt.Fprintf(&events, "%+v\n", e)
		}
	}
	for _, seen := range []string{log.String(), events.String()} {
		for _, p := range []string{good, bad} {
			for _, part := range strings.Split(p, ".") {
				assert.NotContains(t, seen, part)
			}
		}
		assert.NotContains(t, seen, d.key.Thumbprint)
	}
}

// The nonce of a use_dpop_nonce answer is in the header map under its
// canonical key, so that in-process callers (a recorder, a middleware)
// find it with Header.Get as clients do over the wire.
func TestDPoPNonceHeaderIsCanonical(t *testing.T) {
	d := newDPoP(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store, Nonce: oauth2.DPoPNonceTokenEndpoint, NonceKeys: [][]byte{make([]byte, 32)}}
	})
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(ccGrant.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", d.secret)
	req.Header.Set("DPoP", d.proof(t, testkit.ProofClaims{}))
	rec := httptest.NewRecorder()
	d.Provider.TokenHandler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	assert.NotEmpty(t, rec.Header().Get("DPoP-Nonce"))
}

// A rotated DPoP-bound refresh token presented without its key, with no
// proof or another key's, proves nothing: it is refused without revoking
// the grant, whose holder refreshes on (RFC 9449 §5; the reuse rule of RFC
// 9700 §4.14.2 needs a presenter that could have used the token).
func TestDPoPBoundRefreshTokenReusedWithoutItsKeyLeavesTheGrant(t *testing.T) {
	for _, withOtherKey := range []bool{false, true} {
		d := newDPoP(t, nil)
		d.AddClient(storage.Client{ID: "pub", TokenEndpointAuthMethod: oauth2.AuthMethodNone, GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"}})
		rt := d.SeedRefreshToken(storage.Token{ClientID: "pub", Subject: "alice", Scopes: []string{"read"}})
		refresh := func(rt string, proofs ...string) *testkit.Response {
			req := d.TokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"pub"}})
			for _, p := range proofs {
				req.Header.Add("DPoP", p)
			}
			return d.Do(req)
		}
		r := refresh(rt, d.proof(t, testkit.ProofClaims{}))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		rt = r.Str("refresh_token") // bound to the key from here on
		r = refresh(rt, d.proof(t, testkit.ProofClaims{}))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		current := r.Str("refresh_token")

		var thief *testkit.Response
		if withOtherKey {
			other := testkit.NewDPoPKey(t, jwa.EdDSA)
			thief = refresh(rt, other.Proof(t, testkit.ProofClaims{Method: "POST", URL: d.Provider.TokenEndpoint(), IssuedAt: d.Now()}))
		} else {
			thief = refresh(rt)
		}
		testkit.RequireOAuthError(t, thief, http.StatusBadRequest, oauth2.ErrInvalidGrant)
		assert.Empty(t, d.Events(oauth2.EventGrantRevoked))

		r = refresh(current, d.proof(t, testkit.ProofClaims{}))
		assert.Equal(t, http.StatusOK, r.Status, "other key: %v: %s", withOtherKey, r.Body)
	}
}

// failingReplay is a replay store that is down.
type failingReplay struct{}

func (failingReplay) Remember(context.Context, string, time.Time) error {
	return errors.New("replay store down")
}

// A replay store that fails is an outage, answered 503 with Retry-After,
// not a refused proof.
func TestDPoPReplayStoreOutageIsUnavailable(t *testing.T) {
	d := newDPoP(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: failingReplay{}}
	})
	r := d.tokenWithProof(ccGrant, d.proof(t, testkit.ProofClaims{}))
	testkit.RequireOAuthError(t, r, http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
}

// A bound refresh token is not freed by switching DPoP off.
func TestDPoPBoundRefreshTokenWhenDPoPIsOff(t *testing.T) {
	d := newDPoP(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.DPoP = nil })
	d.AddClient(storage.Client{ID: "pub", TokenEndpointAuthMethod: oauth2.AuthMethodNone, GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"}})
	rt := d.SeedRefreshToken(storage.Token{ClientID: "pub", Subject: "alice", Scopes: []string{"read"}, KeyThumbprint: d.key.Thumbprint})
	req := d.TokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"pub"}})
	req.Header.Set("DPoP", d.proof(t, testkit.ProofClaims{}))
	testkit.RequireOAuthError(t, d.Do(req), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}
