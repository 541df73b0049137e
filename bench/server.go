package bench

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

// Server is one token endpoint under test.
type Server struct {
	// Handler serves POST /token.
	Handler http.Handler
	// ClientID and ClientSecret are the credentials of the one registered
	// client, which may use the client credentials grant with the scopes
	// "read" and "write". The server keeps only a hash of the secret.
	ClientID, ClientSecret string
}

// Contender is one way to build a Server for a scenario.
type Contender struct {
	// Name names the contender in benchmark names and tables.
	Name string
	// New builds a fresh server with an empty token store.
	New func() (*Server, error)
	// MaxN, when positive, marks a contender too slow for time-based
	// runs (fosite's default bcrypt hasher): a go test benchmark skips it
	// when b.N is larger, and Compare runs it a fixed, small number of
	// iterations.
	MaxN int
}

// Contender names, used for the ratio columns of the table.
const (
	NameBaseline     = "baseline"
	NameGrantor      = "grantor"
	NameFositeFast   = "fosite-fast"
	NameFositeBCrypt = "fosite-bcrypt"
)

// benchClientID is the registered client of every server.
const benchClientID = "bench-client"

// ClientCredentialsOpaque is the scenario "client credentials with opaque
// tokens": the client authenticates with client_secret_basic and gets an
// opaque access token for the scope "read".
func ClientCredentialsOpaque() []Contender {
	return []Contender{
		{Name: NameBaseline, New: NewBaseline},
		{Name: NameGrantor, New: NewGrantor},
		{Name: NameFositeFast, New: func() (*Server, error) { return NewFosite(SHA256Hasher{}) }},
		// 20 bcrypt comparisons at cost 12 take about 5 s.
		{Name: NameFositeBCrypt, New: func() (*Server, error) { return NewFosite(nil) }, MaxN: 20},
	}
}

// randomSecret returns 256 random bits, base64url-encoded without padding.
func randomSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
