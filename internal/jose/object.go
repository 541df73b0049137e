package jose

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// encoding/json silently keeps the last of duplicate members; RFC 7515
// §5.2 and RFC 7519 §4 let a parser reject them, and Grantor does,
// so that {"alg":"ES256","alg":"none"} or two "exp" members mean nothing
// but an error.

// Errors of ObjectReader and of the value decoders. They never quote the
// input.
var (
	// ErrMalformed means the input is not one valid JSON object
	// (RFC 8259 §4), with nothing after it but whitespace.
	ErrMalformed = errors.New("jose: not a JSON object")
	// ErrTooDeep means the object is nested deeper than the limit given
	// to ObjectReader.Init (Authlib CVE-2025-61920).
	ErrTooDeep = errors.New("jose: JSON nested too deeply")
	// ErrDuplicate means a member name occurs twice at the top level,
	// compared after unescaping (RFC 7515 §5.2).
	ErrDuplicate = errors.New("jose: duplicate member")
	// ErrType means a member's value has the wrong JSON type or range.
	ErrType = errors.New("jose: member of the wrong type")
)

// ObjectReader iterates over the members of the top level of a JSON
// object, such as a JOSE Header (RFC 7515 §4) or a JWT Claims Set
// (RFC 7519 §4), without building a map, and fails on a member name seen
// before. Names are compared as encoding/json would decode them:
// "\u0061lg" is "alg", and invalid UTF-8 reads as U+FFFD.
//
// It is meant to live on the caller's stack and allocates nothing for an
// object of up to 16 members whose names are ASCII without escapes. Call
// Init first; Init may be called again to read another object.
type ObjectReader struct {
	b     []byte
	i     int
	seen  [16][]byte // names seen so far; then more
	nseen int
	more  map[string]struct{}
}

// Init starts reading b, which must be exactly one valid JSON object
// (ErrMalformed) nested at most maxDepth levels deep, counting the object
// itself as the first level (ErrTooDeep): with maxDepth 2,
// {"a":{"b":1}} is accepted and {"a":[[1]]} is not. maxDepth <= 0 sets no
// limit beyond encoding/json's own.
//
// The limit is checked here, on the whole input, so that a caller that
// stops reading early has still applied it.
func (r *ObjectReader) Init(b []byte, maxDepth int) error {
	*r = ObjectReader{}
	if !json.Valid(b) {
		return ErrMalformed
	}
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	if i >= len(b) || b[i] != '{' {
		return ErrMalformed
	}
	if maxDepth > 0 && tooDeep(b[i:], maxDepth) {
		return ErrTooDeep
	}
	r.b, r.i = b, i+1
	return nil
}

// tooDeep reports whether the valid JSON text b nests objects and arrays
// more than max levels deep.
func tooDeep(b []byte, max int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
			if depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

func (r *ObjectReader) skipWS() {
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
// and reports whether it holds escapes or non-ASCII bytes, which
// encoding/json would rewrite.
func (r *ObjectReader) skipString() (special bool) {
	r.i++
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == '\\':
			special = true
			r.i += 2
		case c == '"':
			r.i++
			return special
		default:
			if c >= 0x80 {
				special = true
			}
			r.i++
		}
	}
	return special
}

func (r *ObjectReader) skipValue() {
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

// Next returns the next member's name, unescaped, and its raw JSON value;
// ok is false at the end of the object. A name seen before is
// ErrDuplicate; calling Next without a successful Init is ErrMalformed.
// The name and value may share memory with the input; decode the value
// with String, NumericDate or Strings, or with encoding/json.
func (r *ObjectReader) Next() (name, value []byte, ok bool, err error) {
	r.skipWS()
	if r.i >= len(r.b) {
		return nil, nil, false, ErrMalformed
	}
	if r.b[r.i] == '}' {
		return nil, nil, false, nil
	}
	if r.b[r.i] == ',' {
		r.i++
		r.skipWS()
	}
	start := r.i
	special := r.skipString()
	name = r.b[start+1 : r.i-1]
	if special {
		var s string
		if err := json.Unmarshal(r.b[start:r.i], &s); err != nil {
			return nil, nil, false, ErrMalformed
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

func (r *ObjectReader) remember(name []byte) error {
	if r.more != nil {
		if _, dup := r.more[string(name)]; dup {
			return ErrDuplicate
		}
		r.more[string(name)] = struct{}{}
		return nil
	}
	for _, s := range r.seen[:r.nseen] {
		if bytes.Equal(s, name) {
			return ErrDuplicate
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

// StringBytes decodes a raw JSON value from ObjectReader.Next that must be
// a string (ErrType otherwise), as encoding/json would. The result shares
// memory with v unless v holds escapes or non-ASCII bytes.
func StringBytes(v []byte) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, ErrType
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' || c >= 0x80 {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, ErrType
			}
			return []byte(s), nil
		}
	}
	return inner, nil
}

// String decodes a raw JSON value from ObjectReader.Next that must be a
// string (ErrType otherwise): null, a number or an array is not one.
func String(v []byte) (string, error) {
	b, err := StringBytes(v)
	return string(b), err
}

// maxNumericDate bounds NumericDate's floating-point path, so that the
// conversion to int64 is always defined.
const maxNumericDate = math.MaxInt64 / 2

// NumericDate decodes a raw JSON value from ObjectReader.Next that must be
// a NumericDate: a JSON number of seconds since the epoch, possibly
// fractional or negative (RFC 7519 §2). sec is its integer part, truncated
// toward zero, and frac its fractional part with the same sign, as
// math.Modf returns them: sec+frac is the value. A number without fraction
// or exponent that fits an int64 is exact; any other must be within ±2^62
// (ErrType otherwise). Callers apply their own range and may drop frac.
func NumericDate(v []byte) (sec int64, frac float64, err error) {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return 0, 0, ErrType
	}
	// strconv works on strings; this conversion of a short non-escaping
	// byte slice does not allocate.
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return n, 0, nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsNaN(f) || f > maxNumericDate || f < -maxNumericDate {
		return 0, 0, ErrType
	}
	whole, frac := math.Modf(f)
	return int64(whole), frac, nil
}

// Strings decodes a raw JSON value from ObjectReader.Next that must be a
// string or an array of strings, as "aud" is (RFC 7519 §4.1.3). An array
// element that is not a string (null included) is ErrType; an empty
// array gives an empty, non-nil slice.
func Strings(v []byte) ([]string, error) {
	if len(v) > 0 && v[0] == '"' {
		s, err := String(v)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	if len(v) < 2 || v[0] != '[' {
		return nil, ErrType
	}
	r := ObjectReader{b: v, i: 1}
	out := []string{}
	for {
		r.skipWS()
		if r.i >= len(v) {
			return nil, ErrType
		}
		if v[r.i] == ']' && len(out) == 0 {
			return out, nil
		}
		if v[r.i] != '"' {
			return nil, ErrType
		}
		start := r.i
		r.skipString()
		if r.i > len(v) || r.i-start < 2 || v[r.i-1] != '"' {
			return nil, ErrType
		}
		s, err := String(v[start:r.i])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		r.skipWS()
		switch {
		case r.i >= len(v):
			return nil, ErrType
		case v[r.i] == ']':
			return out, nil
		case v[r.i] == ',':
			r.i++
		default:
			return nil, ErrType
		}
	}
}
