// Package token mints access and refresh tokens and recognises them again
// without a storage lookup.
//
// Two formats implement AccessTokenStrategy:
//
//   - Opaque: HMAC-SHA256-signed random strings ("gr_at_…"), whose
//     signature is the storage key, so that the store never holds a usable
//     token (RFC 6819 §5.1.4.1.3). Refresh tokens and authorization codes
//     use the same type with their own prefix.
//   - JWT: JWT access tokens profiled by RFC 9068, signed with the keys of
//     a KeySet (ES256, PS256, RS256, EdDSA, …) whose public halves are
//     published as a JWK Set (RFC 7517) for resource servers. The storage
//     key is the "jti".
//
// JWT takes its keys from a KeySource: KeySet, in memory, is the
// default; a host application with its keys in a KMS implements
// KeySource (its Signer signs through the KMS, its JWKS publishes the
// public key: see the example of KeySource). KeySet rotates signing
// keys in three phases (OpenID Connect Core §10.1.1): add a key (published,
// not yet signing), promote it, and remove the old one once its tokens have
// expired; Rotator does this on a schedule.
//
// Several instances of an authorization server over one database keep
// their keys in it: StoredMACKeys (the HMAC keys of opaque tokens, for
// the Provider's TokenKeySet) and StoredSigningKeys (a KeySource for
// JWT) read a storage.KeyStore, open the keys with the host's secrets
// (they are sealed with XChaCha20-Poly1305 before they reach the store),
// rotate them once for the whole cluster, and reload them on an interval.
// Tokens then survive restarts, and every instance accepts every other's.
//
// Resource servers verify JWT access tokens with JWTVerifier (RFC 9068
// §4), which needs only public keys: from a KeySet in the same process,
// or from the authorization server's jwks_uri through RemoteKeys.
//
// Neither strategy checks expiry (JWTVerifier does): the caller checks
// the storage record, which also carries revocation.
//
// The shortest use:
//
//	at, err := token.NewOpaque("gr_at_", [][]byte{secret32})
//	tok, key, err := at.Generate() // give tok to the client, store under key
//	key, err = at.Signature(tok)   // later: look the record up by key
//
// and for JWT access tokens:
//
//	sk, err := token.GenerateSigningKey(jwa.ES256)
//	keys, err := token.NewKeySet(sk)
//	jwt, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: "https://as.example"})
//	rot := &token.Rotator{Keys: keys, Generate: func() (jwk.Key, error) {
//		return token.GenerateSigningKey(jwa.ES256)
//	}, Interval: 30 * 24 * time.Hour, PublishAhead: time.Hour, RetireAfter: 2 * time.Hour}
//	go rot.Run(ctx)
//
// and with the keys in the store, shared by every instance:
//
//	cfg := token.StoredKeysConfig{Store: db, Secrets: [][]byte{secret32},
//		Interval: 24 * time.Hour, PublishAhead: time.Hour, RetireAfter: 2 * time.Hour}
//	keys, err := token.OpenStoredSigningKeys(ctx, cfg)
//	jwt, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: "https://as.example"})
//	go keys.Run(ctx) // reload and rotate
//
// and at a resource server:
//
//	jwks, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: "https://as.example/jwks"})
//	v, err := token.NewJWTVerifier(token.JWTVerifierConfig{
//		Keys: jwks, Issuer: "https://as.example", Audience: "https://api.example",
//	})
//	claims, err := v.Verify(ctx, bearerToken) // errors.Is(err, token.ErrExpired), …
package token
