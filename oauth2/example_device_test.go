package oauth2_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// The device authorization grant (RFC 8628): a device without a browser
// gets a user code at /device_authorization and polls the token endpoint;
// the user types the code on the application's verification page, which
// looks it up, shows the client and the scopes, and approves or denies.
//
// README.md shows this example from the Provider down to "Try it".
func ExampleProvider_ApproveDevice() {
	store, hmacKey, mux := deviceApplication() // as in the first example, with a client "tv"
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://auth.example.com", Clients: store, Tokens: store, TokenKeys: [][]byte{hmacKey},
		Interactions: store, // the verification page's interactions, bound to the browser
		// The codes each logged-in user tries are counted too, not only
		// each browser's (a cookie) and address's.
		UserCodeAccount: func(r *http.Request) string { return currentUser(r).ID },
		Grants: []oauth2.GrantFactory{
			// Brings /device_authorization, advertised in the metadata.
			grant.DeviceCode(store, grant.DeviceCodeOptions{VerificationURI: "https://auth.example.com/device"}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/", provider.Handler())

	// Your verification page: the user, logged in, types the code (or
	// follows verification_uri_complete, which fills it in)...
	mux.HandleFunc("POST /device", func(w http.ResponseWriter, r *http.Request) {
		pending, err := provider.PendingDeviceAuthorization(w, r, r.FormValue("user_code")) // after your CSRF check
		var throttled *oauth2.ThrottledError
		switch {
		case errors.As(err, &throttled): // too many codes tried (RFC 8628 §5.1)
			w.Header().Set("Retry-After", throttled.RetryAfterSeconds())
			http.Error(w, "too many attempts; try again later", http.StatusTooManyRequests)
		case errors.Is(err, oauth2.ErrStorageFailure):
			w.Header().Set("Retry-After", "5")
			http.Error(w, "please try again in a moment", http.StatusServiceUnavailable)
		case err != nil: // unknown, expired or used code
			http.Error(w, "this code is not valid; check it and try again", http.StatusBadRequest)
		default: // never approve without asking (RFC 8628 §5.4)
			renderDeviceConsent(w, pending.ID, pending.Client.Name, pending.Scopes, pending.UserCode)
		}
	})
	// ...and confirms, or refuses.
	mux.HandleFunc("POST /device/decision", func(w http.ResponseWriter, r *http.Request) {
		id, user := r.FormValue("interaction"), currentUser(r) // after checking your CSRF token
		var err error
		if r.FormValue("decision") == "approve" {
			err = provider.ApproveDevice(r, id, oauth2.Approval{Subject: user.ID})
		} else {
			err = provider.DenyDevice(r, id)
		}
		if err != nil {
			http.Error(w, "this request is no longer valid", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "Done. Return to your device.")
	})

	// Try it: the device asks for codes; the user, in a browser, types the
	// code and approves; the device polls.
	device := &browser{handler: mux}
	res := device.do(http.MethodPost, "/device_authorization", url.Values{"client_id": {"tv"}, "scope": {"videos:watch"}})
	var codes struct{ DeviceCode, UserCode, VerificationURI string }
	decodeJSON(res, &codes)
	fmt.Println("device authorization:", res.StatusCode, codes.VerificationURI)

	user := &browser{handler: mux}
	res = user.do(http.MethodPost, "/device", url.Values{"user_code": {strings.ToLower(codes.UserCode)}})
	page, _ := io.ReadAll(res.Body)
	interaction, question, _ := strings.Cut(string(page), " ")
	fmt.Println("verification page:", res.StatusCode, question == "Allow Living Room TV: videos:watch? Code "+codes.UserCode)
	res = user.do(http.MethodPost, "/device/decision", url.Values{"interaction": {interaction}, "decision": {"approve"}})
	page, _ = io.ReadAll(res.Body)
	fmt.Println("decision:", res.StatusCode, string(page))

	poll := url.Values{"grant_type": {grant.GrantTypeDeviceCode}, "device_code": {codes.DeviceCode}, "client_id": {"tv"}}
	var answer struct{ Error, TokenType string }
	decodeJSON(device.do(http.MethodPost, "/token", poll), &answer)
	fmt.Println("poll:", answer.TokenType)
	decodeJSON(device.do(http.MethodPost, "/token", poll), &answer)
	fmt.Println("poll again:", answer.Error)
	// Output:
	// device authorization: 200 https://auth.example.com/device
	// verification page: 200 true
	// decision: 200 Done. Return to your device.
	// poll: Bearer
	// poll again: invalid_grant
}

// deviceApplication is application with a public client "tv" registered
// for the device grant.
func deviceApplication() (*memory.Store, []byte, *http.ServeMux) {
	store, hmacKey, mux := application()
	err := store.PutClient(&storage.Client{ID: "tv", Name: "Living Room TV", TokenEndpointAuthMethod: "none",
		GrantTypes: []string{grant.GrantTypeDeviceCode, "refresh_token"}, Scopes: []string{"videos:watch"}})
	if err != nil {
		log.Fatal(err)
	}
	return store, hmacKey, mux
}

// renderDeviceConsent stands for the application's confirmation page: it
// shows the client, the scopes and the code, for the user to compare with
// the device's screen, and posts the decision with the interaction id.
func renderDeviceConsent(w http.ResponseWriter, interaction, clientName string, scopes []string, userCode string) {
	fmt.Fprintf(w, "%s Allow %s: %s? Code %s", interaction, clientName, strings.Join(scopes, " "), userCode)
}

// decodeJSON decodes a JSON response body whose members are snake_case
// into v's fields, case and underscores aside.
func decodeJSON(res *http.Response, v any) {
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		log.Fatal(err)
	}
	flat := make(map[string]any, len(m))
	for k, x := range m {
		flat[strings.ReplaceAll(k, "_", "")] = x
	}
	b, _ := json.Marshal(flat)
	if err := json.Unmarshal(b, v); err != nil {
		log.Fatal(err)
	}
}
