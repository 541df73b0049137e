package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A caller that goes away while the sector document is fetched (a browser
// that closes its connection) does not leave a failure in the cache for
// every other user of the client.
func TestACancelledCallerDoesNotPoisonTheSectorCache(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		_, _ = w.Write([]byte(`["https://rp.example/cb"]`))
	}))
	defer srv.Close()
	s := newSectorDocuments(srv.Client(), time.Now)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.redirectURIs(ctx, srv.URL+"/doc")
		done <- err
	}()
	<-started
	cancel()       // the attacker hangs up while the fetch waits on the server
	close(release) // the server answers
	<-done
	uris, err := s.redirectURIs(context.Background(), srv.URL+"/doc")
	require.NoError(t, err, "a legitimate request afterwards")
	assert.Equal(t, []string{"https://rp.example/cb"}, uris)
}

// The sector document must be at the URL the client registered: a
// redirect (an open redirect on another host, say) is not followed.
func TestSectorDocumentRedirectsAreNotFollowed(t *testing.T) {
	var target *httptest.Server
	target = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, target.URL+"/doc", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(`["https://rp.example/cb"]`))
	}))
	defer target.Close()
	client := target.Client()
	cfg := Config{HTTPClient: nil, AllowPrivateAddresses: true}
	guarded := sectorClient(cfg)
	guarded.Transport = client.Transport // the test server's certificate, the guard's redirect policy
	s := newSectorDocuments(guarded, time.Now)
	_, err := s.redirectURIs(context.Background(), target.URL+"/redirect")
	assert.Error(t, err)
}
