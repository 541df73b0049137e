package oauth2

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Endpoint is an endpoint a grant brings with it, such as the device
// authorization endpoint of RFC 8628 §3.1. While the grant is registered,
// Handler serves it below the issuer's path, like the Provider's own
// endpoints, and the metadata document advertises its URL under
// MetadataName.
type Endpoint struct {
	// Path is the endpoint's path below the issuer's path, such as
	// "/device_authorization": a "/" and then segments of letters,
	// digits, "-", "_", "." and "~", none "." or "..". It must not be
	// one of the Provider's own paths or another grant's.
	Path string
	// Handler serves the endpoint. Required.
	Handler http.Handler
	// MetadataName is the metadata member (RFC 8414 §2) that advertises
	// the endpoint's URL, such as "device_authorization_endpoint".
	// Empty advertises nothing. It must not be a member the Provider sets
	// itself or another grant's.
	MetadataName string
}

// EndpointProvider is implemented by a GrantHandler that brings endpoints
// of its own. NewProvider calls Endpoints once, when it registers the
// grant, and checks what it returns.
type EndpointProvider interface {
	Endpoints() []Endpoint
}

// MetadataProvider is implemented by a GrantHandler that adds members to
// the metadata document (RFC 8414 §2), such as a list of supported values.
// NewProvider calls MetadataEntries once, when it registers the grant: the
// names must not be members the Provider sets itself or another grant's,
// and the values must encode as JSON.
type MetadataProvider interface {
	MetadataEntries() map[string]any
}

// grantEndpoint is an Endpoint of a registered grant or feature.
type grantEndpoint struct {
	Endpoint
	owner string // "grant type \"…\"" or "feature …"
}

// providerMetadataNames are the members of the metadata document the
// Provider sets itself: the json names of Metadata's fields.
var providerMetadataNames = func() map[string]bool {
	names := make(map[string]bool)
	t := reflect.TypeFor[Metadata]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names[name] = true
		}
	}
	return names
}()

// registerExtras takes the endpoints and metadata members a grant handler
// or a feature (owner, as errors name it) brings, if it brings any.
func (p *Provider) registerExtras(owner string, h any) error {
	if ep, ok := h.(EndpointProvider); ok {
		for _, e := range ep.Endpoints() {
			if err := p.checkGrantEndpoint(e); err != nil {
				return fmt.Errorf("oauth2: %s: endpoint %q: %w", owner, e.Path, err)
			}
			p.grantEndpoints = append(p.grantEndpoints, grantEndpoint{Endpoint: e, owner: owner})
			if e.MetadataName != "" {
				p.metadataNames[e.MetadataName] = true
			}
		}
	}
	if mp, ok := h.(MetadataProvider); ok {
		for name, value := range mp.MetadataEntries() {
			if err := p.checkMetadataName(name); err != nil {
				return fmt.Errorf("oauth2: %s: metadata member %q: %w", owner, name, err)
			}
			if p.metadataExtra == nil {
				p.metadataExtra = make(map[string]any)
			}
			p.metadataExtra[name] = value
			p.metadataNames[name] = true
		}
	}
	return nil
}

// checkGrantEndpoint checks an endpoint a grant brings.
func (p *Provider) checkGrantEndpoint(e Endpoint) error {
	if isNil(e.Handler) {
		return errors.New("no Handler")
	}
	if !validEndpointPath(e.Path) {
		return errors.New(`the path must be "/" and segments of letters, digits, "-", "_", "." and "~"`)
	}
	if e.Path == MetadataPath || strings.HasPrefix(e.Path, MetadataPath+"/") {
		// RFC 8414 §3.1: the metadata document is there, for a root
		// issuer. Other well-known paths below the issuer's path, such as
		// OpenID Connect Discovery's, may be a feature's.
		return errors.New("the metadata document's path is not a grant's")
	}
	for _, own := range endpoints {
		if !own.wellKnown && own.path == e.Path {
			return errors.New("the Provider serves this path itself")
		}
	}
	for _, other := range p.grantEndpoints {
		if other.Path == e.Path {
			return fmt.Errorf("%s serves this path already", other.owner)
		}
	}
	if e.MetadataName != "" {
		return p.checkMetadataName(e.MetadataName)
	}
	return nil
}

// checkMetadataName checks a metadata member name a grant brings.
func (p *Provider) checkMetadataName(name string) error {
	switch {
	case name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "":
		return errors.New("a metadata member name is lower-case letters, digits and underscores")
	case providerMetadataNames[name]:
		return errors.New("the Provider sets this member itself")
	case p.metadataNames[name]:
		return errors.New("another grant or feature sets this member")
	}
	return nil
}

// validEndpointPath reports whether path is "/" followed by segments of
// unreserved characters (RFC 3986 §2.3), none empty, "." or "..": a path
// written one way only.
func validEndpointPath(path string) bool {
	if len(path) < 2 || path[0] != '/' || len(path) > 255 {
		return false
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		if strings.Trim(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~") != "" {
			return false
		}
	}
	return true
}

// ClientRequest is a request from an authenticated client to an endpoint
// a grant brings (EndpointProvider), as ReadClientRequest returns it.
type ClientRequest struct {
	// Client is the authenticated client.
	Client *storage.Client
	// Form holds the body parameters, checked as the token endpoint's
	// are (TokenRequest.Form): bounded, none repeated but resource, empty
	// values removed, client credentials taken out.
	Form url.Values
	// Now is the time of the request on the Provider's clock.
	Now time.Time
	// HTTPRequest is the underlying request. Its body has been read.
	HTTPRequest *http.Request
}

// ReadClientRequest reads a request to an endpoint a grant brings the way
// the Provider reads requests to its token endpoint, and authenticates its
// client: the method must be POST and the body a form within
// Config.MaxRequestBytes, whose parameters are bounded and checked (see
// MaxParameters); the client authenticates by its registered method, and
// a public client names itself with client_id (RFC 6749 §2.3). endpointURL
// is the endpoint's URL (EndpointURL), the audience a client assertion may
// name when the Provider accepts endpoint URLs there.
//
// Its errors are *Error values with the status to answer (405, 413, 401
// invalid_client with the other methods' WWW-Authenticate challenge, 429,
// 503): write them with WriteErrorResponse.
func (p *Provider) ReadClientRequest(w http.ResponseWriter, r *http.Request, endpointURL string) (*ClientRequest, error) {
	form, err := p.readForm(w, r)
	if err != nil {
		return nil, err
	}
	client, err := p.authenticateClient(r.Context(), r, form, endpointURL)
	if err != nil {
		return nil, err
	}
	return &ClientRequest{Client: client, Form: form, Now: p.clock(), HTTPRequest: r}, nil
}

// EndpointURL returns the URL of the endpoint at path below the issuer:
// the issuer followed by path, as the metadata document advertises an
// Endpoint of a grant.
func (p *Provider) EndpointURL(path string) string { return p.issuer + path }

// WriteErrorResponse writes err as the JSON error response of RFC 6749
// §5.2, as the token endpoint writes its own: an *Error as it is (a 401
// with a WWW-Authenticate challenge), any other error as server_error.
// What the client must not see (the cause) goes to the Provider's log.
func (p *Provider) WriteErrorResponse(w http.ResponseWriter, r *http.Request, err error) {
	p.writeError(w, r, err)
}

// WriteJSONResponse writes v as a JSON response with the given status and
// the headers of a response that carries a credential: Cache-Control:
// no-store and Pragma: no-cache (RFC 6749 §5.1).
func WriteJSONResponse(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, "no-store", v)
}

// ClientThrottle is a budget of requests per client that ThrottleClient
// counts against.
type ClientThrottle struct {
	// Name names the budget, such as the endpoint's: budgets of different
	// names are counted apart.
	Name string
	// Limit is how many requests a budget allows within Window. Zero or
	// less counts nothing.
	Limit int
	// Window is the length of the budget's window (storage.Limiter: the
	// windows are aligned). Zero means a minute. For requests that each
	// store a record, a window as long as the record's life bounds how
	// many records one budget keeps at once.
	Window time.Duration
	// Code and Description are the error of a refused request. An empty
	// Code means invalid_request.
	Code        ErrorCode
	Description string
}

// ThrottleClient counts a request of client against t, and refuses it
// with 429 and Retry-After beyond t.Limit requests within t.Window. A
// confidential client has a budget of its own, which only it can spend; a
// public client, which anyone can name, has one per client address
// (Config.ClientAddress), so that a third party cannot spend its budget.
// Call it once the client is authenticated and before the request does any
// work worth limiting, such as storing a record (RFC 9126 §2.3 and RFC
// 8628 §5.2 ask for such limits).
func (p *Provider) ThrottleClient(r *http.Request, client *storage.Client, t ClientThrottle) error {
	if t.Limit <= 0 {
		return nil
	}
	ctx := r.Context()
	addr := ""
	if client.IsPublic() {
		addr = boundAddress(p.clientAddress(r))
	}
	now := p.clock()
	n, reset, err := p.limiter.Take(ctx, budgetKey(t.Name, client.ID, addr), cmp.Or(t.Window, time.Minute), now)
	if err != nil {
		return StorageError("the request could not be counted", err)
	}
	if n > int64(t.Limit) {
		if n == int64(t.Limit)+1 {
			p.logger.LogAttrs(ctx, slog.LevelWarn, "requests throttled", slog.String("budget", safeName(t.Name)),
				slog.String("client_id", client.ID), slog.Int("limit", t.Limit))
		}
		return tooManyRequests(cmp.Or(t.Code, ErrInvalidRequest), t.Description, reset.Sub(now))
	}
	return nil
}
