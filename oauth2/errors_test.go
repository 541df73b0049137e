package oauth2

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorStatusByCode(t *testing.T) {
	cases := map[ErrorCode]int{
		ErrInvalidRequest:         400,
		ErrInvalidGrant:           400,
		ErrInvalidScope:           400,
		ErrUnauthorizedClient:     400,
		ErrUnsupportedGrantType:   400,
		ErrInvalidClient:          401,
		ErrServerError:            500,
		ErrTemporarilyUnavailable: 503,
	}
	for code, status := range cases {
		assert.Equal(t, status, NewError(code, "").HTTPStatus(), code)
	}
	assert.Equal(t, 429, (&Error{Code: ErrInvalidClient, Status: 429}).HTTPStatus())
}

func TestErrorIsAndUnwrap(t *testing.T) {
	cause := errors.New("disk on fire")
	err := fmt.Errorf("refreshing: %w", NewError(ErrInvalidGrant, "expired").WithCause(cause))
	assert.ErrorIs(t, err, ErrInvalidGrant)
	assert.NotErrorIs(t, err, ErrInvalidRequest)
	assert.ErrorIs(t, err, cause)
	var oe *Error
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "expired", oe.Description)
	assert.Contains(t, oe.Error(), "disk on fire", "the cause is in Error() for logs")
}

func TestWriteErrorNeverSendsTheCause(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, NewError(ErrInvalidGrant, "bad code").WithCause(errors.New("secret internal detail")))
	assert.NotContains(t, rec.Body.String(), "secret internal detail")
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "no-cache", rec.Header().Get("Pragma"))
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
}

func TestWriteErrorTurnsOtherErrorsIntoServerError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, errors.New("pq: relation tokens does not exist"))
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	var body map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "server_error", body["error"])
	assert.NotContains(t, rec.Body.String(), "relation")
}

// RFC 6749 §5.2: only %x20-21 / %x23-5B / %x5D-7E in error and
// error_description.
func TestErrorTextIsSanitized(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &Error{Code: "weird\"code", Description: "a \"quoted\" \\ line\r\nbreak é \x00 end", URI: "https://x.example/\"e"})
	var body map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "weirdcode", body["error"])
	assert.Equal(t, "a quoted  linebreak   end", body["error_description"])
	assert.Equal(t, "https://x.example/e", body["error_uri"])
	for _, s := range body {
		for _, c := range []byte(s) {
			assert.True(t, allowedErrorByte(c), "%q", c)
		}
	}
}

func TestWriteErrorCopiesHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &Error{Code: ErrInvalidClient, Header: http.Header{"Www-Authenticate": {`Basic realm="x"`}}})
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, `Basic realm="x"`, rec.Header().Get("WWW-Authenticate"))
}
