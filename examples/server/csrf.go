package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// csrfToken is the token of the forms of one session and one interaction:
// an HMAC of both, so nothing needs storing, and a token is worthless for
// another session or another interaction.
func (pg *pages) csrfToken(sid, interaction string) string {
	return base64.RawURLEncoding.EncodeToString(pg.csrfMAC(sid, interaction))
}

// csrfMAC is the HMAC-SHA-256 behind csrfToken, over the session id and
// the interaction id, separated so that no two pairs run together.
func (pg *pages) csrfMAC(sid, interaction string) []byte {
	m := hmac.New(sha256.New, pg.csrfKey)
	m.Write([]byte(sid))
	m.Write([]byte{0})
	m.Write([]byte(interaction))
	return m.Sum(nil)
}

// validCSRF checks a token in constant time. It compares the encoded
// strings: a lenient decoder would also accept the token with the unused
// bits of its last character changed.
func (pg *pages) validCSRF(sid, interaction, token string) bool {
	return hmac.Equal([]byte(token), []byte(pg.csrfToken(sid, interaction)))
}
