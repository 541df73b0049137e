package oauth2

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
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

// grantEndpoint is an Endpoint of a registered grant.
type grantEndpoint struct {
	Endpoint
	grantType string
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

// registerGrantExtras takes the endpoints and metadata members a grant
// handler brings, if it brings any.
func (p *Provider) registerGrantExtras(gt string, h GrantHandler) error {
	if ep, ok := h.(EndpointProvider); ok {
		for _, e := range ep.Endpoints() {
			if err := p.checkGrantEndpoint(e); err != nil {
				return fmt.Errorf("oauth2: grant type %q: endpoint %q: %w", gt, e.Path, err)
			}
			p.grantEndpoints = append(p.grantEndpoints, grantEndpoint{Endpoint: e, grantType: gt})
			if e.MetadataName != "" {
				p.metadataNames[e.MetadataName] = true
			}
		}
	}
	if mp, ok := h.(MetadataProvider); ok {
		for name, value := range mp.MetadataEntries() {
			if err := p.checkMetadataName(name); err != nil {
				return fmt.Errorf("oauth2: grant type %q: metadata member %q: %w", gt, name, err)
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
	if e.Path == "/.well-known" || strings.HasPrefix(e.Path, "/.well-known/") {
		// RFC 8615: the metadata document is there, for a root issuer.
		return errors.New("paths under /.well-known are not a grant's")
	}
	for _, own := range endpoints {
		if !own.wellKnown && own.path == e.Path {
			return errors.New("the Provider serves this path itself")
		}
	}
	for _, other := range p.grantEndpoints {
		if other.Path == e.Path {
			return fmt.Errorf("grant type %q serves this path already", other.grantType)
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
		return errors.New("another grant sets this member")
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
