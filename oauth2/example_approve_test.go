package oauth2_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// The authorization code flow: Grantor validates the authorization
// request and sends the browser to the application's login page; the
// application's consent page reads the pending request and approves or
// denies it; Grantor writes the redirect back to the client.
//
// README.md shows this example from the Provider down to "Try it".
func ExampleProvider_Approve() {
	store, hmacKey, mux := application() // as in the first example, with a client "web"
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://auth.example.com", Clients: store, Tokens: store, TokenKeys: [][]byte{hmacKey},
		Interactions:   store,    // pending requests, single use, bound to the browser by a cookie
		PushedRequests: store,    // enables PAR (RFC 9126) at /par
		LoginURL:       "/login", // Grantor redirects here with ?interaction=ID
		Grants: []oauth2.GrantFactory{
			grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/", provider.Handler())

	// Your consent page: show the client's name and the scopes...
	mux.HandleFunc("GET /consent", func(w http.ResponseWriter, r *http.Request) {
		pending, err := provider.PendingAuthorization(r, r.FormValue("interaction"))
		if err != nil { // unknown, expired, or started in another browser
			http.Error(w, "this sign-in link is no longer valid", http.StatusBadRequest)
			return
		}
		renderConsent(w, pending.Client.Name, pending.Scopes) // with a CSRF token
	})
	// ...and its answer.
	mux.HandleFunc("POST /consent", func(w http.ResponseWriter, r *http.Request) {
		id, user := r.FormValue("interaction"), currentUser(r) // after checking your CSRF token
		var err error
		if r.FormValue("decision") == "approve" {
			err = provider.Approve(w, r, id, oauth2.Approval{Subject: user.ID})
		} else {
			err = provider.Deny(w, r, id)
		}
		if err != nil {
			http.Error(w, "this sign-in link is no longer valid", http.StatusBadRequest)
		}
	})

	// Try it, as a browser: the client's authorization request, then the
	// consent page, then the user's approval.
	verifier, _ := pkce.GenerateVerifier()
	b := &browser{handler: mux}
	res := b.do(http.MethodGet, "/authorize?"+url.Values{
		"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://app.example.com/callback"},
		"scope": {"invoices:read"}, "state": {"xyz"},
		"code_challenge": {pkce.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
	}.Encode(), nil)
	login, _ := url.Parse(res.Header.Get("Location"))
	fmt.Println("authorize:", res.StatusCode, login.Path)
	// Your login page would log the user in, then show the consent page.
	interaction := login.Query().Get("interaction")
	res = b.do(http.MethodGet, "/consent?interaction="+url.QueryEscape(interaction), nil)
	page, _ := io.ReadAll(res.Body)
	fmt.Println("consent page:", res.StatusCode, string(page))
	res = b.do(http.MethodPost, "/consent", url.Values{"interaction": {interaction}, "decision": {"approve"}})
	back, _ := url.Parse(res.Header.Get("Location"))
	fmt.Println("approve:", res.StatusCode, back.Host+back.Path, back.Query().Get("state"),
		back.Query().Get("iss"), back.Query().Get("code") != "")
	// Output:
	// authorize: 303 /login
	// consent page: 200 Allow Invoice viewer: invoices:read?
	// approve: 303 app.example.com/callback xyz https://auth.example.com true
}

// application stands for the application's store, with one client
// registered, its token key and its mux.
func application() (*memory.Store, []byte, *http.ServeMux) {
	store := memory.New()
	err := store.PutClient(&storage.Client{ID: "web", Name: "Invoice viewer", TokenEndpointAuthMethod: "none",
		RedirectURIs: []string{"https://app.example.com/callback"},
		GrantTypes:   []string{"authorization_code", "refresh_token"}, Scopes: []string{"invoices:read"}})
	if err != nil {
		log.Fatal(err)
	}
	hmacKey := make([]byte, 32)
	rand.Read(hmacKey)
	return store, hmacKey, http.NewServeMux()
}

// renderConsent stands for the application's consent page.
func renderConsent(w http.ResponseWriter, clientName string, scopes []string) {
	fmt.Fprintf(w, "Allow %s: %s?", clientName, strings.Join(scopes, " "))
}

// user stands for the application's user accounts.
type user struct{ ID string }

// currentUser stands for the application's login session.
func currentUser(*http.Request) user { return user{ID: "alice"} }

// browser sends requests to a handler as a browser would, keeping cookies.
type browser struct {
	handler http.Handler
	cookies []*http.Cookie
}

// do sends one request to https://auth.example.com, with a form if not nil.
func (b *browser) do(method, path string, form url.Values) *http.Response {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, "https://auth.example.com"+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	b.cookies = append(b.cookies, rec.Result().Cookies()...)
	return rec.Result()
}
