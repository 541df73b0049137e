package storage

import (
	"encoding/json"
	"fmt"
	"iter"
)

// MaxRecordBytes is the size of the largest record a store accepts in one
// write. A token record, interaction, authorization code or pushed request
// whose Size is larger is refused with an error wrapping [ErrTooLarge],
// and nothing is written (of a batch of tokens,
// nothing at all). Every store of Grantor enforces it, in memory as in a
// database, so that what one request can make the server write is bounded
// whichever store keeps it, and a record one store accepts every other
// accepts too.
//
// A record's size is what any encoding of it must at least hold: the
// bytes of its strings (its key, IDs and subject, the strings of its
// authorization request, the elements of its lists and the names and values
// of its string maps) plus the length of
// its claims encoded as JSON by encoding/json. Times, flags and kinds
// count nothing. A store's own encoding may be larger by a bounded factor
// (JSON escapes, field names).
//
// The Provider's own bounds on request parameters keep real records far
// below it: a typical interaction is a few hundred bytes. Clients, which
// the application writes itself, are not bounded.
const MaxRecordBytes = 64 << 10

// MaxKeyBytes is the length of the longest key a store accepts: a
// record's Key, a token's or code's GrantID, a replay key. A record with a
// longer one is refused with an error wrapping [ErrTooLarge], and nothing
// is written. Keys are index entries, which databases bound (PostgreSQL's
// B-tree takes about 2,700 bytes); Grantor's own keys are digests of 43
// bytes and grant IDs of 16, and a replay key is a client ID and a jti.
const MaxKeyBytes = 1 << 10

// Size returns the size of the request as part of a record (see
// [MaxRecordBytes]): the bytes of its strings and of its lists' elements.
func (r *AuthorizationRequest) Size() int {
	return len(r.ClientID) + len(r.RedirectURI) + len(r.ResponseMode) + len(r.State) +
		len(r.CodeChallenge) + len(r.CodeChallengeMethod) + len(r.PushedKey) + len(r.DPoPKeyThumbprint) +
		listSize(r.Scopes) + listSize(r.Resources) + listSize(r.Prompt) +
		len(r.ResponseType) + mapSize(r.Parameters)
}

// Size returns the size of the interaction that stores compare with
// [MaxRecordBytes].
func (i *Interaction) Size() int {
	return len(i.Key) + i.Request.Size() + len(i.BrowserBinding) + len(i.DeviceAuthorizationKey)
}

// Size returns the size of the pushed request that stores compare with
// [MaxRecordBytes].
func (r *PushedRequest) Size() int {
	return len(r.Key) + r.Request.Size()
}

// Size returns the size of the code record that stores compare with
// [MaxRecordBytes], its claims counted as their JSON encoding. It returns
// an error if the claims cannot be encoded as JSON, which no store can
// then keep.
func (c *AuthorizationCode) Size() (int, error) {
	claims, err := claimsSize(c.Claims)
	return len(c.Key) + len(c.GrantID) + c.Request.Size() + len(c.Subject) + listSize(c.Scopes) + claims +
		mapSize(c.Extensions), err
}

// Size returns the size of the token record that stores compare with
// [MaxRecordBytes], its claims counted as their JSON encoding. It returns
// an error if the claims cannot be encoded as JSON, which no store can
// then keep.
func (t *Token) Size() (int, error) {
	claims, err := claimsSize(t.Claims)
	return len(t.Key) + len(t.GrantID) + len(t.ClientID) + len(t.Subject) + len(t.KeyThumbprint) +
		listSize(t.Scopes) + listSize(t.Audience) + claims + mapSize(t.Extensions), err
}

// mapSize returns the bytes of the names and values of m.
func mapSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// listSize returns the bytes of the elements of l.
func listSize(l []string) int {
	n := 0
	for _, s := range l {
		n += len(s)
	}
	return n
}

// claimsSize returns the length of the JSON encoding of m; nil claims
// count nothing.
func claimsSize(m map[string]any) (int, error) {
	if m == nil {
		return 0, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		// The message of a json error names a type, never a value.
		return 0, fmt.Errorf("storage: claims cannot be encoded as JSON: %w", err)
	}
	return len(b), nil
}

// CheckSize is what a store calls before it writes a record (a what, such
// as "interaction") of size n, as the record's Size reports it with
// sizeErr, and with the given keys: it returns sizeErr if not nil, and an
// error wrapping [ErrTooLarge] for a key longer than [MaxKeyBytes] or a
// record larger than [MaxRecordBytes]; otherwise nil. Every store of
// Grantor calls it, so that a record one store takes every other takes
// too.
func CheckSize(what string, n int, sizeErr error, keys ...string) error {
	if sizeErr != nil {
		return fmt.Errorf("%s: %w", what, sizeErr)
	}
	for _, k := range keys {
		if len(k) > MaxKeyBytes {
			return fmt.Errorf("%s with a key of %d bytes (at most %d): %w", what, len(k), MaxKeyBytes, ErrTooLarge)
		}
	}
	if n > MaxRecordBytes {
		return fmt.Errorf("%s of %d bytes (at most %d): %w", what, n, MaxRecordBytes, ErrTooLarge)
	}
	return nil
}

// TextFields yields each string field of the request, by name, with its
// values (one for a string, the elements for a list, the names and values
// for a map), for a store that must check what its columns can keep before
// a write.
func (r *AuthorizationRequest) TextFields() iter.Seq2[string, []string] {
	return func(yield func(string, []string) bool) {
		for _, f := range [...]struct {
			name string
			strs []string
		}{
			{"Request.ClientID", []string{r.ClientID}},
			{"Request.RedirectURI", []string{r.RedirectURI}},
			{"Request.ResponseType", []string{r.ResponseType}},
			{"Request.ResponseMode", []string{r.ResponseMode}},
			{"Request.State", []string{r.State}},
			{"Request.Scopes", r.Scopes},
			{"Request.Resources", r.Resources},
			{"Request.CodeChallenge", []string{r.CodeChallenge}},
			{"Request.CodeChallengeMethod", []string{r.CodeChallengeMethod}},
			{"Request.Prompt", r.Prompt},
			{"Request.PushedKey", []string{r.PushedKey}},
			{"Request.DPoPKeyThumbprint", []string{r.DPoPKeyThumbprint}},
			{"Request.Parameters", mapStrings(r.Parameters)},
		} {
			if !yield(f.name, f.strs) {
				return
			}
		}
	}
}

// mapStrings returns the names and values of m in one list, nil for an
// empty map.
func mapStrings(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	l := make([]string, 0, 2*len(m))
	for k, v := range m {
		l = append(l, k, v)
	}
	return l
}
