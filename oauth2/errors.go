package oauth2

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// ErrorCode is an OAuth error code (RFC 6749 §5.2, §4.1.2.1 and the
// registries of later RFCs). An ErrorCode is itself an error, so that
// errors.Is(err, oauth2.ErrInvalidGrant) finds an *Error of that code
// anywhere in a chain.
type ErrorCode string

// Error returns the code.
func (c ErrorCode) Error() string { return string(c) }

// Error codes of RFC 6749 §5.2 and §4.1.2.1, RFC 7009 §2.2.1, RFC 8707,
// RFC 9101 §6 and OpenID Connect Core §3.1.2.6 (login_required and the
// like, which OAuth clients understand alike).
const (
	ErrInvalidRequest          ErrorCode = "invalid_request"
	ErrInvalidClient           ErrorCode = "invalid_client"
	ErrInvalidGrant            ErrorCode = "invalid_grant"
	ErrUnauthorizedClient      ErrorCode = "unauthorized_client"
	ErrUnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	ErrInvalidScope            ErrorCode = "invalid_scope"
	ErrInvalidTarget           ErrorCode = "invalid_target"
	ErrAccessDenied            ErrorCode = "access_denied"
	ErrUnsupportedResponseType ErrorCode = "unsupported_response_type"
	ErrUnsupportedTokenType    ErrorCode = "unsupported_token_type"
	ErrServerError             ErrorCode = "server_error"
	ErrLoginRequired           ErrorCode = "login_required"
	ErrConsentRequired         ErrorCode = "consent_required"
	ErrInteractionRequired     ErrorCode = "interaction_required"
	ErrInvalidRequestURI       ErrorCode = "invalid_request_uri"
	ErrRequestNotSupported     ErrorCode = "request_not_supported"
	ErrTemporarilyUnavailable  ErrorCode = "temporarily_unavailable"
)

// Error codes of the device authorization grant's token endpoint (RFC
// 8628 §3.5).
const (
	// ErrAuthorizationPending: the user has not decided yet; poll again.
	ErrAuthorizationPending ErrorCode = "authorization_pending"
	// ErrSlowDown: the client polled too soon; it must wait five more
	// seconds between polls from now on.
	ErrSlowDown ErrorCode = "slow_down"
	// ErrExpiredToken: the device code has expired; start again.
	ErrExpiredToken ErrorCode = "expired_token"
)

// Error is an OAuth protocol error. It knows its RFC code, the description
// and URI sent to the client, its HTTP status, and the cause behind it.
//
// The cause is for errors.Is/As and for the server's log; it is never sent
// to the client. The description is sent: it must never hold a secret, a
// token or unescaped input, and [WriteError] strips characters that RFC 6749
// §5.2 does not allow in it.
type Error struct {
	// Code is the RFC error code.
	Code ErrorCode
	// Description is a short, human-readable explanation for the client
	// developer ("error_description").
	Description string
	// URI optionally points to a page about the error ("error_uri").
	URI string
	// Status is the HTTP status. Zero means the status of the code:
	// 401 for invalid_client, 500 for server_error, 503 for
	// temporarily_unavailable, 400 otherwise.
	Status int
	// Cause is the underlying error, if any. It is never sent.
	Cause error
	// Header holds extra response headers, such as WWW-Authenticate.
	Header http.Header
}

// NewError returns an *Error with the given code and description.
func NewError(code ErrorCode, description string) *Error {
	return &Error{Code: code, Description: description}
}

// Error returns the code and description, and the cause after a colon.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is the ErrorCode of e.
func (e *Error) Is(target error) bool {
	code, ok := target.(ErrorCode)
	return ok && code == e.Code
}

// withStatus returns a copy of e with another HTTP status.
func (e *Error) withStatus(status int) *Error {
	c := *e
	c.Status = status
	return &c
}

// WithCause returns a copy of e whose cause is err.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.Cause = err
	return &c
}

// HTTPStatus returns the status to answer with: Status when set, otherwise
// the status RFC 6749 §5.2 and its successors give the code.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	switch e.Code {
	case ErrInvalidClient:
		return http.StatusUnauthorized
	case ErrServerError:
		return http.StatusInternalServerError
	case ErrTemporarilyUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

// errorBody is the JSON error response of RFC 6749 §5.2.
type errorBody struct {
	Error       ErrorCode `json:"error"`
	Description string    `json:"error_description,omitempty"`
	URI         string    `json:"error_uri,omitempty"`
}

// AsError returns err as an *Error. An error that is not one, or does not
// wrap one, becomes server_error with a generic description, so that no
// internal detail reaches the client.
func AsError(err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	return &Error{Code: ErrServerError, Description: "internal error", Cause: err}
}

// WriteError writes err as a JSON error response (RFC 6749 §5.2) with
// Cache-Control: no-store. It is the one place protocol errors are written.
// Errors that are not *Error are written as server_error without detail.
func WriteError(w http.ResponseWriter, err error) {
	oe := AsError(err)
	h := w.Header()
	for k, vs := range oe.Header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(oe.HTTPStatus())
	_ = json.NewEncoder(w).Encode(errorBody{
		Error:       ErrorCode(sanitizeErrorText(string(oe.Code))),
		Description: sanitizeErrorText(oe.Description),
		URI:         sanitizeErrorText(oe.URI),
	})
}

// sanitizeErrorText keeps only the characters RFC 6749 §5.2 allows in
// "error" and "error_description" (%x20-21 / %x23-5B / %x5D-7E): no quote,
// no backslash, no control character and nothing outside ASCII.
func sanitizeErrorText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !allowedErrorByte(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if allowedErrorByte(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func allowedErrorByte(c byte) bool {
	return c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}
