// Package jose holds the strict parsing rules that every Grantor verifier
// of untrusted JOSE input applies: JWT access tokens (package token),
// client assertions (RFC 7523, package oauth2), trusted issuers' JWTs
// (RFC 8693 subject tokens, RFC 7523 §2.1 assertions) and DPoP proofs
// (RFC 9449).
// Keeping them here means the rules are written, tested and fuzzed once.
//
// Four pieces:
//
//   - SplitCompact splits a JWS in compact serialization (RFC 7515 §7.1):
//     a size limit chosen by the caller, exactly three non-empty segments,
//     the base64url alphabet only (no '=', no whitespace), and canonical
//     unpadded encoding (RFC 7515 §2, RFC 4648 §3.5). Compact.Decode then
//     decodes all three segments with one allocation.
//   - ObjectReader walks the top level of a JSON object (a JOSE header or
//     a JWT claims set) without building a map, rejecting duplicate member
//     names, as RFC 7515 §5.2 and RFC 7519 §4 allow, and optionally
//     nesting deeper than a limit (Authlib CVE-2025-61920).
//     String, NumericDate, NumericDateTime and Strings decode the member
//     values JOSE uses.
//   - ReadHeader reads a JWS header with the rules every verifier that
//     takes its keys from configuration shares: alg required and never
//     none, crit, b64, zip and enc refused, the members that name keys
//     never read.
//   - Key, PublicKeys and VerifyWithKeys verify a signature with keys that
//     the caller trusts (a client's registration, a trusted issuer's JWK
//     Set): public signature keys only, the algorithm decided by the key's
//     type, curve and alg member, never by the header alone (RFC 8725
//     §3.1), selection by kid, and a bound on the keys tried.
//
// The package knows no claim: callers apply their own protocol's rules to
// what it returns. Errors are sentinels
// that never quote the input.
//
// The shortest use:
//
//	c, err := jose.SplitCompact(token, 8<<10)
//	jws, err := c.Decode()
//	var r jose.ObjectReader
//	err = r.Init(jws.Header, 16)
//	for {
//		name, value, ok, err := r.Next()
//		if err != nil || !ok {
//			break
//		}
//		switch string(name) {
//		case "alg":
//			alg, err := jose.String(value)
//			…
//		}
//	}
package jose
