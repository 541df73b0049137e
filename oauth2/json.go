package oauth2

import (
	"strconv"
	"sync"
)

// The token and introspection responses are written on every request.
// Encoding them with encoding/json costs reflection over a struct whose
// members are nearly always plain ASCII strings (tokens, identifiers,
// scopes) and numbers, so they are appended by hand instead, with
// encoding/json as the fallback whenever a string would need escaping. The
// bytes are the same either way; tests compare the two.

// jsonBuffers holds buffers for the responses built by hand. A response
// carries tokens: a buffer is cleared before it goes back.
var jsonBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

// maxPooledJSONBuf is the largest buffer put back into jsonBuffers.
const maxPooledJSONBuf = 16 << 10

func putJSONBuffer(buf *[]byte, b []byte) {
	clear(b)
	if cap(b) > maxPooledJSONBuf {
		return
	}
	*buf = b[:0]
	jsonBuffers.Put(buf)
}

// jsonPlain reports whether encoding/json encodes s as s itself between
// quotes: printable ASCII other than the quote, the backslash, and the
// characters it escapes for HTML (<, >, &).
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// plainObject appends a flat JSON object member by member, as
// encoding/json encodes a struct with those members in that order. Plain
// is false once a string that jsonPlain refuses was seen; the bytes are
// then not the encoding, and the caller falls back to encoding/json.
type plainObject struct {
	b       []byte
	plain   bool
	members int
}

func newPlainObject(b []byte) plainObject { return plainObject{b: append(b, '{'), plain: true} }

func (o *plainObject) name(name string) {
	if o.members > 0 {
		o.b = append(o.b, ',')
	}
	o.members++
	o.b = append(o.b, '"')
	o.b = append(o.b, name...)
	o.b = append(o.b, '"', ':')
}

func (o *plainObject) quoted(s string) {
	o.plain = o.plain && jsonPlain(s)
	o.b = append(o.b, '"')
	o.b = append(o.b, s...)
	o.b = append(o.b, '"')
}

// str appends a string member; with omitEmpty, an empty string is left
// out, as the omitempty option does.
func (o *plainObject) str(name, s string, omitEmpty bool) {
	if omitEmpty && s == "" {
		return
	}
	o.name(name)
	o.quoted(s)
}

// strs appends a member whose value is a list of strings.
func (o *plainObject) strs(name string, list []string) {
	o.name(name)
	o.b = append(o.b, '[')
	for i, s := range list {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.quoted(s)
	}
	o.b = append(o.b, ']')
}

func (o *plainObject) int(name string, v int64) {
	o.name(name)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *plainObject) bool(name string, v bool) {
	o.name(name)
	o.b = strconv.AppendBool(o.b, v)
}

// end closes the object and returns it, and whether it is the encoding.
func (o *plainObject) end() ([]byte, bool) {
	return append(o.b, '}'), o.plain
}
