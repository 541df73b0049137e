package token

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage/memory"
)

// What the store holds of a key is ciphertext: no key's material, of
// either kind, appears in its sealed bytes, nor in anything else stored.
func TestStoredMaterialIsNeverInTheStore(t *testing.T) {
	store := memory.New()
	secret := make([]byte, 32)
	_, err := rand.Read(secret)
	require.NoError(t, err)
	cfg := StoredKeysConfig{Store: store, Secrets: [][]byte{secret}, Interval: 24 * time.Hour,
		PublishAhead: time.Hour, RetireAfter: 2 * time.Hour}
	macs, err := OpenStoredMACKeys(context.Background(), cfg)
	require.NoError(t, err)
	signing, err := OpenStoredSigningKeys(context.Background(), cfg)
	require.NoError(t, err)
	require.NoError(t, macs.Rotate(context.Background()))
	require.NoError(t, signing.Rotate(context.Background()))

	for _, s := range []*StoredKeys{macs.StoredKeys, signing.StoredKeys} {
		set, err := store.LoadKeySet(context.Background(), s.name)
		require.NoError(t, err)
		var stored []byte
		for _, k := range set.Keys {
			stored = append(append(append(stored, k.ID...), k.Algorithm...), k.Sealed...)
		}
		require.Len(t, s.keys, 2)
		for _, k := range s.keys {
			private := k.material // an HMAC key
			if s.alg != macAlgorithm {
				// A signing key's JWK: its private scalar "d", encoded
				// and raw.
				var jwk struct {
					D string `json:"d"`
				}
				require.NoError(t, json.Unmarshal(k.material, &jwk))
				require.NotEmpty(t, jwk.D)
				raw, err := base64.RawURLEncoding.DecodeString(jwk.D)
				require.NoError(t, err)
				assert.False(t, bytes.Contains(stored, []byte(jwk.D)), "set %s: d of %s is stored", s.name, k.rec.ID)
				private = raw
			}
			require.GreaterOrEqual(t, len(private), MinOpaqueKeyLen)
			for i := 0; i+8 <= len(private); i += 4 {
				assert.False(t, bytes.Contains(stored, private[i:i+8]), "set %s: part of %s is stored", s.name, k.rec.ID)
			}
			assert.False(t, bytes.Contains(stored, secret), "the secret is stored")
		}
	}
}
