package dpop

import (
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rfc7638Key is the example key of RFC 7638 §3.1.
const rfc7638Key = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`

// TestThumbprintRFC7638 computes the thumbprint of RFC 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	k, err := jwk.ParseKey([]byte(rfc7638Key))
	require.NoError(t, err)
	tp, err := Thumbprint(k)
	require.NoError(t, err)
	assert.Equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", tp)

	var raw any
	require.NoError(t, k.Raw(&raw))
	tp2, err := PublicKeyThumbprint(raw)
	require.NoError(t, err)
	assert.Equal(t, tp, tp2)

	// The verifier's parsed key agrees.
	pk, desc := parseProofKey([]byte(rfc7638Key), MaxRSAKeyBits)
	require.Empty(t, desc)
	assert.Equal(t, tp, pk.thumbprint)
}

// TestThumbprintOfPrivateKey: a private key has its public key's
// thumbprint (RFC 7638 §3.2.1), so a client computes dpop_jkt from
// either.
func TestThumbprintOfPrivateKey(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		s := newSigner(t, alg)
		a, err := PublicKeyThumbprint(s.priv)
		require.NoError(t, err)
		b, err := PublicKeyThumbprint(s.priv.Public())
		require.NoError(t, err)
		assert.Equal(t, a, b, alg)
		assert.NoError(t, CheckThumbprint(a))
	}
	_, err := PublicKeyThumbprint("not a key")
	assert.Error(t, err)
	_, err = Thumbprint(nil)
	assert.Error(t, err)
}

// TestCheckThumbprint checks the syntax of dpop_jkt (RFC 9449 §10).
func TestCheckThumbprint(t *testing.T) {
	assert.NoError(t, CheckThumbprint("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"))
	for name, bad := range map[string]string{
		"empty":                "",
		"too short":            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X",
		"too long":             "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs0",
		"padded":               "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X=",
		"standard base64":      "NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs",
		"non-zero final bits":  "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xt",
		"whitespace":           "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X ",
		"SHA-1 length, base64": strings.Repeat("A", 27),
	} {
		assert.ErrorIs(t, CheckThumbprint(bad), ErrMalformedThumbprint, name)
	}
}

func TestSameThumbprint(t *testing.T) {
	a := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	assert.True(t, SameThumbprint(a, a))
	assert.False(t, SameThumbprint(a, a[:42]+"t"))
	assert.False(t, SameThumbprint("", ""))
	assert.False(t, SameThumbprint(a, ""))
}
