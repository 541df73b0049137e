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
// KeySet rotates signing keys: add a key (published, not yet signing),
// promote it, and remove the old one once its tokens have expired.
//
// Neither strategy checks expiry: the caller checks the storage record,
// which also carries revocation.
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
package token
