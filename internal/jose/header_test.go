package jose

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadHeader(t *testing.T) {
	h, err := ReadHeader([]byte(`{"alg":"ES256","kid":"k1","typ":"JWT","cty":"JWT","jwk":{"kty":"EC"},"jku":"https://x","x5c":["AA"],"x5u":"https://y","ext":1}`), 4)
	require.NoError(t, err)
	assert.Equal(t, Header{Alg: "ES256", KID: "k1", HasKID: true, Typ: "JWT", HasTyp: true, HasCty: true}, h)
	h, err = ReadHeader([]byte(`{"alg":"EdDSA","kid":"","typ":""}`), 4)
	require.NoError(t, err)
	assert.True(t, h.HasKID && h.HasTyp, "an empty kid or typ is present")

	for header, reason := range map[string]string{
		`[]`:                                "header is not a JSON object without duplicate members",
		`{"alg":"ES256","alg":"none"}`:      "header is not a JSON object without duplicate members",
		`{"alg":"ES256"`:                    "header is not a JSON object without duplicate members",
		`{"a":[[[[[[1]]]]]],"alg":"ES256"}`: "header is not a JSON object without duplicate members",
		`{}`:                                "alg header is missing",
		`{"kid":"k"}`:                       "alg header is missing",
		`{"alg":1}`:                         "alg header is not a string",
		`{"alg":"none"}`:                    "unsigned JWS",
		`{"alg":"NoNe"}`:                    "unsigned JWS",
		`{"alg":""}`:                        "unsigned JWS",
		`{"alg":"ES256","kid":7}`:           "kid header is not a string",
		`{"alg":"ES256","typ":null}`:        "typ header is not a string",
		`{"alg":"ES256","crit":["exp"]}`:    "crit header is not accepted",
		`{"alg":"ES256","b64":false}`:       "b64 header is not accepted",
		`{"alg":"ES256","zip":"DEF"}`:       "zip header is not accepted",
		`{"alg":"ES256","enc":"A256GCM"}`:   "enc header is not accepted",
	} {
		_, err := ReadHeader([]byte(header), 4)
		require.Error(t, err, header)
		assert.Equal(t, reason, HeaderReason(err), header)
		assert.False(t, strings.Contains(err.Error(), "ES256"), "the error quotes no input: %s", err)
	}
	assert.Equal(t, "header is invalid", HeaderReason(assert.AnError))
}

// Whatever a header holds, ReadHeader answers without panicking, and what
// it accepts has an alg that signs.
func FuzzReadHeader(f *testing.F) {
	for _, seed := range []string{`{"alg":"ES256","kid":"k"}`, `{"alg":"none"}`, `{"crit":["b64"],"alg":"RS256"}`, `{"alg":"ES256","typ":"at+jwt","cty":"JWT"}`, `{`, `[]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHeader(b, 8)
		if err != nil {
			assert.NotEqual(t, "header is invalid", HeaderReason(err))
			return
		}
		assert.NotEmpty(t, h.Alg)
		assert.False(t, strings.EqualFold(h.Alg, "none"))
	})
}
