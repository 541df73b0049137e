package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/storage"
	"github.com/ory/fosite/token/jwt"
)

// ErrFositeUnsupported is wrapped by the errors of the fosite constructors
// when fosite v0.49 cannot do what a scenario asks.
var ErrFositeUnsupported = errors.New("bench: not supported by fosite")

// NewFositeClientCredentials returns fosite (see newFositeServer) with its
// HMAC (opaque) token strategy, for the client credentials scenario.
// hasher hashes and checks client secrets; nil means fosite's default,
// bcrypt at cost 12, which is what fosite's users get.
func NewFositeClientCredentials(hasher fosite.Hasher) (*Server, error) {
	f, err := newFositeServer(hasher, fositeHMACStrategy, newFositeDefaultSession)
	if err != nil {
		return nil, err
	}
	req := ClientCredentialsRequest(benchClientID, f.secret)
	return f.server(Repeated(req)), nil
}

// fositeServer is one fosite provider with the registered client, served
// by the handlers of fosite's documentation at POST /token and
// POST /introspect.
type fositeServer struct {
	provider fosite.OAuth2Provider
	handler  http.Handler
	// secret is the client secret in clear; the store has its hash.
	secret string
	// newSession returns the empty session of the token strategy: a
	// *fosite.DefaultSession for opaque tokens, an *oauth2.JWTSession
	// for JWT access tokens.
	newSession func() fosite.Session
}

// newFositeDefaultSession is the session of the opaque token servers.
func newFositeDefaultSession() fosite.Session { return new(fosite.DefaultSession) }

// fositeHMACStrategy is fosite's HMAC (opaque) token strategy.
func fositeHMACStrategy(cfg *fosite.Config) (any, error) {
	return compose.NewOAuth2HMACStrategy(cfg), nil
}

// newFositeServer returns fosite with its memory store, the token strategy
// that strategy builds and the grants Grantor's server has: authorization
// code with PKCE, client credentials and refresh token, plus introspection
// and revocation. The registered client (benchClientID) has a random
// secret stored hashed by hasher (fosite's bcrypt when nil).
//
// Refresh tokens are issued by every authorization code exchange, without
// an "offline" scope (RefreshTokenScopes is empty, not nil), as the other
// contenders do; rotation is fosite's default (no grace period).
func newFositeServer(hasher fosite.Hasher, strategy func(*fosite.Config) (any, error), newSession func() fosite.Session) (*fositeServer, error) {
	ctx := context.Background()
	globalSecret := make([]byte, 32)
	if _, err := rand.Read(globalSecret); err != nil {
		return nil, err
	}
	cfg := &fosite.Config{
		AccessTokenLifespan: time.Hour,
		GlobalSecret:        globalSecret,
		ClientSecretsHasher: hasher,
		RefreshTokenScopes:  []string{},
		// Used by the JWT strategy only: "iss" and an RFC 9068 "scope"
		// string rather than fosite's default "scp" list.
		AccessTokenIssuer: BenchIssuer,
		JWTScopeClaimKey:  jwt.JWTScopeFieldString,
	}
	secret, err := randomSecret()
	if err != nil {
		return nil, err
	}
	hash, err := cfg.GetSecretsHasher(ctx).Hash(ctx, []byte(secret))
	if err != nil {
		return nil, err
	}
	store := storage.NewMemoryStore()
	store.Clients[benchClientID] = &fosite.DefaultClient{
		ID:            benchClientID,
		Secret:        hash,
		RedirectURIs:  []string{BenchRedirectURI},
		GrantTypes:    []string{"client_credentials", "authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		Scopes:        []string{"read", "write"},
	}
	st, err := strategy(cfg)
	if err != nil {
		return nil, err
	}
	f := &fositeServer{
		provider: compose.Compose(cfg, &fositeMemoryStore{MemoryStore: store}, st,
			compose.OAuth2AuthorizeExplicitFactory,
			compose.OAuth2ClientCredentialsGrantFactory,
			compose.OAuth2RefreshTokenGrantFactory,
			compose.OAuth2PKCEFactory,
			compose.OAuth2TokenIntrospectionFactory,
			compose.OAuth2TokenRevocationFactory,
		),
		secret:     secret,
		newSession: newSession,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("POST /introspect", f.introspect)
	f.handler = mux
	return f, nil
}

// fositeMemoryStore is fosite's MemoryStore with one fix: its
// RevokeRefreshToken (called by RotateRefreshToken on every refresh) writes
// the RefreshTokens map under another mutex than the one
// GetRefreshTokenSession reads it under, so concurrent refreshes crash
// the process with "concurrent map read and map write" (storage/memory.go
// of fosite v0.49.0). Every method that touches that map is serialized
// here by a lock of its own; the rest is fosite's.
type fositeMemoryStore struct {
	*storage.MemoryStore
	refreshMu sync.RWMutex
}

// CreateRefreshTokenSession is MemoryStore's, under refreshMu.
func (s *fositeMemoryStore) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, req fosite.Requester) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	return s.MemoryStore.CreateRefreshTokenSession(ctx, signature, accessSignature, req)
}

// GetRefreshTokenSession is MemoryStore's, under refreshMu.
func (s *fositeMemoryStore) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	s.refreshMu.RLock()
	defer s.refreshMu.RUnlock()
	return s.MemoryStore.GetRefreshTokenSession(ctx, signature, session)
}

// DeleteRefreshTokenSession is MemoryStore's, under refreshMu.
func (s *fositeMemoryStore) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	return s.MemoryStore.DeleteRefreshTokenSession(ctx, signature)
}

// RevokeRefreshToken is MemoryStore's, under refreshMu.
func (s *fositeMemoryStore) RevokeRefreshToken(ctx context.Context, requestID string) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	return s.MemoryStore.RevokeRefreshToken(ctx, requestID)
}

// RotateRefreshToken is MemoryStore's, under refreshMu.
func (s *fositeMemoryStore) RotateRefreshToken(ctx context.Context, requestID, refreshTokenSignature string) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	return s.MemoryStore.RotateRefreshToken(ctx, requestID, refreshTokenSignature)
}

// server returns f as a Server whose Requests is requests.
func (f *fositeServer) server(requests func(n int) ([]Request, error)) *Server {
	return &Server{Handler: f.handler, ClientID: benchClientID, ClientSecret: f.secret, Requests: requests}
}

// token is the token endpoint of fosite's documentation: NewAccessRequest,
// grant the requested scopes for the client credentials grant (fosite has
// already checked them against the client's), NewAccessResponse,
// WriteAccessResponse.
func (f *fositeServer) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := f.provider.NewAccessRequest(ctx, r, f.newSession())
	if err != nil {
		f.provider.WriteAccessError(ctx, w, ar, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		for _, scope := range ar.GetRequestedScopes() {
			ar.GrantScope(scope)
		}
		// The token is the client's own: its subject is the client, as
		// Hydra does, so that a JWT has "sub" and "client_id".
		id := ar.GetClient().GetID()
		setFositeSubject(ar.GetSession(), id, id)
	}
	resp, err := f.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		f.provider.WriteAccessError(ctx, w, ar, err)
		return
	}
	f.provider.WriteAccessResponse(ctx, w, ar, resp)
}

// introspect is the introspection endpoint of fosite's documentation:
// NewIntrospectionRequest (which authenticates the client) and
// WriteIntrospectionResponse.
func (f *fositeServer) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ir, err := f.provider.NewIntrospectionRequest(ctx, r, f.newSession())
	if err != nil {
		f.provider.WriteIntrospectionError(ctx, w, err)
		return
	}
	f.provider.WriteIntrospectionResponse(ctx, w, ir)
}

// setFositeSubject sets the subject of session s, and for a JWT session
// the "sub" and "client_id" claims of the access token (RFC 9068 §2.2).
// The session is changed in place: fosite has already set its expiry.
func setFositeSubject(s fosite.Session, subject, clientID string) {
	switch s := s.(type) {
	case *fosite.DefaultSession:
		s.Subject = subject
	case *oauth2.JWTSession:
		s.Subject = subject
		claims := s.GetJWTClaims().(*jwt.JWTClaims)
		claims.Subject = subject
		claims.Add("client_id", clientID)
	}
}

// SHA256Hasher is a fosite.Hasher that keeps the SHA-256 digest of a secret
// and compares digests in constant time. It is for measurement only: it
// stands for the cheapest hasher a fosite user could plug in, so that
// fosite-fast measures fosite's own cost rather than bcrypt's. (An
// unsalted fast hash is acceptable only for long random secrets, such as
// the ones generated here, never for secrets people choose.)
type SHA256Hasher struct{}

var _ fosite.Hasher = SHA256Hasher{}

// errSecretMismatch is SHA256Hasher's answer to a wrong secret; fosite turns
// it into invalid_client.
var errSecretMismatch = errors.New("bench: client secret mismatch")

// Hash returns the SHA-256 digest of data.
func (SHA256Hasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	d := sha256.Sum256(data)
	return d[:], nil
}

// Compare reports whether hash is the SHA-256 digest of data, in constant
// time.
func (SHA256Hasher) Compare(_ context.Context, hash, data []byte) error {
	d := sha256.Sum256(data)
	if subtle.ConstantTimeCompare(hash, d[:]) != 1 {
		return errSecretMismatch
	}
	return nil
}
