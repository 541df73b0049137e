package storage_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

func TestSize(t *testing.T) {
	req := storage.AuthorizationRequest{
		ClientID: "c", RedirectURI: "ru", RedirectURIGiven: true, ResponseMode: "rm3", State: "st4_",
		Scopes: []string{"a", "bb"}, Resources: []string{"ccc"}, CodeChallenge: "cc", CodeChallengeMethod: "m",
		Prompt: []string{"p"}, PushedKey: "pk",
	}
	const reqSize = 1 + 2 + 3 + 4 + (1 + 2) + 3 + 2 + 1 + 1 + 2

	t.Run("a request counts its strings and its lists' elements", func(t *testing.T) {
		assert.Equal(t, reqSize, req.Size())
		assert.Equal(t, 0, (&storage.AuthorizationRequest{}).Size())
	})

	t.Run("an interaction adds its key and browser binding", func(t *testing.T) {
		i := storage.Interaction{Key: "key", Request: req, BrowserBinding: "bb"}
		assert.Equal(t, 3+reqSize+2, i.Size())
	})

	t.Run("a pushed request adds its key", func(t *testing.T) {
		r := storage.PushedRequest{Key: "key", Request: req}
		assert.Equal(t, 3+reqSize, r.Size())
	})

	t.Run("a code adds its key, grant ID, subject, scopes and claims as JSON", func(t *testing.T) {
		c := storage.AuthorizationCode{Key: "key", GrantID: "g", Request: req, Subject: "sub",
			Scopes: []string{"ab"}, Claims: map[string]any{"a": "<"}}
		n, err := c.Size()
		require.NoError(t, err)
		// {"a":"\u003c"}: encoding/json escapes < for HTML.
		assert.Equal(t, 3+1+reqSize+3+2+len(`{"a":"\u003c"}`), n)
	})

	t.Run("a token counts its strings, lists and claims as JSON", func(t *testing.T) {
		tok := storage.Token{Key: "key", Kind: storage.RefreshToken, GrantID: "g", ClientID: "cl", Subject: "sub",
			Scopes: []string{"a", "b"}, Audience: []string{"aud"}, Claims: map[string]any{"n": 1.5}}
		n, err := tok.Size()
		require.NoError(t, err)
		assert.Equal(t, 3+1+2+3+2+3+len(`{"n":1.5}`), n)
	})

	t.Run("nil claims count nothing, empty ones their {}", func(t *testing.T) {
		tok := storage.Token{Key: "k"}
		n, err := tok.Size()
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		tok.Claims = map[string]any{}
		n, err = tok.Size()
		require.NoError(t, err)
		assert.Equal(t, 3, n)
	})

	t.Run("claims that cannot be encoded as JSON are an error", func(t *testing.T) {
		for name, v := range map[string]any{"NaN": math.NaN(), "a channel": make(chan int), "a function": func() {}} {
			_, err := (&storage.Token{Key: "k", Claims: map[string]any{"c": v}}).Size()
			assert.Error(t, err, name)
			_, err = (&storage.AuthorizationCode{Key: "k", Claims: map[string]any{"c": v}}).Size()
			assert.Error(t, err, name)
		}
	})
}

// CheckSize refuses a long key and a large record with ErrTooLarge, and
// passes on the error of the record's Size.
func TestCheckSize(t *testing.T) {
	assert.NoError(t, storage.CheckSize("x", storage.MaxRecordBytes, nil, strings.Repeat("k", storage.MaxKeyBytes)))
	assert.ErrorIs(t, storage.CheckSize("x", storage.MaxRecordBytes+1, nil), storage.ErrTooLarge)
	assert.ErrorIs(t, storage.CheckSize("x", 1, nil, "k", strings.Repeat("k", storage.MaxKeyBytes+1)), storage.ErrTooLarge)
	sizeErr := errors.New("claims not encodable")
	assert.ErrorIs(t, storage.CheckSize("x", 1, sizeErr), sizeErr)
}

// TextFields yields every string field of a request, once.
func TestTextFields(t *testing.T) {
	r := storage.AuthorizationRequest{ClientID: "c", RedirectURI: "r", ResponseType: "code id_token",
		ResponseMode: "m", State: "s", Scopes: []string{"a", "b"}, Resources: []string{"x"}, CodeChallenge: "cc",
		CodeChallengeMethod: "S256", Prompt: []string{"login"}, PushedKey: "p", DPoPKeyThumbprint: "jkt",
		Parameters: map[string]string{"nonce": "n-0S6_WzA2Mj", "max_age": "3600", "empty": ""}}
	total := 0
	for _, vs := range r.TextFields() {
		for _, v := range vs {
			total += len(v)
		}
	}
	assert.Equal(t, r.Size(), total, "the fields TextFields yields are those Size counts")
}
