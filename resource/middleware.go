package resource

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/grantor-dev/grantor/token"
)

// MaxTokenLength is the longest access token, in bytes, that Middleware
// passes to its Validator; a longer one is invalid_token without further
// work.
const MaxTokenLength = 16 << 10

// DefaultMaxFormBytes is the default of Config.MaxFormBytes: 64 KiB, room
// for an access_token parameter of MaxTokenLength and a small form
// besides (RFC 6750 §2.2).
const DefaultMaxFormBytes = 64 << 10

// Config configures Middleware.
type Config struct {
	// Validator decides whether a token is acceptable. Required: without
	// one every request is answered 503.
	Validator Validator

	// Realm is the realm of the WWW-Authenticate challenges (RFC 6750
	// §3; RFC 9110 §11.5). Characters that cannot appear in a quoted
	// string are dropped. Optional.
	Realm string

	// Audience, when set, is this resource server's identifier, which
	// the token's audience must contain (RFC 9068 §4; RFC 8707 §2; RFC
	// 9700 §2.3): a token issued for another API is invalid_token here.
	// A JWTVerifier checks its own Audience already; set this for
	// Introspection and Store, whose callers may otherwise accept a token
	// meant for another resource.
	Audience string

	// AllowFormToken also accepts the token in an
	// application/x-www-form-urlencoded body, as the access_token
	// parameter (RFC 6750 §2.2). Off by default. When on, Middleware
	// parses the form of such requests (a POST, PUT or PATCH), up to
	// MaxFormBytes, so the handler finds it in r.PostForm and not in
	// r.Body. When off, the body is never read and a token there is not
	// seen.
	AllowFormToken bool

	// MaxFormBytes bounds the form body Middleware reads when
	// AllowFormToken is on. The body is read before the token is known,
	// from anyone; a larger one is answered 400 invalid_request (RFC 6750
	// §3.1), refused unread when its Content-Length says so, and else
	// read no further than one byte past the limit. Zero or negative means
	// DefaultMaxFormBytes (64 KiB). A value below MaxTokenLength plus the
	// rest of the form refuses long tokens sent in forms.
	MaxFormBytes int64

	// AllowQueryToken also accepts the token as the access_token query
	// parameter (RFC 6750 §2.3), which RFC 9700 §2.5 advises against:
	// URLs end up in logs and Referer headers. Off by default, and then a
	// request with an access_token query parameter is refused with 400
	// invalid_request.
	AllowQueryToken bool

	// DPoP, when set, also accepts DPoP-bound access tokens, presented
	// with the DPoP scheme and a proof of their key (RFC 9449 §7). Nil:
	// only bearer tokens are accepted, and a bound token is refused.
	DPoP *DPoP

	// Logger receives validator outages (never a token). Nil discards.
	Logger *slog.Logger
}

// Middleware returns an HTTP middleware that protects an API with bearer
// tokens (RFC 6750).
//
// It reads the token from the Authorization header (RFC 6750 §2.1): one
// header, the scheme "Bearer" in any case (RFC 9110 §11.1), then one or
// more spaces and one token of the b64token syntax. The form body and the
// query are searched only when AllowFormToken or AllowQueryToken is set
// (§2.2, §2.3). Then:
//
//   - no token: 401 with `WWW-Authenticate: Bearer realm="..."` and no
//     error code (§3.1), plus `DPoP algs="..."` when DPoP is on, which
//     is also the answer to another scheme, such as Basic (or DPoP when
//     Config.DPoP is nil);
//   - with Config.DPoP, a token in `Authorization: DPoP <token>` must be
//     DPoP-bound and come with a valid proof (RFC 9449 §4.3, §7.1) by its
//     key, with ath: else 401 with `WWW-Authenticate: DPoP algs="...",
//     error="invalid_dpop_proof"` (or "use_dpop_nonce" and a DPoP-Nonce
//     header, §9), or invalid_token for a token not bound to a DPoP key;
//   - a malformed Authorization header, two of them, a token in more than
//     one place, an access_token query parameter that is not allowed, or
//     (with AllowFormToken) a form body larger than MaxFormBytes: 400 with
//     error="invalid_request" (§3.1), the code RFC 6750 gives a malformed
//     request, rather than 413, so that every refusal of the request's
//     shape carries the same challenge;
//   - a token the Validator refuses, a token for another Audience, and a
//     sender-constrained token (a "cnf" claim, such as a DPoP-bound one)
//     presented as a bearer token (RFC 9449 §7.2): 401 with
//     error="invalid_token" and an error_description that never quotes the
//     token;
//   - a Validator that cannot decide (ErrUnavailable, or any error not
//     wrapping ErrInvalidToken or token.ErrInvalid): 503, logged;
//   - otherwise the token goes into the request's context (FromContext)
//     and the next handler runs.
//
// Error responses have no body and carry Cache-Control: no-store. A
// request with a query token is answered with Cache-Control: private
// (§2.3) unless the handler sets it otherwise.
func Middleware(cfg Config) func(http.Handler) http.Handler {
	m := &middleware{cfg: cfg, realm: sanitizeQuoted(cfg.Realm)}
	m.logger = cfg.Logger
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.serve(w, r, next)
		})
	}
}

type middleware struct {
	cfg    Config
	realm  string
	logger *slog.Logger
}

func (m *middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	tok, fromQuery, dpopScheme, desc := m.extract(w, r)
	switch {
	case desc != "":
		m.challenge(w, http.StatusBadRequest, "invalid_request", desc)
		return
	case tok == "":
		m.challenge(w, http.StatusUnauthorized, "", "")
		return
	case len(tok) > MaxTokenLength:
		m.tokenChallenge(w, dpopScheme, "the access token is too long")
		return
	}
	if m.cfg.Validator == nil {
		m.logger.ErrorContext(r.Context(), "resource: Middleware has no Validator")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	t, err := m.cfg.Validator.Validate(r.Context(), tok)
	if err == nil && t == nil {
		err = invalidToken(descInvalid, nil)
	}
	if err != nil {
		if errors.Is(err, ErrInvalidToken) || errors.Is(err, token.ErrInvalid) {
			desc := descInvalid
			var ite *InvalidTokenError
			if errors.As(err, &ite) && ite.Description != "" {
				desc = ite.Description
			}
			m.tokenChallenge(w, dpopScheme, desc)
			return
		}
		if r.Context().Err() == nil {
			m.logger.WarnContext(r.Context(), "resource: the access token could not be validated", "error", err)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if m.cfg.Audience != "" && !slices.Contains(t.Audience, m.cfg.Audience) {
		m.tokenChallenge(w, dpopScheme, descAudience)
		return
	}
	switch {
	case dpopScheme:
		if !m.checkProof(w, r, tok, t) {
			return
		}
	case t.bound():
		// RFC 9449 §7.2: no downgrade of a bound token to a bearer one.
		m.challenge(w, http.StatusUnauthorized, "invalid_token", descBound)
		return
	}
	if fromQuery {
		w.Header().Set("Cache-Control", "private")
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, &ctxValue{token: t, realm: m.realm})
	next.ServeHTTP(w, r.WithContext(ctx))
}

// extract finds the request's bearer token (RFC 6750 §2). It returns the
// token ("" when there is none) and whether it came from the query, or a
// description of why the request is malformed. w is told to close the
// connection when a form body is too large.
func (m *middleware) extract(w http.ResponseWriter, r *http.Request) (tok string, fromQuery, dpopScheme bool, bad string) {
	var found []string
	switch hs := r.Header.Values("Authorization"); len(hs) {
	case 0:
	case 1:
		scheme, rest, _ := strings.Cut(hs[0], " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			t := strings.TrimLeft(rest, " ")
			if !isB64Token(t) {
				return "", false, false, "the Authorization header is not Bearer followed by one token"
			}
			found = append(found, t)
		case strings.EqualFold(scheme, "DPoP") && m.cfg.DPoP != nil:
			// RFC 9449 §7.1: the token68 of the DPoP scheme.
			t := strings.TrimLeft(rest, " ")
			if !isB64Token(t) {
				return "", false, false, "the Authorization header is not DPoP followed by one token"
			}
			found, dpopScheme = append(found, t), true
		}
		// Another scheme (Basic, or DPoP when it is off) carries no
		// token this middleware takes.
	default:
		return "", false, false, "more than one Authorization header"
	}
	if vs, ok := r.URL.Query()["access_token"]; ok {
		if !m.cfg.AllowQueryToken {
			return "", false, false, "the access token must be sent in the Authorization header"
		}
		if len(vs) != 1 || vs[0] == "" {
			return "", false, false, "the access_token query parameter must appear once"
		}
		found = append(found, vs[0])
		fromQuery = true
	}
	if m.cfg.AllowFormToken && r.Method != http.MethodGet && r.Method != http.MethodHead && isForm(r) {
		// The body comes from anyone: read no more of it than a form
		// with a token needs, not the 10 MB ParseForm would.
		limit := m.cfg.MaxFormBytes
		if limit <= 0 {
			limit = DefaultMaxFormBytes
		}
		if r.ContentLength > limit {
			return "", false, false, "the form body is larger than " + strconv.FormatInt(limit, 10) + " bytes"
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if err := r.ParseForm(); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return "", false, false, "the form body is larger than " + strconv.FormatInt(limit, 10) + " bytes"
			}
			return "", false, false, "the form body cannot be parsed"
		}
		if vs, ok := r.PostForm["access_token"]; ok {
			if len(vs) != 1 || vs[0] == "" {
				return "", false, false, "the access_token form parameter must appear once"
			}
			found = append(found, vs[0])
		}
	}
	switch len(found) {
	case 0:
		return "", false, false, ""
	case 1:
		return found[0], fromQuery, dpopScheme, ""
	}
	return "", false, false, "the access token was sent in more than one way"
}

// isForm reports whether r has a single-part form body (RFC 6750 §2.2).
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// isB64Token reports whether s matches the b64token rule of RFC 6750
// §2.1: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// challenge writes an error response with its WWW-Authenticate header
// (RFC 6750 §3): realm, then error, error_description and scope when not
// empty.
func challenge(w http.ResponseWriter, status int, realm, code, desc, scope string, others ...string) {
	h := w.Header()
	h.Set("WWW-Authenticate", authChallenge("Bearer", realm, code, desc, scope))
	for _, o := range others {
		h.Add("WWW-Authenticate", o)
	}
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// authChallenge is the value of a Bearer challenge (RFC 6750 §3), or of a
// DPoP challenge with the same parameters (RFC 9449 §7.1).
func authChallenge(scheme, realm, code, desc, scope string) string {
	var b strings.Builder
	b.WriteString(scheme)
	sep := " "
	param := func(name, value string) {
		if value == "" {
			return
		}
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(value)
		b.WriteByte('"')
		sep = ", "
	}
	param("realm", realm)
	param("error", code)
	param("error_description", sanitizeQuoted(desc))
	param("scope", sanitizeQuoted(scope))
	return b.String()
}

// sanitizeQuoted keeps the characters RFC 6750 §3 allows in realm,
// error_description and scope values: %x20-21 / %x23-5B / %x5D-7E, so no
// quote, backslash, control or non-ASCII character.
func sanitizeQuoted(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if !allowedQuoted(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if allowedQuoted(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func allowedQuoted(c byte) bool {
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'
}
