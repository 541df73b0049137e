package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// Keys from the store against keys given in memory. Each case of the
// comparison is measured on two Providers built alike, as grantor in
// cc-opaque is (memory store, the bench client with a generated secret,
// the real clock), except for where their token keys come from:
//
//   - memory-keys: Config.TokenKeys, one random HMAC key, and for JWT
//     access tokens (RFC 9068) a token.KeySet of one ES256 key made by
//     token.GenerateSigningKey;
//   - stored-keys: Config.TokenKeySet from token.OpenStoredMACKeys, and
//     for JWT access tokens token.OpenStoredSigningKeys (ES256), both over
//     a memory store of their own that holds the keys sealed with a
//     random secret, opened before the timer starts.
//
// What is measured is the hot path once the keys are loaded: no Run
// reloads them in the background, and no token names a key the set does
// not know, so the store is never read while the timer runs. Every case
// of both sides runs in one compareBenchmarks run, interleaved and
// rotated.

// Names of the two sides of each case of the stored keys comparison
// (CompareStoredKeys).
const (
	// NameMemoryKeys is a Provider whose keys are given in memory:
	// Config.TokenKeys, and a token.KeySet for JWT access tokens.
	NameMemoryKeys = "memory-keys"
	// NameStoredKeys is a Provider whose keys are loaded from a
	// storage.KeyStore: Config.TokenKeySet from token.StoredMACKeys, and
	// token.StoredSigningKeys for JWT access tokens.
	NameStoredKeys = "stored-keys"
)

// KeysCase is one case of the stored keys comparison: an operation
// measured with keys in memory and with keys from the store.
type KeysCase struct {
	// Name names the case in benchmark names and in Report.Keys.
	Name string
	// Title says what is measured.
	Title string
	// jwt chooses JWT access tokens (ES256) rather than opaque ones.
	jwt bool
	// run is the benchmark of the operation on g.
	run func(b *testing.B, g *keyedGrantor)
}

// Names of the cases of the stored keys comparison, in the order of
// KeysCases.
const (
	// KeysClientCredentialsOpaque is a client credentials request
	// (RFC 6749 §4.4) through the handler, answered 200 with an opaque
	// access token.
	KeysClientCredentialsOpaque = "cc-opaque"
	// KeysClientCredentialsJWT is a client credentials request through
	// the handler, answered 200 with a JWT access token (RFC 9068)
	// signed with ES256.
	KeysClientCredentialsJWT = "cc-jwt-es256"
	// KeysIntrospectOpaque is an introspection request (RFC 7662 §2.1)
	// of an opaque access token through the handler, answered active.
	KeysIntrospectOpaque = "introspect-opaque"
	// KeysIntrospectJWT is an introspection request of an ES256 JWT
	// access token through the handler, answered active.
	KeysIntrospectJWT = "introspect-jwt-es256"
	// KeysVerifyJWT is token.JWTVerifier.Verify (RFC 9068 §4) of an
	// ES256 JWT access token, by a resource server in the Provider's
	// process whose Keys are the Provider's own.
	KeysVerifyJWT = "verify-jwt-es256"
)

// KeysCases returns the cases of the stored keys comparison, in the order
// of the tables.
func KeysCases() []KeysCase {
	return []KeysCase{
		{Name: KeysClientCredentialsOpaque, Title: "Client credentials, opaque access token", run: keysClientCredentials},
		{Name: KeysClientCredentialsJWT, Title: "Client credentials, JWT access token (RFC 9068) signed with ES256", jwt: true, run: keysClientCredentials},
		{Name: KeysIntrospectOpaque, Title: "Introspection of an opaque access token (RFC 7662)", run: keysIntrospections},
		{Name: KeysIntrospectJWT, Title: "Introspection of an ES256 JWT access token (RFC 7662)", jwt: true, run: keysIntrospections},
		{Name: KeysVerifyJWT, Title: "JWTVerifier.Verify of an ES256 JWT access token (RFC 9068 §4) with the Provider's keys", jwt: true, run: keysVerifies},
	}
}

// keyedGrantor is a Provider of the stored keys comparison.
type keyedGrantor struct {
	*grantor
	// keys are the JWT strategy's keys: a *token.KeySet or a
	// *token.StoredSigningKeys; nil with opaque access tokens.
	keys token.KeySource
	// keyStore holds the stored keys, and sealing is the secret that
	// seals them; nil with keys in memory.
	keyStore *memory.Store
	sealing  []byte
}

// storedKeysConfig is the configuration of the stored keys of a run:
// rotated daily, published an hour ahead, never reloaded while measured.
func storedKeysConfig(store *memory.Store, secret []byte) token.StoredKeysConfig {
	return token.StoredKeysConfig{
		Store: store, Secrets: [][]byte{secret},
		Interval: 24 * time.Hour, PublishAhead: time.Hour, RetireAfter: 31 * 24 * time.Hour,
	}
}

// newKeyedGrantor builds the Provider of one side of a case: with keys
// from a new key store when stored, in memory otherwise; with ES256 JWT
// access tokens when jwt, opaque ones otherwise.
func newKeyedGrantor(stored, jwt bool) (*keyedGrantor, error) {
	ctx := context.Background()
	k := &keyedGrantor{}
	var o grantorOptions
	if stored {
		k.keyStore, k.sealing = memory.New(), make([]byte, 32)
		if _, err := rand.Read(k.sealing); err != nil {
			return nil, err
		}
		cfg := storedKeysConfig(k.keyStore, k.sealing)
		macs, err := token.OpenStoredMACKeys(ctx, cfg)
		if err != nil {
			return nil, err
		}
		o.tokenKeySet = macs.MACKeySet()
		if jwt {
			// Signing keys retire after the access token lifetime.
			cfg.RetireAfter = 2 * time.Hour
			if k.keys, err = token.OpenStoredSigningKeys(ctx, cfg); err != nil {
				return nil, err
			}
		}
	} else if jwt {
		key, err := token.GenerateSigningKey(jwa.ES256)
		if err != nil {
			return nil, err
		}
		if k.keys, err = token.NewKeySet(key); err != nil {
			return nil, err
		}
	}
	var strategy token.AccessTokenStrategy
	if jwt {
		j, err := token.NewJWT(token.JWTConfig{Keys: k.keys, Issuer: BenchIssuer})
		if err != nil {
			return nil, err
		}
		strategy = j
	}
	g, err := newGrantorWith(strategy, o)
	if err != nil {
		return nil, err
	}
	k.grantor = g
	return k, nil
}

// accessToken returns an access token that a client credentials request
// of the bench client gets from g.
func (g *keyedGrantor) accessToken() (string, error) {
	tok, err := fetchTokens(g.handler, ClientCredentialsRequest(benchClientID, g.secret))
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// verifier returns a resource server's verifier of g's JWT access tokens
// (RFC 9068 §4), with g's keys: the audience is the issuer, the Provider's
// default.
func (g *keyedGrantor) verifier() (*token.JWTVerifier, error) {
	return token.NewJWTVerifier(token.JWTVerifierConfig{Keys: g.keys, Issuer: BenchIssuer, Audience: BenchIssuer})
}

// activeMember is how an introspection response says that the token is
// active (RFC 7662 §2.2).
var activeMember = []byte(`"active":true`)

// keysClientCredentials is the benchmark of client credentials requests:
// each must be answered 200 with an access token.
func keysClientCredentials(b *testing.B, g *keyedGrantor) {
	serveWanting(b, g.handler, ClientCredentialsRequest(benchClientID, g.secret), accessTokenMember)
}

// keysIntrospections is the benchmark of introspection requests: the
// bench client introspects one of its access tokens, got before the timer
// starts, again and again; each must be answered 200 and active.
func keysIntrospections(b *testing.B, g *keyedGrantor) {
	tok, err := g.accessToken()
	if err != nil {
		b.Fatal(err)
	}
	serveWanting(b, g.handler, IntrospectionRequest(benchClientID, g.secret, tok), activeMember)
}

// keysVerifies is the benchmark of the verification of a JWT access token
// by a resource server in the Provider's process, with the Provider's
// keys: one access token, got before the timer starts, verified again and
// again; each verification must succeed.
func keysVerifies(b *testing.B, g *keyedGrantor) {
	tok, err := g.accessToken()
	if err != nil {
		b.Fatal(err)
	}
	v, err := g.verifier()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatalf("verification %d: %v", i, err)
		}
	}
}

// bench returns the benchmark of one side of c: a fresh Provider with
// keys from the store when stored, in memory otherwise.
func (c KeysCase) bench(stored bool) func(*testing.B) {
	return func(b *testing.B) {
		g, err := newKeyedGrantor(stored, c.jwt)
		if err != nil {
			b.Fatal(err)
		}
		c.run(b, g)
	}
}

// keysBenchmarks returns the benchmarks of the comparison, for each case
// of cs the side with keys in memory and then the one with stored keys,
// named case/side.
func keysBenchmarks(cs []KeysCase) []benchmark {
	bs := make([]benchmark, 0, 2*len(cs))
	for _, c := range cs {
		bs = append(bs,
			benchmark{name: c.Name + "/" + NameMemoryKeys, run: c.bench(false)},
			benchmark{name: c.Name + "/" + NameStoredKeys, run: c.bench(true)})
	}
	return bs
}

// CompareStoredKeys runs the stored keys comparison: for each case of
// KeysCases, the go test benchmark of the operation on a Provider with
// keys in memory and on one with keys loaded from the store, every
// benchmark of every case in one compareBenchmarks run, interleaved and
// rotated. It returns, by case name, two rows: NameMemoryKeys, then
// NameStoredKeys.
func CompareStoredKeys(opts CompareOptions) (map[string][]Result, error) {
	cs := KeysCases()
	rs, err := compareBenchmarks(keysBenchmarks(cs), opts)
	if err != nil {
		return nil, err
	}
	if len(rs) != 2*len(cs) {
		return nil, fmt.Errorf("%d results for %d cases", len(rs), len(cs))
	}
	out := make(map[string][]Result, len(cs))
	for i, c := range cs {
		mem, stored := rs[2*i], rs[2*i+1]
		mem.Name, stored.Name = NameMemoryKeys, NameStoredKeys
		out[c.Name] = []Result{mem, stored}
	}
	return out, nil
}
