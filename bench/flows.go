package bench

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// authorizer does the authorization step of a code flow through a
// library's API, as an application does once the user has consented, and
// returns the code and the PKCE verifier of its challenge.
type authorizer func() (code, verifier string, err error)

// authorizationQuery returns the query of the authorization request every
// library approves (response_type=code, the bench client and its redirect
// URI, scope read, a state, a PKCE S256 challenge), and the verifier of
// the challenge.
func authorizationQuery() (url.Values, string, error) {
	verifier, err := randomSecret()
	if err != nil {
		return nil, "", err
	}
	state, err := randomSecret()
	if err != nil {
		return nil, "", err
	}
	challenge := sha256.Sum256([]byte(verifier))
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {benchClientID},
		"redirect_uri":          {BenchRedirectURI},
		"scope":                 {"read"},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}, verifier, nil
}

// codeExchangeRequests returns the Requests of the code exchange scenario:
// each redeems a code of its own from authorize.
func codeExchangeRequests(authorize authorizer, secret string) func(n int) ([]Request, error) {
	return func(n int) ([]Request, error) {
		reqs := make([]Request, n)
		for i := range reqs {
			code, verifier, err := authorize()
			if err != nil {
				return nil, err
			}
			reqs[i] = CodeExchangeRequest(benchClientID, secret, code, verifier)
		}
		return reqs, nil
	}
}

// refreshRequests returns the Requests of the refresh rotation scenario:
// each uses a refresh token of its own, from a code of authorize exchanged
// at the token endpoint of h.
func refreshRequests(authorize authorizer, h http.Handler, secret string) func(n int) ([]Request, error) {
	exchange := codeExchangeRequests(authorize, secret)
	return func(n int) ([]Request, error) {
		codes, err := exchange(n)
		if err != nil {
			return nil, err
		}
		reqs := make([]Request, n)
		for i, c := range codes {
			tok, err := fetchTokens(h, c)
			if err != nil {
				return nil, err
			}
			if tok.RefreshToken == "" {
				return nil, errors.New("the code exchange gave no refresh token")
			}
			reqs[i] = RefreshRequest(benchClientID, secret, tok.RefreshToken)
		}
		return reqs, nil
	}
}

// tokenAnswer is the part of a token endpoint answer the setup and the
// tests read: tokens (RFC 6749 §5.1, RFC 8693 §2.2.1) or an error (RFC
// 6749 §5.2, RFC 8628 §3.5).
type tokenAnswer struct {
	AccessToken     string `json:"access_token"`
	RefreshToken    string `json:"refresh_token"`
	TokenType       string `json:"token_type"`
	IssuedTokenType string `json:"issued_token_type"`
	Error           string `json:"error"`
}

// fetchTokens sends a token request to h and returns the tokens of its
// successful answer.
func fetchTokens(h http.Handler, r Request) (*tokenAnswer, error) {
	w := Serve(h, r)
	if w.Code != http.StatusOK {
		return nil, fmt.Errorf("token request: status %d: %s", w.Code, w.Body.Bytes())
	}
	var t tokenAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &t); err != nil {
		return nil, fmt.Errorf("token response %s: %v", w.Body.Bytes(), err)
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("token response without an access token: %s", w.Body.Bytes())
	}
	return &t, nil
}
