package main

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two servers over one database are one server to a guesser: the failed
// client authentications it spreads over both count against one budget
// (Config.AuthFailureLimit, 10 a minute per client and address), because
// the Provider counts in the store (SQLite and PostgreSQL implement
// storage.Limiter). In memory each process would count alone.
func TestTwoServersOverOneStoreShareTheThrottles(t *testing.T) {
	for _, storeFlag := range everyStore(t) {
		if storeFlag == "memory" {
			continue // nothing to share
		}
		t.Run(strings.SplitN(storeFlag, ":", 2)[0], func(t *testing.T) {
			// A client of its own per run: the PostgreSQL database of the
			// tests is shared, and so are its budgets.
			id := "guessed-" + rand.Text()
			clients := filepath.Join(t.TempDir(), "clients.json")
			require.NoError(t, os.WriteFile(clients, []byte(`[{"client_id": "`+id+`", "client_secret": "`+e2eSecret+`",
				"grant_types": ["client_credentials"], "scope": "read"}]`), 0o600))
			// A clock that stands still: the budget is counted in aligned
			// windows of a minute, and the attempts must all fall in one.
			now := time.Now()
			clock := func() time.Time { return now }
			in := startInstanceWith(t, storeFlag, options{tokens: "opaque", clients: clients, clock: clock})
			a := in.addr
			b := startInstanceWith(t, storeFlag, options{issuer: "http://" + a, tokens: "opaque", clients: clients, clock: clock}).addr
			cc := url.Values{"grant_type": {"client_credentials"}}
			for i := range 10 {
				addr := a
				if i%2 == 1 {
					addr = b
				}
				r := postForm(t, "http://"+addr+"/token", cc, id, "wrong-"+rand.Text())
				require.Equal(t, http.StatusUnauthorized, r.status, "attempt %d: %v", i+1, r.body)
			}
			// The eleventh, at either server, is over the one budget.
			for _, addr := range []string{a, b} {
				r := postForm(t, "http://"+addr+"/token", cc, id, "wrong-again")
				assert.Equal(t, http.StatusTooManyRequests, r.status, "%v", r.body)
				assert.NotEmpty(t, r.header.Get("Retry-After"))
			}
		})
	}
}
