package oauth2

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
)

// readForm reads the body of a POST request to one of the Provider's
// endpoints (RFC 6749 §3.2): the method must be POST, the body
// application/x-www-form-urlencoded and within the size limit. Parameters
// are taken from the body only; a request that carries any in its URL query
// is refused rather than half-read, so that a client that put a secret in
// a URL learns of it. A repeated parameter is invalid_request, except resource (RFC 8707); an empty
// value counts as absent and is removed.
func (p *Provider) readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &Error{Code: ErrInvalidRequest, Description: "the method must be POST", Status: http.StatusMethodNotAllowed}
	}
	if r.URL.RawQuery != "" {
		return nil, NewError(ErrInvalidRequest, "parameters must be sent in the request body, not in the URL")
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, NewError(ErrInvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.maxRequestBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &Error{Code: ErrInvalidRequest, Description: "the request body is too large", Status: http.StatusRequestEntityTooLarge}
		}
		return nil, NewError(ErrInvalidRequest, "the request body could not be read").WithCause(err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, NewError(ErrInvalidRequest, "the request body is not valid form encoding")
	}
	for name, values := range form {
		if len(values) > 1 && !repeatable[name] {
			return nil, NewError(ErrInvalidRequest, "parameter "+safeName(name)+" is repeated")
		}
		if slices.Contains(values, "") {
			if len(values) > 1 {
				return nil, NewError(ErrInvalidRequest, "parameter "+safeName(name)+" has an empty value")
			}
			delete(form, name)
		}
	}
	return form, nil
}

// repeatable are the parameters that may appear more than once: resource
// (RFC 8707 §2).
var repeatable = map[string]bool{"resource": true}

// safeName returns name quoted for an error description when it is a
// plausible parameter name, and a neutral word otherwise, so that no
// attacker-chosen text is echoed.
func safeName(name string) string {
	if len(name) == 0 || len(name) > 40 {
		return "(unnamed)"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "(unnamed)"
		}
	}
	return name
}
