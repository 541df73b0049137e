package urlpolicy

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckTLS(t *testing.T) {
	for _, ok := range []string{"https://as.example/jwks", "https://as.example:8443/x", "http://127.0.0.1:8080/x",
		"http://localhost/x", "http://LOCALHOST:1/x", "http://[::1]:9/x", "http://127.1.2.3/x"} {
		assert.NoError(t, CheckTLS(ok), ok)
	}
	for _, bad := range []string{"", "as.example/jwks", "http://as.example/jwks", "ftp://as.example/x",
		"https://user:pw@as.example/x", "http://127.0.0.1.evil.example/x", "http://localhost.evil.example/x",
		"https:///x", "://x", "http://[::2]/x"} {
		assert.ErrorIs(t, CheckTLS(bad), ErrNotSecure, bad)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for _, h := range []string{"localhost", "Localhost", "127.0.0.1", "127.255.0.9", "::1"} {
		assert.True(t, IsLoopbackHost(h), h)
	}
	for _, h := range []string{"", "127a0b0c1", "127.0.0.1.evil.example", "10.0.0.1", "::2", "localhost.example"} {
		assert.False(t, IsLoopbackHost(h), h)
	}
}
