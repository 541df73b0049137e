package bench

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// baseline is the floor of every scenario: a plain net/http authorization
// server with no library that does what any correct token and
// introspection endpoint must do and nothing more. It is written plainly,
// the way a careful programmer would write it in an afternoon, without
// pools or other tuning: it is the cost of the work, not of a library.
//
// Each request parses the form (http.Request.ParseForm), checks the Basic
// credentials against a salted HMAC-SHA-256 digest of the secret in
// constant time, and answers JSON with Cache-Control: no-store (and
// Pragma: no-cache, as RFC 6749 §5.1 asks and both libraries do).
// Opaque credentials (access and refresh tokens, codes) are 256 random
// bits and their HMAC-SHA-256, base64url, joined by a dot; only the
// signature is stored, as the key of the record, so that the store does
// not hold usable tokens (Grantor stores the same way). Every server
// serves both endpoints and all three grants; the constructors differ only
// in what their Requests set up.
type baseline struct {
	clients map[string]*baselineClient // read-only after construction
	key     []byte                     // signs opaque tokens and codes
	// jwt, when set, makes client credentials access tokens RFC 9068
	// JWTs, which are not stored.
	jwt *baselineJWT

	mu     sync.RWMutex
	tokens map[string]baselineToken // access and refresh tokens, by signature
	codes  map[string]baselineCode  // authorization codes, by signature
	grants map[string][]string      // grant ID → signatures of its tokens
}

// baselineClient is a registered client: its secret is kept only as
// HMAC-SHA-256(salt, secret).
type baselineClient struct {
	id     string
	salt   []byte
	digest []byte
	scopes map[string]bool
	grants map[string]bool // grant types it may use
}

// baselineToken is the record of an issued access or refresh token.
type baselineToken struct {
	refresh  bool   // a refresh token, else an access token
	grantID  string // empty for client credentials tokens
	clientID string
	subject  string
	scope    string // space-separated
	issuedAt time.Time
	expires  time.Time
	// used marks a rotated refresh token: it is kept so that its reuse
	// is detected (RFC 9700 §4.14.2).
	used bool
}

// baselineCode is the record of an authorization code.
type baselineCode struct {
	grantID     string
	clientID    string
	redirectURI string
	subject     string
	scope       string
	challenge   string // PKCE S256 code_challenge (RFC 7636 §4.2)
	expires     time.Time
	used        bool // redeemed; kept so that a replay is detected
}

// The lifetimes of the baseline, as of Grantor's defaults.
const (
	baselineAccessLifetime  = time.Hour
	baselineRefreshLifetime = 30 * 24 * time.Hour
	baselineCodeLifetime    = 60 * time.Second
)

// newBaseline returns a baseline with the registered client of every
// server (see benchClientID) and its secret. A non-nil jwt makes client
// credentials access tokens JWTs.
func newBaseline(jwt *baselineJWT) (*baseline, string, error) {
	secret, err := randomSecret()
	if err != nil {
		return nil, "", err
	}
	salt := make([]byte, 16)
	key := make([]byte, 32)
	for _, b := range [][]byte{salt, key} {
		if _, err := rand.Read(b); err != nil {
			return nil, "", err
		}
	}
	s := &baseline{
		clients: map[string]*baselineClient{benchClientID: {
			id:     benchClientID,
			salt:   salt,
			digest: macSHA256(salt, []byte(secret)),
			scopes: map[string]bool{"read": true, "write": true},
			grants: map[string]bool{"client_credentials": true, "authorization_code": true, "refresh_token": true},
		}},
		key:    key,
		jwt:    jwt,
		tokens: make(map[string]baselineToken),
		codes:  make(map[string]baselineCode),
		grants: make(map[string][]string),
	}
	return s, secret, nil
}

// server returns s as a Server whose Requests are requests.
func (s *baseline) server(secret string, requests func(n int) ([]Request, error)) *Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.serveToken)
	mux.HandleFunc("POST /introspect", s.serveIntrospection)
	return &Server{Handler: mux, ClientID: benchClientID, ClientSecret: secret, Requests: requests}
}

// NewBaselineClientCredentials returns the baseline for the client
// credentials scenario with opaque access tokens: per request it parses,
// authenticates, checks the grant type and scope, mints a token, stores
// its record and answers.
func NewBaselineClientCredentials() (*Server, error) {
	s, secret, err := newBaseline(nil)
	if err != nil {
		return nil, err
	}
	req := ClientCredentialsRequest(benchClientID, secret)
	return s.server(secret, Repeated(req)), nil
}

// NewBaselineIntrospection returns the baseline for the introspection
// scenario: every request introspects the same live access token of the
// client, minted and stored as a client credentials request would.
func NewBaselineIntrospection() (*Server, error) {
	s, secret, err := newBaseline(nil)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tok, sig, err := s.newOpaque()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.putTokenLocked(sig, baselineToken{
		clientID: benchClientID, subject: clientSubject(benchClientID), scope: "read",
		issuedAt: now, expires: now.Add(baselineAccessLifetime),
	})
	s.mu.Unlock()
	req := IntrospectionRequest(benchClientID, secret, tok)
	return s.server(secret, Repeated(req)), nil
}

// clientSubject is the subject of the tokens a client obtains for itself,
// as Grantor names it: a namespace of its own keeps clients apart from
// users (RFC 9700 §4.15).
func clientSubject(clientID string) string { return "client:" + clientID }

// parseAndAuthenticate parses the form of a request and authenticates its
// client; when either fails, it writes the error and returns false.
func (s *baseline) parseAndAuthenticate(w http.ResponseWriter, r *http.Request) (*baselineClient, bool) {
	if err := r.ParseForm(); err != nil {
		writeBaselineError(w, http.StatusBadRequest, "invalid_request")
		return nil, false
	}
	c, ok := s.authenticate(r)
	if !ok {
		writeBaselineInvalidClient(w)
		return nil, false
	}
	return c, true
}

// serveToken is the token endpoint (RFC 6749 §3.2).
func (s *baseline) serveToken(w http.ResponseWriter, r *http.Request) {
	c, ok := s.parseAndAuthenticate(w, r)
	if !ok {
		return
	}
	grantType := r.PostForm.Get("grant_type")
	switch grantType {
	case "client_credentials", "refresh_token", "authorization_code":
	default:
		writeBaselineError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	if !c.grants[grantType] {
		writeBaselineError(w, http.StatusBadRequest, "unauthorized_client")
		return
	}
	switch grantType {
	case "client_credentials":
		s.clientCredentials(w, r, c)
	case "refresh_token":
		s.refresh(w, r, c)
	case "authorization_code":
		s.exchangeCode(w, r, c)
	}
}

// clientCredentials answers a client credentials request (RFC 6749 §4.4).
func (s *baseline) clientCredentials(w http.ResponseWriter, r *http.Request, c *baselineClient) {
	scope := r.PostForm.Get("scope")
	for _, sc := range strings.Fields(scope) {
		if !c.scopes[sc] {
			writeBaselineError(w, http.StatusBadRequest, "invalid_scope")
			return
		}
	}
	now := time.Now()
	var access string
	if s.jwt != nil {
		var err error
		if access, err = s.jwt.mint(c.id, scope, now); err != nil {
			writeBaselineError(w, http.StatusInternalServerError, "server_error")
			return
		}
	} else {
		tok, sig, err := s.newOpaque()
		if err != nil {
			writeBaselineError(w, http.StatusInternalServerError, "server_error")
			return
		}
		s.mu.Lock()
		s.putTokenLocked(sig, baselineToken{
			clientID: c.id, subject: clientSubject(c.id), scope: scope,
			issuedAt: now, expires: now.Add(baselineAccessLifetime),
		})
		s.mu.Unlock()
		access = tok
	}
	writeBaselineJSON(w, http.StatusOK, baselineTokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int64(baselineAccessLifetime / time.Second),
		Scope:       scope,
	})
}

// serveIntrospection is the introspection endpoint (RFC 7662 §2): a
// client learns about its own access tokens, and gets {"active":false}
// for any other string.
func (s *baseline) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	c, ok := s.parseAndAuthenticate(w, r)
	if !ok {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		writeBaselineError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	var t baselineToken
	sig, ok := s.opaqueSignature(tok)
	if ok {
		s.mu.RLock()
		t, ok = s.tokens[sig]
		s.mu.RUnlock()
	}
	// Refresh tokens are never introspected here: this server's
	// introspection scenario issues none, and RFC 7662 leaves it to the
	// server.
	if !ok || t.refresh || t.clientID != c.id || !time.Now().Before(t.expires) {
		writeBaselineJSON(w, http.StatusOK, baselineIntrospection{})
		return
	}
	// The members Grantor answers with for an opaque access token.
	writeBaselineJSON(w, http.StatusOK, baselineIntrospection{
		Active:    true,
		Scope:     t.scope,
		ClientID:  t.clientID,
		Subject:   t.subject,
		ExpiresAt: t.expires.Unix(),
		IssuedAt:  t.issuedAt.Unix(),
		Issuer:    BenchIssuer,
		Audience:  BenchIssuer, // every token's audience: no resource indicators here
		TokenType: "Bearer",
	})
}

// baselineIntrospection is an introspection response (RFC 7662 §2.2);
// the zero value is the inactive answer, {"active":false}.
type baselineIntrospection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	Audience  string `json:"aud,omitempty"`
	TokenType string `json:"token_type,omitempty"`
}

// authenticate checks client_secret_basic credentials, which are
// form-encoded before they are put in the header (RFC 6749 §2.3.1), and
// returns the client.
func (s *baseline) authenticate(r *http.Request) (*baselineClient, bool) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return nil, false
	}
	id, err1 := url.QueryUnescape(id)
	secret, err2 := url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	c, ok := s.clients[id]
	if !ok {
		return nil, false
	}
	return c, hmac.Equal(macSHA256(c.salt, []byte(secret)), c.digest)
}

func macSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// opaqueRandLen is the base64url length of the 256 random bits of an
// opaque credential.
const opaqueRandLen = 43

// newOpaque returns a new opaque credential and its signature, the key of
// its record.
func (s *baseline) newOpaque() (tok, sig string, err error) {
	var random [32]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", "", err
	}
	body := base64.RawURLEncoding.EncodeToString(random[:])
	sig = base64.RawURLEncoding.EncodeToString(macSHA256(s.key, []byte(body)))
	return body + "." + sig, sig, nil
}

// opaqueSignature returns the signature of tok when it is a credential
// this server minted: a forged or mistyped one fails here, in constant
// time, before any lookup.
func (s *baseline) opaqueSignature(tok string) (string, bool) {
	body, sig, ok := strings.Cut(tok, ".")
	if !ok || len(body) != opaqueRandLen {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return "", false
	}
	return sig, hmac.Equal(got, macSHA256(s.key, []byte(body)))
}

// putTokenLocked stores a token's record, and its signature under its
// grant so that the grant can be revoked. s.mu must be held.
func (s *baseline) putTokenLocked(sig string, t baselineToken) {
	s.tokens[sig] = t
	if t.grantID != "" {
		s.grants[t.grantID] = append(s.grants[t.grantID], sig)
	}
}

// revokeGrantLocked deletes every token of a grant, after the reuse of a
// refresh token or the replay of a code. s.mu must be held.
func (s *baseline) revokeGrantLocked(grantID string) {
	for _, sig := range s.grants[grantID] {
		delete(s.tokens, sig)
	}
	delete(s.grants, grantID)
}

// baselineTokenResponse is the successful token response (RFC 6749 §5.1).
type baselineTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// writeBaselineJSON writes v as the JSON answer; every answer may carry
// a credential or say something about one, so none is cached.
func writeBaselineJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache") // RFC 6749 §5.1, as both libraries do
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeBaselineError writes an error response (RFC 6749 §5.2).
func writeBaselineError(w http.ResponseWriter, status int, code string) {
	writeBaselineJSON(w, status, struct {
		Error string `json:"error"`
	}{code})
}

// writeBaselineInvalidClient answers a failed client authentication: 401
// with the scheme the client used, Basic (RFC 6749 §5.2).
func writeBaselineInvalidClient(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	writeBaselineError(w, http.StatusUnauthorized, "invalid_client")
}

// newGrantID returns a new grant's ID: 128 random bits, like Grantor's.
func newGrantID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
