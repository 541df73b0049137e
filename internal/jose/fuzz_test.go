package jose_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/grantor-dev/grantor/internal/jose"
)

// FuzzSplitCompact checks SplitCompact and Decode against their rules:
// whatever is accepted has three non-empty base64url segments that
// re-encode to themselves, and Decode agrees with DecodeSegment.
func FuzzSplitCompact(f *testing.F) {
	f.Add(good, 8<<10)
	f.Add(good, len(good)-1)
	f.Add(hdr+"."+pay+".", 8<<10)
	f.Add(hdr+".."+sig, 8<<10)
	f.Add(good+"==", 8<<10)
	f.Add("AB.AA.AA", 100)
	f.Add("AA.AA\n.AA", 100)
	f.Add("A.AAAAA.AA", 100)
	f.Add("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", 100)
	f.Add("..", 100)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, token string, maxLen int) {
		c, err := jose.SplitCompact(token, maxLen)
		if err != nil {
			if len(token) > maxLen && !errors.Is(err, jose.ErrTooLong) {
				t.Fatalf("over the limit but %v", err)
			}
			return
		}
		if len(token) > maxLen {
			t.Fatal("accepted over the limit")
		}
		segs := strings.Split(token, ".")
		if len(segs) != 3 || segs[0] == "" || segs[1] == "" || segs[2] == "" {
			t.Fatalf("accepted %d segments or an empty one", len(segs))
		}
		if c.Header() != segs[0] || c.Payload() != segs[1] || c.Signature() != segs[2] || c.SigningInput() != segs[0]+"."+segs[1] {
			t.Fatal("segments do not match the input")
		}
		if strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
			t.Fatal("accepted a byte outside the alphabet")
		}
		j, err := c.Decode()
		var single [3][]byte
		var singleErr error
		for i, s := range segs {
			b, err := jose.DecodeSegment(s)
			if err != nil {
				singleErr = err
			}
			single[i] = b
		}
		if (err == nil) != (singleErr == nil) {
			t.Fatalf("Decode says %v, DecodeSegment says %v", err, singleErr)
		}
		if err != nil {
			if !errors.Is(err, jose.ErrEncoding) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		for i, b := range [][]byte{j.Header, j.Payload, j.Signature} {
			if base64.RawURLEncoding.EncodeToString(b) != segs[i] {
				t.Fatalf("segment %d is not the canonical encoding of what it decodes to", i)
			}
			if !bytes.Equal(b, single[i]) {
				t.Fatalf("segment %d: Decode and DecodeSegment differ", i)
			}
		}
		if string(j.SigningInput) != c.SigningInput() {
			t.Fatal("signing input differs")
		}
	})
}

// FuzzObjectReader compares ObjectReader with encoding/json's tokenizer:
// it accepts exactly the valid objects without duplicate top-level names
// and within the depth limit, and returns the same names and raw values.
func FuzzObjectReader(f *testing.F) {
	f.Add([]byte(`{"alg":"ES256","kid":"k1","typ":"at+jwt"}`), 16)
	f.Add([]byte(`{"alg":"ES256","alg":"none"}`), 16)
	f.Add([]byte(`{"alg":"ES256","\u0061lg":"none"}`), 0)
	f.Add([]byte("{\"\xff\":1,\"\xfe\":2}"), 0)
	f.Add([]byte(`{"x":[[[[1]]]],"y":"[[[[\"","z":{"a":{"a":1}}}`), 3)
	f.Add([]byte(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"a":18}`), 0)
	f.Add([]byte(`{"aud":["a",null],"exp":1e999,"iat":-0.5}`), 2)
	f.Add([]byte(` {} `), 1)
	f.Add([]byte(`{"a":1}{}`), 0)
	f.Add([]byte(`[]`), 0)
	f.Fuzz(func(t *testing.T, in []byte, maxDepth int) {
		names, values, err := readAll(string(in), maxDepth)
		want, wantValues, depth, werr := oracle(in)
		switch {
		case werr != nil:
			if err == nil {
				t.Fatalf("accepted what encoding/json rejects: %v", werr)
			}
		case maxDepth > 0 && depth > maxDepth:
			if !errors.Is(err, jose.ErrTooDeep) {
				t.Fatalf("depth %d > %d, got %v", depth, maxDepth, err)
			}
		case hasDuplicate(want):
			if !errors.Is(err, jose.ErrDuplicate) {
				t.Fatalf("duplicate names %q, got %v", want, err)
			}
		default:
			if err != nil {
				t.Fatalf("rejected a valid object: %v", err)
			}
			if strings.Join(names, "\x00") != strings.Join(want, "\x00") || len(names) != len(want) {
				t.Fatalf("names %q, encoding/json says %q", names, want)
			}
			for i, v := range values {
				if !json.Valid([]byte(v)) {
					t.Fatalf("value %d %q is not one JSON value", i, v)
				}
				if !bytes.Equal(bytes.TrimSpace([]byte(v)), bytes.TrimSpace(wantValues[i])) {
					t.Fatalf("value %d is %q, encoding/json says %q", i, v, wantValues[i])
				}
			}
		}
	})
}

// oracle decodes in with encoding/json: the top-level names in order, the
// raw values, and the maximum nesting depth.
func oracle(in []byte) (names []string, values []json.RawMessage, depth int, err error) {
	if !json.Valid(in) {
		return nil, nil, 0, errors.New("invalid")
	}
	d := json.NewDecoder(bytes.NewReader(in))
	tok, err := d.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, nil, 0, errors.New("not an object")
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, nil, 0, err
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, nil, 0, err
		}
		names = append(names, tok.(string))
		values = append(values, v)
	}
	return names, values, maxDepth(in), nil
}

// maxDepth is the nesting depth of valid JSON, by encoding/json's tokens.
func maxDepth(in []byte) int {
	d := json.NewDecoder(bytes.NewReader(in))
	depth, most := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return most
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			most = max(most, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func hasDuplicate(names []string) bool {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return true
		}
		seen[n] = true
	}
	return false
}
