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

// baseline is the floor of the client credentials scenario: a plain
// net/http handler with no library that does what any correct token
// endpoint must do and nothing more. It parses the form, checks the Basic
// credentials against a stored HMAC-SHA-256 digest of the secret in
// constant time, checks the grant type and scope, mints a token of 256
// random bits signed with HMAC-SHA-256, stores the signature (not the
// token) in a map under a mutex, and writes the JSON response with
// Cache-Control: no-store (and Pragma: no-cache, as RFC 6749 §5.1 asks and
// both libraries do). It is written plainly, the way a careful
// programmer would write it in an afternoon, without pools or other
// tuning: it is the cost of the work, not of a library.
type baseline struct {
	clients  map[string]*baselineClient // read-only after construction
	tokenKey []byte                     // signs access tokens

	mu     sync.Mutex
	tokens map[string]baselineToken // by signature
}

// baselineClient is a registered client: its secret is kept only as
// HMAC-SHA-256(salt, secret).
type baselineClient struct {
	salt   []byte
	digest []byte
	scopes map[string]bool
}

// baselineToken is the record of an issued access token.
type baselineToken struct {
	clientID string
	scope    string
	expires  time.Time
}

// baselineLifetime is the access token lifetime of the baseline, as of the
// libraries' defaults.
const baselineLifetime = time.Hour

// NewBaseline returns the baseline server.
func NewBaseline() (*Server, error) {
	secret, err := randomSecret()
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	tokenKey := make([]byte, 32)
	for _, b := range [][]byte{salt, tokenKey} {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
	}
	s := &baseline{
		clients: map[string]*baselineClient{benchClientID: {
			salt:   salt,
			digest: macSHA256(salt, []byte(secret)),
			scopes: map[string]bool{"read": true, "write": true},
		}},
		tokenKey: tokenKey,
		tokens:   make(map[string]baselineToken),
	}
	mux := http.NewServeMux()
	mux.Handle("POST /token", s)
	return &Server{Handler: mux, ClientID: benchClientID, ClientSecret: secret}, nil
}

func macSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// ServeHTTP answers a client credentials token request (RFC 6749 §4.4).
func (s *baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeBaselineError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	clientID, ok := s.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		writeBaselineError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeBaselineError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	scope := r.PostForm.Get("scope")
	for _, sc := range strings.Fields(scope) {
		if !s.clients[clientID].scopes[sc] {
			writeBaselineError(w, http.StatusBadRequest, "invalid_scope")
			return
		}
	}

	var random [32]byte
	if _, err := rand.Read(random[:]); err != nil {
		writeBaselineError(w, http.StatusInternalServerError, "server_error")
		return
	}
	body := base64.RawURLEncoding.EncodeToString(random[:])
	sig := base64.RawURLEncoding.EncodeToString(macSHA256(s.tokenKey, []byte(body)))
	s.mu.Lock()
	s.tokens[sig] = baselineToken{clientID: clientID, scope: scope, expires: time.Now().Add(baselineLifetime)}
	s.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache") // RFC 6749 §5.1, as both libraries do
	_ = json.NewEncoder(w).Encode(tokenResponse{
		AccessToken: body + "." + sig,
		TokenType:   "Bearer",
		ExpiresIn:   int64(baselineLifetime / time.Second),
		Scope:       scope,
	})
}

// authenticate checks client_secret_basic credentials, which are
// form-encoded before they are put in the header (RFC 6749 §2.3.1), and
// returns the client's ID.
func (s *baseline) authenticate(r *http.Request) (string, bool) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return "", false
	}
	id, err1 := url.QueryUnescape(id)
	secret, err2 := url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return "", false
	}
	c, ok := s.clients[id]
	if !ok {
		return "", false
	}
	return id, hmac.Equal(macSHA256(c.salt, []byte(secret)), c.digest)
}

// tokenResponse is the successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// writeBaselineError writes an error response (RFC 6749 §5.2).
func writeBaselineError(w http.ResponseWriter, status int, code string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{code})
}
