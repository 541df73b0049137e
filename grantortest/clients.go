package grantortest

import (
	"testing"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// RegisterClient registers c as a confidential client (RFC 6749 §2.1) and
// returns its secret: a fresh generated one, whose hash becomes
// c.SecretHash, unless c comes with a SecretHash of its own (then the
// secret is ""). With no TokenEndpointAuthMethod the client authenticates
// with client_secret_basic. A registration the store refuses fails the
// test.
func (s *Server) RegisterClient(t testing.TB, c storage.Client) (secret string) {
	t.Helper()
	if c.TokenEndpointAuthMethod == oauth2.AuthMethodNone {
		t.Fatalf("grantortest: RegisterClient registers confidential clients; use RegisterPublicClient for %q", c.ID)
	}
	if c.SecretHash == "" {
		var err error
		if secret, c.SecretHash, err = oauth2.GenerateClientSecret(nil); err != nil {
			t.Fatalf("grantortest: %v", err)
		}
	}
	s.putClient(t, c)
	return secret
}

// RegisterPublicClient registers c as a public client (RFC 6749 §2.1),
// which has no secret and authenticates with the method "none": a native
// or browser application. A client with a SecretHash fails the test.
func (s *Server) RegisterPublicClient(t testing.TB, c storage.Client) {
	t.Helper()
	if c.SecretHash != "" {
		t.Fatalf("grantortest: a public client has no secret; use RegisterClient for %q", c.ID)
	}
	c.TokenEndpointAuthMethod = oauth2.AuthMethodNone
	s.putClient(t, c)
}

func (s *Server) putClient(t testing.TB, c storage.Client) {
	t.Helper()
	if c.ID == ClientID {
		t.Fatalf("grantortest: the client_id %q is the Server's own", ClientID)
	}
	if err := s.Store.PutClient(&c); err != nil {
		t.Fatalf("grantortest: registering client %q: %v", c.ID, err)
	}
}
