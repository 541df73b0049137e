package grant

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// newDeviceForTest builds the device grant of a Provider over a memory
// store with one public client "tv".
func newDeviceForTest(t *testing.T, opts DeviceCodeOptions) (*deviceCode, *memory.Store) {
	t.Helper()
	store := memory.New()
	require.NoError(t, store.PutClient(&storage.Client{ID: "tv", TokenEndpointAuthMethod: oauth2.AuthMethodNone,
		GrantTypes: []string{GrantTypeDeviceCode}}))
	return newDeviceOver(t, store, opts, bytes.Repeat([]byte{7}, 32)), store
}

// newDeviceOver builds the device grant of a Provider over store, whose
// token keys are keys.
func newDeviceOver(t *testing.T, store *memory.Store, opts DeviceCodeOptions, keys ...[]byte) *deviceCode {
	t.Helper()
	if opts.VerificationURI == "" {
		opts.VerificationURI = "https://as.example/device"
	}
	var h *deviceCode
	factory := DeviceCode(store, opts)
	_, err := oauth2.NewProvider(oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store,
		TokenKeys: keys, Interactions: store,
		Grants: []oauth2.GrantFactory{func(p *oauth2.Provider) (oauth2.GrantHandler, error) {
			g, err := factory(p)
			if err == nil {
				h = g.(*deviceCode)
			}
			return g, err
		}}})
	require.NoError(t, err)
	return h
}

// TestUserCodesAreUniform draws 100,000 user codes (RFC 8628 §5.1, §6.1):
// each is 8 characters of the default alphabet, every character about
// equally likely in every position (so that a code has the entropy its
// length promises), and duplicates are as rare as chance makes them.
func TestUserCodesAreUniform(t *testing.T) {
	h, _ := newDeviceForTest(t, DeviceCodeOptions{})
	const n = 100_000
	a := DefaultUserCodeAlphabet
	var counts [DefaultUserCodeLength][256]int
	seen := make(map[string]bool, n)
	dups := 0
	for range n {
		code, err := h.newUserCode()
		require.NoError(t, err)
		require.Len(t, code, DefaultUserCodeLength)
		for i := 0; i < len(code); i++ {
			require.Contains(t, a, code[i:i+1])
			counts[i][code[i]]++
		}
		if seen[code] {
			dups++
		}
		seen[code] = true
	}
	// 20^8 codes: the expected number of duplicates among 100,000 is about
	// 0.2; more than 5 would be a broken generator.
	assert.LessOrEqual(t, dups, 5)
	// Each character is expected n/20 = 5,000 times per position, with a
	// standard deviation of about 69: a bias of 256 % 20 in favour of the
	// first characters (modulo without rejection) would give them 5,078.
	expected := float64(n) / float64(len(a))
	for pos := range counts {
		chi2 := 0.0
		for i := 0; i < len(a); i++ {
			d := float64(counts[pos][a[i]]) - expected
			chi2 += d * d / expected
		}
		// 19 degrees of freedom: 43.8 is the 0.999 quantile.
		assert.Less(t, chi2, 43.8, "position %d is not uniform", pos)
	}
	assert.Greater(t, float64(DefaultUserCodeLength)*math.Log2(float64(len(a))), 34.5)
}

// repeatingReader reads data once, then crypto/rand.
type repeatingReader struct{ data []byte }

func (r *repeatingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return rand.Read(p)
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestUserCodeCollision: a user code that a live device authorization
// holds is drawn again, and the request gets another one (RFC 8628 §6.1:
// unique among live codes).
func TestUserCodeCollision(t *testing.T) {
	h, store := newDeviceForTest(t, DeviceCodeOptions{})
	// A draw reads 64 bytes: zeros make "BBBBBBBB"; then random codes.
	h.rand = &repeatingReader{data: make([]byte, 64)}
	first := authorizeForTest(t, h)
	assert.Equal(t, "BBBB-BBBB", first.Get("user_code"))
	h.rand = &repeatingReader{data: make([]byte, 64)}
	second := authorizeForTest(t, h)
	assert.NotEqual(t, "BBBB-BBBB", second.Get("user_code"))

	rec, err := store.DeviceAuthorizationByUserCode(context.Background(), h.p.UserCodeKeys("BBBBBBBB")[0])
	require.NoError(t, err)
	key, err := h.codes.Signature(first.Get("device_code"))
	require.NoError(t, err)
	assert.Equal(t, key, rec.Key, "the first holder keeps its code")

	// A store that only ever answers ErrDuplicate: the request gives up
	// after a few draws with 503, not a loop.
	h.store = duplicateStore{store}
	h.rand = rand.Reader
	w := httptest.NewRecorder()
	h.serveDeviceAuthorization(w, deviceAuthorizationRequest())
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
}

type duplicateStore struct {
	storage.DeviceAuthorizationStore
}

func (duplicateStore) CreateDeviceAuthorization(context.Context, *storage.DeviceAuthorization) error {
	return storage.ErrDuplicate
}

func deviceAuthorizationRequest() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://as.example/device_authorization", strings.NewReader("client_id=tv"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// authorizeForTest makes a device authorization request of "tv" and
// returns the response's members.
func authorizeForTest(t *testing.T, h *deviceCode) url.Values {
	t.Helper()
	w := httptest.NewRecorder()
	h.serveDeviceAuthorization(w, deviceAuthorizationRequest())
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var resp deviceAuthorizationResponse
	require.NoError(t, jsonDecode(w.Body, &resp))
	return url.Values{"user_code": {resp.UserCode}, "device_code": {resp.DeviceCode}}
}

func jsonDecode(r io.Reader, v any) error {
	return json.NewDecoder(r).Decode(v)
}

// TestUserCodeUniqueAcrossKeyRotation: while the token keys rotate, a user
// code that a live device authorization holds under the old signing key is
// not issued again under the new one (RFC 8628 §6.1: unique among live
// codes), so that the verification page never finds two devices by one
// code.
func TestUserCodeUniqueAcrossKeyRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{8}, 32)
	before, store := newDeviceForTest(t, DeviceCodeOptions{})
	before.rand = &repeatingReader{data: make([]byte, 64)}
	assert.Equal(t, "BBBB-BBBB", authorizeForTest(t, before).Get("user_code"))

	after := newDeviceOver(t, store, DeviceCodeOptions{}, newKey, oldKey)
	after.rand = &repeatingReader{data: make([]byte, 64)}
	assert.NotEqual(t, "BBBB-BBBB", authorizeForTest(t, after).Get("user_code"))
}
