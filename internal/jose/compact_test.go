package jose_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/jose"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

var (
	hdr  = b64(`{"alg":"ES256","kid":"k1"}`)
	pay  = b64(`{"sub":"alice","exp":1700000000}`)
	sig  = b64("\x01\x02\x03\x04\x05")
	good = hdr + "." + pay + "." + sig
)

func TestSplitCompactAndDecode(t *testing.T) {
	c, err := jose.SplitCompact(good, len(good))
	require.NoError(t, err)
	assert.Equal(t, hdr, c.Header())
	assert.Equal(t, pay, c.Payload())
	assert.Equal(t, sig, c.Signature())
	assert.Equal(t, hdr+"."+pay, c.SigningInput())

	j, err := c.Decode()
	require.NoError(t, err)
	assert.Equal(t, hdr+"."+pay, string(j.SigningInput))
	assert.Equal(t, `{"alg":"ES256","kid":"k1"}`, string(j.Header))
	assert.Equal(t, `{"sub":"alice","exp":1700000000}`, string(j.Payload))
	assert.Equal(t, "\x01\x02\x03\x04\x05", string(j.Signature))

	t.Run("the slices of one buffer do not overlap on append", func(t *testing.T) {
		_ = append(j.SigningInput, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
		_ = append(j.Header, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
		_ = append(j.Payload, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
		assert.Equal(t, `{"alg":"ES256","kid":"k1"}`, string(j.Header))
		assert.Equal(t, `{"sub":"alice","exp":1700000000}`, string(j.Payload))
		assert.Equal(t, "\x01\x02\x03\x04\x05", string(j.Signature))
	})
	t.Run("SplitCompact allocates nothing, Decode once", func(t *testing.T) {
		if raceEnabled {
			t.Skip("allocation counts are meaningless under -race")
		}
		assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = jose.SplitCompact(good, 8<<10) }))
		assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _, _ = c.Decode() }))
	})
}

// TestSplitCompactRules covers RFC 7515 §7.1 and §2, RFC 8725 §3.1 (no
// unsigned JWS) and the size limit (Authlib CVE-2025-61920): every row is
// refused, with the error named.
func TestSplitCompactRules(t *testing.T) {
	swap := func(s, from, to string) string { return strings.Replace(s, from, to, 1) }
	rows := []struct {
		name  string
		token string
		max   int
		want  error
	}{
		{"one byte over the limit", good, len(good) - 1, jose.ErrTooLong},
		{"1 MB is refused before any scan", strings.Repeat(".", 1<<20), 8 << 10, jose.ErrTooLong},
		{"a zero limit refuses everything", good, 0, jose.ErrTooLong},
		{"empty", "", 100, jose.ErrNotCompact},
		{"one segment", hdr, 8 << 10, jose.ErrNotCompact},
		{"two segments (unsigned, no dot)", hdr + "." + pay, 8 << 10, jose.ErrNotCompact},
		{"four segments", good + ".x", 8 << 10, jose.ErrNotCompact},
		{"a JWE (five segments)", b64(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + ".a.b.c.d", 8 << 10, jose.ErrNotCompact},
		{"JSON serialization", `{"payload":"` + pay + `","protected":"` + hdr + `","signature":"` + sig + `"}`, 8 << 10, jose.ErrNotCompact},
		{"a trailing dot", good + ".", 8 << 10, jose.ErrNotCompact},
		{"dots only", "..", 8 << 10, jose.ErrEmptySegment},
		{"empty header", "." + pay + "." + sig, 8 << 10, jose.ErrEmptySegment},
		{"empty payload (detached, RFC 7515 App. F)", hdr + ".." + sig, 8 << 10, jose.ErrEmptySegment},
		{"empty signature", hdr + "." + pay + ".", 8 << 10, jose.ErrUnsigned},
		{"padding in the signature", good + "==", 8 << 10, jose.ErrEncoding},
		{"padding in the header", hdr + "=." + pay + "." + sig, 8 << 10, jose.ErrEncoding},
		{"standard alphabet +", swap(good, sig, "ab+d"), 8 << 10, jose.ErrEncoding},
		{"standard alphabet /", swap(good, sig, "ab/d"), 8 << 10, jose.ErrEncoding},
		{"newline inside a segment", swap(good, pay, pay[:4]+"\n"+pay[4:]), 8 << 10, jose.ErrEncoding},
		{"CRLF inside a segment", swap(good, pay, pay[:4]+"\r\n"+pay[4:]), 8 << 10, jose.ErrEncoding},
		{"a space after a dot", swap(good, ".", ". "), 8 << 10, jose.ErrEncoding},
		{"a NUL byte", swap(good, sig, "AA\x00A"), 8 << 10, jose.ErrEncoding},
		{"non-ASCII", swap(good, sig, "AAé"), 8 << 10, jose.ErrEncoding},
		{"not base64 at all", "%%%.%%%.%%%", 8 << 10, jose.ErrEncoding},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := jose.SplitCompact(r.token, r.max)
			assert.ErrorIs(t, err, r.want)
		})
	}
}

// TestDecodeCanonical checks that each byte string has one accepted
// encoding (RFC 7515 §2: base64url without padding; RFC 4648 §3.5:
// trailing bits zero), in every segment.
func TestDecodeCanonical(t *testing.T) {
	segs := []struct {
		name string
		seg  string
		ok   bool
	}{
		{"canonical, 1 byte", "AA", true},
		{"canonical, 2 bytes", "AAE", true},
		{"canonical, 3 bytes", "AAAB", true},
		{"non-zero trailing bits after 1 byte", "AB", false},
		{"non-zero trailing bits after 2 bytes", "AAF", false},
		{"impossible length 1", "A", false},
		{"impossible length 5", "AAAAA", false},
	}
	for _, s := range segs {
		for i, tok := range map[string]string{
			"header":    s.seg + "." + pay + "." + sig,
			"payload":   hdr + "." + s.seg + "." + sig,
			"signature": hdr + "." + pay + "." + s.seg,
		} {
			t.Run(s.name+" in the "+i, func(t *testing.T) {
				c, err := jose.SplitCompact(tok, 8<<10)
				require.NoError(t, err, "SplitCompact checks the alphabet only")
				_, err = c.Decode()
				if s.ok {
					assert.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, jose.ErrEncoding)
				}
			})
		}
		t.Run(s.name+" in DecodeSegment", func(t *testing.T) {
			_, err := jose.DecodeSegment(s.seg)
			if s.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, jose.ErrEncoding)
			}
		})
	}
	t.Run("DecodeSegment refuses bytes the decoder would skip", func(t *testing.T) {
		for _, seg := range []string{"AA\nAA", "AAAA\r", "AA==", "AA.A", "AA A", "+/AA"} {
			_, err := jose.DecodeSegment(seg)
			assert.ErrorIs(t, err, jose.ErrEncoding, "%q", seg)
		}
	})
	t.Run("the zero Compact decodes to an error", func(t *testing.T) {
		var c jose.Compact
		_, err := c.Decode()
		assert.ErrorIs(t, err, jose.ErrNotCompact)
		assert.Empty(t, c.Header()+c.Payload()+c.Signature()+c.SigningInput())
	})
}

func TestErrorsDoNotQuoteTheInput(t *testing.T) {
	secret := "c2VjcmV0LXRva2VuLWNvbnRlbnQ"
	for _, tok := range []string{secret, secret + "." + secret, secret + "." + secret + ".", secret + "." + secret + "." + secret + "=", secret + ".AB." + secret} {
		c, err := jose.SplitCompact(tok, 8<<10)
		if err == nil {
			_, err = c.Decode()
		}
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret)
	}
}

func BenchmarkSplitCompactDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := jose.SplitCompact(good, 8<<10)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decode(); err != nil {
			b.Fatal(err)
		}
	}
}
