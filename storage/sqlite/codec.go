package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/grantor-dev/grantor/storage"
)

// How values are kept in columns:
//   - times as Unix microseconds (an INTEGER, so UTC by construction), the
//     zero time as NULL; finer digits are truncated;
//   - string lists and claims as JSON text, nil as NULL (an empty list is
//     "[]", so nil and empty stay apart);
//   - maps of strings (a code's or token's Extensions) as a JSON object,
//     none (nil or empty) as NULL;
//   - authorization requests as a JSON object with stable field names of
//     this package's own (requestJSON), not those of the Go type.
//
// JSON text holds only UTF-8: encoding/json would replace each invalid
// byte of a string with U+FFFD, and the record would come back changed.
// A list or request holding such a string is refused instead (checkText);
// in claims, which come back as JSON anyway, the replacement stands.
// Other columns keep any bytes.

// checkText returns an error naming field if one of strs is not valid
// UTF-8, which a JSON column cannot keep exactly.
func checkText(field string, strs ...string) error {
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%s is not valid UTF-8, which its JSON column cannot keep", field)
		}
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// timeArg returns t as a column value.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeVal returns the time a column holds.
func timeVal(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// listArg returns l, the field named field, as a column value.
func listArg(field string, l []string) (any, error) {
	if l == nil {
		return nil, nil
	}
	if err := checkText(field, l...); err != nil {
		return nil, err
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// listVal returns the list a column holds.
func listVal(s sql.NullString) ([]string, error) {
	if !s.Valid {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s.String), &l); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	return l, nil
}

// claimsArg returns m as a column value.
func claimsArg(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		// The message of a json error names a type, never a value.
		return nil, fmt.Errorf("encode claims: %w", err)
	}
	return string(b), nil
}

// claimsVal returns the claims a column holds. Numbers come back as
// float64, as from any JSON document.
func claimsVal(s sql.NullString) (map[string]any, error) {
	if !s.Valid {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	return m, nil
}

// stringMapArg returns m, the field named field, as a column value: NULL
// when it is empty, so that a record without one costs nothing.
func stringMapArg(field string, m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	for k, v := range m {
		if err := checkText(field, k, v); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", field, err)
	}
	return string(b), nil
}

// stringMapVal returns the map of strings a column holds, nil for NULL.
func stringMapVal(s sql.NullString) (map[string]string, error) {
	if !s.Valid {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	return m, nil
}

// requestJSON is the stored form of a storage.AuthorizationRequest. Its
// field names are part of the schema: renaming a Go field must not change
// them.
type requestJSON struct {
	ClientID            string   `json:"client_id"`
	RedirectURI         string   `json:"redirect_uri"`
	RedirectURIGiven    bool     `json:"redirect_uri_given,omitempty"`
	ResponseType        string   `json:"response_type,omitempty"`
	ResponseMode        string   `json:"response_mode,omitempty"`
	State               string   `json:"state,omitempty"`
	Scopes              []string `json:"scopes,omitempty"`
	Resources           []string `json:"resources,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	Prompt              []string `json:"prompt,omitempty"`
	PushedKey           string   `json:"pushed_key,omitempty"`
	DPoPKeyThumbprint   string   `json:"dpop_jkt,omitempty"`
	// Parameters may hold a member of an empty value: the map is left
	// out when it is empty, never one of its members.
	Parameters map[string]string `json:"parameters,omitempty"`
}

// requestArg returns r as a column value.
func requestArg(r *storage.AuthorizationRequest) (string, error) {
	for name, strs := range r.TextFields() {
		if err := checkText(name, strs...); err != nil {
			return "", err
		}
	}
	b, err := json.Marshal(requestJSON{
		ClientID:            r.ClientID,
		RedirectURI:         r.RedirectURI,
		RedirectURIGiven:    r.RedirectURIGiven,
		ResponseType:        r.ResponseType,
		ResponseMode:        r.ResponseMode,
		State:               r.State,
		Scopes:              r.Scopes,
		Resources:           r.Resources,
		CodeChallenge:       r.CodeChallenge,
		CodeChallengeMethod: r.CodeChallengeMethod,
		Prompt:              r.Prompt,
		PushedKey:           r.PushedKey,
		DPoPKeyThumbprint:   r.DPoPKeyThumbprint,
		Parameters:          r.Parameters,
	})
	if err != nil {
		return "", fmt.Errorf("encode request: %w", err)
	}
	return string(b), nil
}

// requestVal returns the request a column holds.
func requestVal(s string) (storage.AuthorizationRequest, error) {
	var j requestJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return storage.AuthorizationRequest{}, fmt.Errorf("decode request: %w", err)
	}
	return storage.AuthorizationRequest{
		ClientID:            j.ClientID,
		RedirectURI:         j.RedirectURI,
		RedirectURIGiven:    j.RedirectURIGiven,
		ResponseType:        j.ResponseType,
		ResponseMode:        j.ResponseMode,
		State:               j.State,
		Scopes:              j.Scopes,
		Resources:           j.Resources,
		CodeChallenge:       j.CodeChallenge,
		CodeChallengeMethod: j.CodeChallengeMethod,
		Prompt:              j.Prompt,
		PushedKey:           j.PushedKey,
		DPoPKeyThumbprint:   j.DPoPKeyThumbprint,
		Parameters:          j.Parameters,
	}, nil
}
