package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// This file holds a small reader for the top level of a JSON object, used
// for JOSE headers and JWT claims sets. encoding/json silently keeps the
// last of duplicate members; RFC 7515 §5.2 and RFC 7519 §4 let a parser
// reject them, and we do (S127), so that {"alg":"ES256","alg":"none"} or
// two "exp" members mean nothing but an error.

var errJSON = errors.New("malformed JSON object")

// objectReader iterates over the members of a JSON object that has already
// passed json.Valid, so only the top level needs tracking. It lives on the
// caller's stack: call init first.
type objectReader struct {
	b     []byte
	i     int
	seen  [16][]byte // names seen so far; then more
	nseen int
	more  map[string]struct{}
}

func (r *objectReader) init(b []byte) error {
	if !json.Valid(b) {
		return errJSON
	}
	r.b = b
	r.skipWS()
	if r.i >= len(b) || b[r.i] != '{' {
		return errJSON
	}
	r.i++
	return nil
}

func (r *objectReader) skipWS() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// skipString advances past a string starting at r.i (the opening quote)
// and reports whether it held escapes.
func (r *objectReader) skipString() (escaped bool) {
	r.i++
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case '\\':
			escaped = true
			r.i += 2
		case '"':
			r.i++
			return escaped
		default:
			r.i++
		}
	}
	return escaped
}

func (r *objectReader) skipValue() {
	switch r.b[r.i] {
	case '"':
		r.skipString()
	case '{', '[':
		depth := 0
		for r.i < len(r.b) {
			switch r.b[r.i] {
			case '"':
				r.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			r.i++
			if depth == 0 {
				return
			}
		}
	default:
		for r.i < len(r.b) {
			switch r.b[r.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			r.i++
		}
	}
}

// next returns the next member's unescaped name and raw value; ok is false
// at the end of the object. A name seen before is an error. The name may
// share memory with the input.
func (r *objectReader) next() (name, value []byte, ok bool, err error) {
	r.skipWS()
	if r.i >= len(r.b) {
		return nil, nil, false, errJSON
	}
	if r.b[r.i] == '}' {
		return nil, nil, false, nil
	}
	if r.b[r.i] == ',' {
		r.i++
		r.skipWS()
	}
	start := r.i
	escaped := r.skipString()
	name = r.b[start+1 : r.i-1]
	if escaped {
		var s string
		if err := json.Unmarshal(r.b[start:r.i], &s); err != nil {
			return nil, nil, false, errJSON
		}
		name = []byte(s)
	}
	r.skipWS()
	r.i++ // ':'
	r.skipWS()
	vstart := r.i
	r.skipValue()
	value = r.b[vstart:r.i]
	if err := r.remember(name); err != nil {
		return nil, nil, false, err
	}
	return name, value, true, nil
}

func (r *objectReader) remember(name []byte) error {
	if r.more != nil {
		if _, dup := r.more[string(name)]; dup {
			return errDuplicate
		}
		r.more[string(name)] = struct{}{}
		return nil
	}
	for _, s := range r.seen[:r.nseen] {
		if bytes.Equal(s, name) {
			return errDuplicate
		}
	}
	if r.nseen == len(r.seen) {
		r.more = make(map[string]struct{}, 2*len(r.seen))
		for _, s := range r.seen {
			r.more[string(s)] = struct{}{}
		}
		r.more[string(name)] = struct{}{}
		return nil
	}
	r.seen[r.nseen] = name
	r.nseen++
	return nil
}

var (
	errDuplicate = errors.New("duplicate member")
	errType      = errors.New("member of the wrong type")
)

// jsonStringBytes decodes a raw JSON value that must be a string. The
// result shares memory with v unless v holds escapes.
func jsonStringBytes(v []byte) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' {
		return nil, errType
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' || c >= 0x80 {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, errType
			}
			return []byte(s), nil
		}
	}
	return inner, nil
}

// jsonString decodes a raw JSON value that must be a string.
func jsonString(v []byte) (string, error) {
	b, err := jsonStringBytes(v)
	return string(b), err
}

// jsonNumericDate decodes a raw JSON value that must be a number, a
// NumericDate in seconds (RFC 7519 §2). Fractions are truncated.
func jsonNumericDate(v []byte) (int64, error) {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return 0, errType
	}
	// Avoid an allocation: strconv works on strings, and this conversion
	// of a short non-escaping byte slice does not allocate.
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsNaN(f) || f > math.MaxInt64/2 || f < math.MinInt64/2 {
		return 0, errType
	}
	return int64(f), nil
}

// jsonStrings decodes a raw JSON value that must be a string or an array
// of strings, as "aud" is (RFC 7519 §4.1.3).
func jsonStrings(v []byte) ([]string, error) {
	if len(v) > 0 && v[0] == '"' {
		s, err := jsonString(v)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	if len(v) == 0 || v[0] != '[' {
		return nil, errType
	}
	var out []string
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, errType
	}
	return out, nil
}
