package oauth2_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// loadSecret stands in for reading the sealing secret from a file or a
// secret manager.
func loadSecret() []byte {
	secret := make([]byte, 32)
	rand.Read(secret)
	return secret
}

// Instances of one authorization server share their token keys through
// the store: each opens them with the same secret, and a token that one
// issues verifies at every other, and after a restart. Here two Providers
// over one memory store stand for two processes over one database.
//
// README.md shows this example from "db :=" down to "Try it".
func ExampleConfig_tokenKeySet() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	db := memory.New()     // in production: the postgres.Store every instance shares
	secret := loadSecret() // 32+ random bytes, from a file or a secret manager: never the database
	keyCfg := token.StoredKeysConfig{Store: db, Secrets: [][]byte{secret},
		Interval: 30 * 24 * time.Hour, PublishAhead: time.Minute, RetireAfter: 31 * 24 * time.Hour}
	macs, err := token.OpenStoredMACKeys(ctx, keyCfg) // creates the first key on first use
	if err != nil {
		log.Fatal(err) // a wrong secret or a key altered in the database stops here
	}
	go macs.Run(ctx) // reload every 10 s, rotate once for the cluster
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://auth.example.com", Clients: db, Tokens: db, Limiter: db,
		TokenKeySet: macs.MACKeySet(),
		Grants:      []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Try it: a second instance, and a token of the first introspected
	// at the second.
	secondKeys, err := token.OpenStoredMACKeys(ctx, keyCfg)
	if err != nil {
		log.Fatal(err)
	}
	second, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://auth.example.com", Clients: db, Tokens: db, Limiter: db,
		TokenKeySet: secondKeys.MACKeySet(),
		Grants:      []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	})
	if err != nil {
		log.Fatal(err)
	}
	clientSecret, hash, _ := oauth2.GenerateClientSecret(nil)
	_ = db.PutClient(&storage.Client{ID: "billing", SecretHash: hash,
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"invoices:read"}})
	req := httptest.NewRequest(http.MethodPost, provider.TokenEndpoint(),
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("billing", clientSecret)
	rec := httptest.NewRecorder()
	provider.Handler().ServeHTTP(rec, req)
	var answer struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &answer)
	record, err := second.ActiveToken(ctx, answer.AccessToken, storage.AccessToken)
	fmt.Println(record != nil && record.ClientID == "billing", err)
	// Output: true <nil>
}
