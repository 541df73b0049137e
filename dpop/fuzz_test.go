package dpop

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fuzz targets run their seeds (f.Add and testdata/fuzz) under plain
// go test; go test -fuzz=FuzzVerifyProof ./dpop explores further.

// fuzzVerifier returns a Verifier on the test clock, with nonces when
// withNonces.
func fuzzVerifier(t testing.TB, withNonces bool) *Verifier {
	cfg := Config{Replay: newFakeReplay(), Clock: func() time.Time { return testNow }, Algorithms: supportedAlgorithms}
	if withNonces {
		n, err := NewNonces(NonceConfig{Keys: [][]byte{key32('f')}, Clock: cfg.Clock})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Nonces = n
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkOutcome checks what Verify may return for any input: an accepted
// proof with a well-formed thumbprint, or an *Error with a known code and
// a description that quotes nothing of the input.
func checkOutcome(t *testing.T, input string, p *Proof, err error) {
	if err == nil {
		if CheckThumbprint(p.Thumbprint) != nil {
			t.Fatalf("accepted a proof with thumbprint %q", p.Thumbprint)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("not an *Error: %v", err)
	}
	if e.Code != CodeInvalidProof && e.Code != CodeUseNonce {
		t.Fatalf("code %q", e.Code)
	}
	if (e.Code == CodeUseNonce) != (e.Nonce != "") {
		t.Fatalf("code %q with nonce %q", e.Code, e.Nonce)
	}
	if len(input) >= 8 && strings.Contains(e.Error(), input) {
		t.Fatal("the error quotes the proof")
	}
}

// FuzzVerifyProof feeds any DPoP header value to the proof parser and
// every check after it (RFC 9449 §4.3 steps 2 to 12). A proof it accepts
// is refused the second time (§11.1).
func FuzzVerifyProof(f *testing.F) {
	s := newSigner(f, "ES256")
	good := s.proof(f, nil, nil)
	f.Add(good, false)
	f.Add(good, true)
	f.Add(s.proof(f, map[string]any{"alg": "none"}, nil), false)
	f.Add(s.proof(f, nil, map[string]any{"iat": 1.5e300}), false)
	f.Add("e30.e30.e30", false)
	f.Add("", false)
	f.Fuzz(func(t *testing.T, proof string, withNonces bool) {
		v := fuzzVerifier(t, withNonces)
		r := Request{Proofs: []string{proof}, Method: testMethod, URL: testURL, AccessToken: "tok"}
		p, err := v.Verify(context.Background(), r)
		checkOutcome(t, proof, p, err)
		if err == nil {
			if _, err := v.Verify(context.Background(), r); !errors.Is(err, ErrReplayed) {
				t.Fatalf("accepted twice: %v", err)
			}
		}
	})
}

// FuzzProofHeaders feeds DPoP header fields as a server splits them: any
// number of values, possibly empty or comma-joined (RFC 9449 §4.3 steps 1
// and 2). More than one value is always refused, whatever they hold.
func FuzzProofHeaders(f *testing.F) {
	s := newSigner(f, "EdDSA")
	good := s.proof(f, nil, nil)
	f.Add(good, "", uint8(1))
	f.Add(good, good, uint8(2))
	f.Add(good+", "+good, "", uint8(1))
	f.Add(good, "", uint8(0))
	f.Add(" "+good, "", uint8(1))
	f.Fuzz(func(t *testing.T, a, b string, n uint8) {
		v := fuzzVerifier(t, false)
		var values []string
		switch n % 4 {
		case 1:
			values = []string{a}
		case 2:
			values = []string{a, b}
		case 3:
			values = []string{a, b, a}
		}
		p, err := v.Verify(context.Background(), Request{Proofs: values, Method: testMethod, URL: testURL})
		checkOutcome(t, a, p, err)
		var e *Error
		switch {
		case len(values) > 1 && !(errors.As(err, &e) && e.Description == descMultiple):
			t.Fatalf("%d values: %v", len(values), err)
		case len(values) == 0 && !(errors.As(err, &e) && e.Description == descMissing):
			t.Fatalf("no value: %v", err)
		case err == nil && (strings.ContainsAny(a, ", \t") || a != strings.TrimSpace(a)):
			t.Fatal("accepted a value with a comma or whitespace")
		}
	})
}

// FuzzNormalizeURL checks that normalisation (RFC 3986 §6) is idempotent
// and yields only absolute http and https URLs without query or fragment.
func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{testURL, "HTTPS://A.example:443/%7e/./b/../c?q#f", "http://[::1]:80", "https://a/%zz", "https:x",
		"https://a.example:00/a%2fb/%2E%2e/c", "https://\u0130dp.example/", "https://[2001:DB8::1]:0443/x|y", "https://a.example/!$&'()*+,;=:@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := normalizeURL(in)
		if !ok {
			return
		}
		if !strings.HasPrefix(out, "https://") && !strings.HasPrefix(out, "http://") {
			t.Fatalf("%q normalised to %q", in, out)
		}
		if strings.ContainsAny(out, "?#") {
			t.Fatalf("%q kept a query or fragment: %q", in, out)
		}
		for _, c := range []byte(out) {
			if c <= ' ' || c >= 0x7f {
				t.Fatalf("%q normalised to %q, with %q", in, out, c)
			}
		}
		rest := out[strings.Index(out, "://")+3:]
		if host := rest[:strings.IndexByte(rest, '/')]; host != strings.ToLower(host) || strings.ContainsAny(host, "%@") {
			t.Fatalf("%q normalised to the host %q", in, host)
		}
		if len(in) > MaxURLLength {
			t.Fatalf("%q, longer than MaxURLLength, normalised", in)
		}
		again, ok := normalizeURL(out)
		if !ok || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", in, out, again, ok)
		}
	})
}

// TestFuzzSeedsAccepted keeps the checked-in corpus meaningful: its valid
// proofs are still accepted, so the fuzzer starts from proofs that reach
// every check.
func TestFuzzSeedsAccepted(t *testing.T) {
	for _, name := range []string{"valid_es256", "valid_eddsa", "valid_rs256", "htu_dot_segments"} {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzVerifyProof", name))
		require.NoError(t, err)
		lines := strings.Split(string(b), "\n")
		require.True(t, strings.HasPrefix(lines[1], "string(") && strings.HasSuffix(lines[1], ")"), name)
		proof, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		require.NoError(t, err)
		v := fuzzVerifier(t, false)
		_, err = v.Verify(context.Background(), Request{Proofs: []string{proof}, Method: testMethod, URL: testURL, AccessToken: "tok"})
		assert.NoError(t, err, name)
	}
}
