package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grantor-dev/grantor/internal/urlpolicy"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// Subject types (OpenID Connect Core §8).
const (
	SubjectPublic   = "public"
	SubjectPairwise = "pairwise"
)

// Bounds of the sector identifier documents (Core §8.1) the OpenID
// Provider fetches.
const (
	maxSectorDocumentBytes = 64 << 10
	sectorCacheTTL         = time.Hour
	sectorRetryAfter       = time.Minute
	maxSectorCache         = 1024
	sectorFetchTimeout     = 5 * time.Second
)

// subjectType returns the client's subject type: its own, or the
// Provider's default.
func (o *Provider) subjectType(client *storage.Client) string {
	if client.SubjectType != "" {
		return client.SubjectType
	}
	return o.defaultSubjectType
}

// ClientSubject implements oauth2.SubjectMapper: the "sub" client sees of
// the user subject. For a pairwise client (Core §8.1) it is a keyed hash
// of the client's sector and the subject, so that clients of unrelated
// sectors get unrelated identifiers for one user, and one client always
// the same.
func (o *Provider) ClientSubject(ctx context.Context, client *storage.Client, subject string) (string, error) {
	switch o.subjectType(client) {
	case SubjectPublic:
		return subject, nil
	case SubjectPairwise:
	default:
		return "", fmt.Errorf("oidc: client %q has the unknown subject type %q", client.ID, client.SubjectType)
	}
	if len(o.cfg.PairwiseKey) == 0 {
		return "", fmt.Errorf("oidc: client %q has pairwise subjects, and Config.PairwiseKey is not set", client.ID)
	}
	sector, err := o.sector(ctx, client)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, o.cfg.PairwiseKey)
	mac.Write([]byte(sector))
	mac.Write([]byte{0})
	mac.Write([]byte(subject))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// errSector is the refusal of a pairwise client whose sector cannot be
// decided (Core §8.1).
var errSector = errors.New("oidc: the client's sector cannot be decided")

// sector returns a pairwise client's sector identifier (Core §8.1): the
// host of its sector_identifier_uri, once the document there lists every
// redirect URI of the client; else the one host of its redirect URIs; a
// client whose redirect URIs have no host (private-use schemes, RFC 8252
// §7.1) is a sector of its own.
func (o *Provider) sector(ctx context.Context, client *storage.Client) (string, error) {
	if raw := client.SectorIdentifierURI; raw != "" {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return "", fmt.Errorf("%w: client %q has a sector_identifier_uri that is not https", errSector, client.ID)
		}
		uris, err := o.sectors.redirectURIs(ctx, raw)
		if err != nil {
			return "", fmt.Errorf("oidc: client %q: the sector_identifier_uri could not be read: %w", client.ID, err)
		}
		for _, r := range client.RedirectURIs {
			if !slices.Contains(uris, r) {
				return "", fmt.Errorf("%w: client %q has a redirect URI its sector_identifier_uri does not list", errSector, client.ID)
			}
		}
		return strings.ToLower(u.Hostname()), nil
	}
	host := ""
	for _, r := range client.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil {
			return "", fmt.Errorf("%w: client %q has a malformed redirect URI", errSector, client.ID)
		}
		h := strings.ToLower(u.Hostname())
		switch {
		case h == "":
			continue
		case host == "":
			host = h
		case host != h:
			return "", fmt.Errorf("%w: client %q has redirect URIs of several hosts and no sector_identifier_uri", errSector, client.ID)
		}
	}
	if host == "" {
		return "client:" + client.ID, nil
	}
	return host, nil
}

// sectorDocuments fetches and caches sector identifier documents, with
// the SSRF guard of internal/urlpolicy.
type sectorDocuments struct {
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*sectorEntry
}

// sectorEntry is a fetched document, or a failure not to retry before
// retryAt.
type sectorEntry struct {
	sync.Mutex
	uris    []string
	err     error
	expires time.Time
}

func newSectorDocuments(client *http.Client, now func() time.Time) *sectorDocuments {
	return &sectorDocuments{client: client, now: now, entries: make(map[string]*sectorEntry)}
}

// redirectURIs returns the redirect URIs a sector identifier document
// lists: a JSON array of strings (Core §8.1).
func (s *sectorDocuments) redirectURIs(ctx context.Context, raw string) ([]string, error) {
	s.mu.Lock()
	e := s.entries[raw]
	if e == nil {
		if len(s.entries) >= maxSectorCache {
			now := s.now()
			for k, old := range s.entries {
				if old.TryLock() {
					if !now.Before(old.expires) {
						delete(s.entries, k)
					}
					old.Unlock()
				}
			}
		}
		e = &sectorEntry{}
		if len(s.entries) < maxSectorCache {
			s.entries[raw] = e
		}
	}
	s.mu.Unlock()

	e.Lock() // one fetch per document at a time
	defer e.Unlock()
	if !e.expires.IsZero() && s.now().Before(e.expires) {
		return e.uris, e.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The fetch serves every request of the client's users, not only the
	// one that happens to start it: a caller that goes away does not
	// cancel it, and it has a time limit of its own.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sectorFetchTimeout)
	defer cancel()
	e.uris, e.err = s.fetch(fctx, raw)
	if e.err != nil {
		e.expires = s.now().Add(sectorRetryAfter)
	} else {
		e.expires = s.now().Add(sectorCacheTTL)
	}
	return e.uris, e.err
}

func (s *sectorDocuments) fetch(ctx context.Context, raw string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, withoutQuery(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSectorDocumentBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxSectorDocumentBytes {
		return nil, fmt.Errorf("the document is larger than %d bytes", maxSectorDocumentBytes)
	}
	var uris []string
	if err := json.Unmarshal(body, &uris); err != nil {
		return nil, errors.New("the document is not a JSON array of URIs")
	}
	return uris, nil
}

// sectorClient returns the HTTP client of sector identifier documents.
func sectorClient(cfg Config) *http.Client {
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient
	}
	// No redirects: the document must be at the URL the client
	// registered, or an open redirect on a host would let any client claim
	// that host's sector (Core §8.1).
	return urlpolicy.NewClient(urlpolicy.ClientOptions{AllowPrivateAddresses: cfg.AllowPrivateAddresses,
		Timeout: sectorFetchTimeout, MaxRedirects: -1})
}

// subjectFor is ClientSubject, as an *oauth2.Error for the endpoints.
func (o *Provider) subjectFor(ctx context.Context, client *storage.Client, subject string) (string, error) {
	sub, err := o.ClientSubject(ctx, client, subject)
	switch {
	case errors.Is(err, errSector):
		return "", oauth2.NewError(oauth2.ErrUnauthorizedClient, "the client's pairwise sector is not valid").WithCause(err)
	case err != nil:
		return "", oauth2.NewError(oauth2.ErrTemporarilyUnavailable, "the subject could not be computed").WithCause(err)
	}
	return sub, nil
}
