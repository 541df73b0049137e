package jose_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/jose"
)

// readAll reads every member of b, returning names and raw values.
func readAll(b string, maxDepth int) (names, values []string, err error) {
	var r jose.ObjectReader
	if err := r.Init([]byte(b), maxDepth); err != nil {
		return nil, nil, err
	}
	for {
		name, v, ok, err := r.Next()
		if err != nil {
			return names, values, err
		}
		if !ok {
			return names, values, nil
		}
		names = append(names, string(name))
		values = append(values, string(v))
	}
}

func TestObjectReaderMembers(t *testing.T) {
	names, values, err := readAll(` { "alg" : "ES256" ,"x":{"a":[1,"}",{"b":"]"}]}, "n":-1.5e3,"t":true,"z":null,"s":"\"}"}`+"\n", 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"alg", "x", "n", "t", "z", "s"}, names)
	assert.Equal(t, []string{`"ES256"`, `{"a":[1,"}",{"b":"]"}]}`, `-1.5e3`, `true`, `null`, `"\"}"`}, values)

	t.Run("an empty object", func(t *testing.T) {
		names, _, err := readAll(`{}`, 1)
		assert.NoError(t, err)
		assert.Empty(t, names)
	})
	t.Run("escaped names are unescaped", func(t *testing.T) {
		names, _, err := readAll(`{"\u0061lg":1,"a\/b":2,"\u00e9":3}`, 0)
		require.NoError(t, err)
		assert.Equal(t, []string{"alg", "a/b", "é"}, names)
	})
	t.Run("Next after the end keeps reporting the end", func(t *testing.T) {
		var r jose.ObjectReader
		require.NoError(t, r.Init([]byte(`{"a":1}`), 0))
		_, _, ok, err := r.Next()
		require.True(t, ok)
		require.NoError(t, err)
		for range 2 {
			_, _, ok, err = r.Next()
			assert.False(t, ok)
			assert.NoError(t, err)
		}
	})
	t.Run("Init resets the names seen", func(t *testing.T) {
		var r jose.ObjectReader
		for range 2 {
			require.NoError(t, r.Init([]byte(`{"a":1}`), 0))
			_, _, ok, err := r.Next()
			assert.True(t, ok)
			assert.NoError(t, err)
		}
	})
	t.Run("Next without a successful Init fails", func(t *testing.T) {
		var r jose.ObjectReader
		_, _, ok, err := r.Next()
		assert.False(t, ok)
		assert.ErrorIs(t, err, jose.ErrMalformed)
		require.Error(t, r.Init([]byte(` ["a",1]`), 0))
		_, _, ok, err = r.Next()
		assert.False(t, ok)
		assert.ErrorIs(t, err, jose.ErrMalformed)
	})
	t.Run("a small ASCII object allocates nothing", func(t *testing.T) {
		if raceEnabled {
			t.Skip("allocation counts are meaningless under -race")
		}
		b := []byte(`{"iss":"https://as.example","sub":"alice","aud":["a","b"],"exp":1,"iat":0,"jti":"x","x":{"y":[1]}}`)
		assert.Zero(t, testing.AllocsPerRun(100, func() {
			var r jose.ObjectReader
			_ = r.Init(b, 16)
			for {
				_, v, ok, err := r.Next()
				if err != nil || !ok {
					return
				}
				_, _ = jose.StringBytes(v)
				_, _, _ = jose.NumericDate(v)
			}
		}))
	})
}

// TestObjectReaderDuplicates: a member
// name that occurs twice at the top level, compared as encoding/json
// decodes names, is an error (RFC 7515 §5.2, RFC 7519 §4).
func TestObjectReaderDuplicates(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, `"m%d":%d,`, i, i)
		}
		return b.String()
	}
	rows := []struct {
		name string
		obj  string
		ok   bool
	}{
		{name: "duplicate alg", obj: `{"alg":"ES256","alg":"none"}`},
		{name: "duplicate with the same value", obj: `{"exp":1,"exp":1}`},
		{name: "duplicate through an escape", obj: `{"alg":"ES256","\u0061lg":"ES256"}`},
		{name: "duplicate, both escaped differently", obj: `{"\u0061lg":1,"\u0061\u006cg":2}`},
		{name: "duplicate, escaped first", obj: `{"\u0069ss":"a","iss":"b"}`},
		{name: "duplicate through an escaped solidus", obj: `{"a/b":1,"a\/b":2}`},
		{name: "duplicate of a non-ASCII name, escaped", obj: `{"é":1,"\u00e9":2}`},
		{name: "invalid UTF-8 names both read as U+FFFD", obj: "{\"\xff\":1,\"\xfe\":2}"},
		{name: "invalid UTF-8 and a literal U+FFFD", obj: "{\"\xff\":1,\"\uFFFD\":2}"},
		{name: "duplicate among 16 names", obj: many(15) + `"m3":0}`},
		{name: "duplicate after 16 names", obj: many(20) + `"m19":0}`},
		{name: "duplicate of an early name after 16", obj: many(17) + `"m0":0}`},
		{name: "duplicate of the 16th name, as the 17th", obj: many(16) + `"m15":0}`},
		{name: "17 distinct names", obj: many(16) + `"last":0}`, ok: true},
		{name: "40 distinct names", obj: many(39) + `"last":0}`, ok: true},
		{name: "names differing in case are distinct", obj: `{"alg":1,"ALG":2,"Alg":3}`, ok: true},
		{name: "a name that is a prefix of another", obj: `{"a":1,"ab":2,"abc":3}`, ok: true},
		{name: "nested duplicates are not the top level's", obj: `{"x":{"a":1,"a":2},"a":3}`, ok: true},
		{name: "a nested name equal to a top-level one", obj: `{"alg":"ES256","jwk":{"alg":"ES256"}}`, ok: true},
		{name: "the empty name once", obj: `{"":1}`, ok: true},
		{name: "the empty name twice", obj: `{"":1,"":2}`},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, _, err := readAll(r.obj, 0)
			if r.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, jose.ErrDuplicate)
			}
		})
	}
}

func TestObjectReaderMalformed(t *testing.T) {
	for _, r := range []struct{ name, in string }{
		{"empty input", ""},
		{"whitespace only", " \n"},
		{"an array", `["alg","ES256"]`},
		{"a string", `"x"`},
		{"null", `null`},
		{"a number", `1`},
		{"not JSON", `{alg:"ES256"}`},
		{"truncated", `{"alg":"ES256"`},
		{"trailing data", `{"alg":"ES256"}x`},
		{"two objects", `{"a":1}{"b":2}`},
		{"a trailing comma", `{"a":1,}`},
		{"single quotes", `{'a':1}`},
		{"a raw control character in a string", "{\"a\":\"\x01\"}"},
		{"a bad escape", `{"\q":1}`},
	} {
		t.Run(r.name, func(t *testing.T) {
			_, _, err := readAll(r.in, 0)
			assert.ErrorIs(t, err, jose.ErrMalformed)
		})
	}
}

// TestObjectReaderDepth: nesting is bounded, counting the object itself as
// the first level, so that hostile input cannot make parsing expensive
// (Authlib CVE-2025-61920).
func TestObjectReaderDepth(t *testing.T) {
	nest := func(n int) string { return `{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}` }
	objs := func(n int) string { return strings.Repeat(`{"a":`, n) + `1` + strings.Repeat("}", n) }
	rows := []struct {
		name string
		obj  string
		max  int
		ok   bool
	}{
		{name: "16 levels with a limit of 16", obj: nest(15), max: 16, ok: true},
		{name: "17 levels with a limit of 16", obj: nest(16), max: 16},
		{name: "17 nested objects with a limit of 16", obj: objs(17), max: 16},
		{name: "16 nested objects with a limit of 16", obj: objs(16), max: 16, ok: true},
		{name: "5000 levels with a limit of 16", obj: nest(5000), max: 16},
		{name: "a flat object with a limit of 1", obj: `{"a":1,"b":"[[["}`, max: 1, ok: true},
		{name: "an empty array with a limit of 1", obj: `{"a":[]}`, max: 1},
		{name: "siblings do not add up", obj: `{"a":[[1]],"b":[[2]],"c":{"d":[3]}}`, max: 3, ok: true},
		{name: "brackets inside strings do not count", obj: `{"x":"` + strings.Repeat("[", 100) + `"}`, max: 2, ok: true},
		{name: "escaped quotes do not end a string", obj: `{"x":"\"[[[[","y":"\\"}`, max: 1, ok: true},
		{name: "brackets inside names do not count", obj: `{"[[[[":1}`, max: 1, ok: true},
		{name: "no limit: 3000 levels", obj: nest(3000), max: 0, ok: true},
		{name: "a negative limit is no limit", obj: nest(100), max: -1, ok: true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, _, err := readAll(r.obj, r.max)
			if r.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, jose.ErrTooDeep)
			}
		})
	}
	t.Run("the limit holds for a caller that reads no member", func(t *testing.T) {
		var r jose.ObjectReader
		assert.ErrorIs(t, r.Init([]byte(nest(16)), 16), jose.ErrTooDeep)
	})
}

func TestString(t *testing.T) {
	for _, r := range []struct {
		name, in, want string
		ok             bool
	}{
		{name: "plain", in: `"ES256"`, want: "ES256", ok: true},
		{name: "empty", in: `""`, want: "", ok: true},
		{name: "escapes", in: `"at\u002bjwt\n\"\\"`, want: "at+jwt\n\"\\", ok: true},
		{name: "non-ASCII", in: `"é"`, want: "é", ok: true},
		{name: "invalid UTF-8 reads as U+FFFD, as in encoding/json", in: "\"a\xffb\"", want: "a\uFFFDb", ok: true},
		{name: "null is not a string", in: `null`},
		{name: "a number is not a string", in: `1`},
		{name: "an array of a string is not a string", in: `["a"]`},
		{name: "an object is not a string", in: `{}`},
		{name: "true is not a string", in: `true`},
		{name: "an empty value", in: ``},
		{name: "a lone quote", in: `"`},
		{name: "unterminated", in: `"abc`},
	} {
		t.Run(r.name, func(t *testing.T) {
			got, err := jose.String([]byte(r.in))
			if r.ok {
				assert.NoError(t, err)
				assert.Equal(t, r.want, got)
			} else {
				assert.ErrorIs(t, err, jose.ErrType)
			}
		})
	}
}

func TestNumericDate(t *testing.T) {
	for _, r := range []struct {
		name string
		in   string
		sec  int64
		frac float64
		ok   bool
	}{
		{name: "an integer", in: `1700000000`, sec: 1700000000, ok: true},
		{name: "zero", in: `0`, ok: true},
		{name: "negative zero", in: `-0`, ok: true},
		{name: "a negative integer", in: `-5`, sec: -5, ok: true},
		{name: "a fraction", in: `1.5`, sec: 1, frac: .5, ok: true},
		{name: "a negative fraction truncates toward zero", in: `-1.5`, sec: -1, frac: -.5, ok: true},
		{name: "a negative fraction of less than a second", in: `-0.25`, sec: 0, frac: -.25, ok: true},
		{name: "an exponent", in: `1.7e9`, sec: 1700000000, ok: true},
		{name: "the largest int64, exactly", in: `9223372036854775807`, sec: math.MaxInt64, ok: true},
		{name: "2^62 as a float", in: `4.611686018427387904e18`, sec: 1 << 62, ok: true},
		{name: "beyond int64", in: `9223372036854775808`},
		{name: "beyond 2^62 as a float", in: `4.7e18`},
		{name: "below -2^62 as a float", in: `-4.7e18`},
		{name: "overflowing float64", in: `1e999`},
		{name: "a string", in: `"1700000000"`},
		{name: "null", in: `null`},
		{name: "true", in: `true`},
		{name: "an array", in: `[1]`},
		{name: "empty", in: ``},
	} {
		t.Run(r.name, func(t *testing.T) {
			sec, frac, err := jose.NumericDate([]byte(r.in))
			if r.ok {
				assert.NoError(t, err)
				assert.Equal(t, r.sec, sec)
				assert.Equal(t, r.frac, frac)
			} else {
				assert.ErrorIs(t, err, jose.ErrType)
			}
		})
	}
}

// TestStrings covers "aud" (RFC 7519 §4.1.3): a
// string or an array of strings.
func TestStrings(t *testing.T) {
	for _, r := range []struct {
		name string
		in   string
		want []string
		ok   bool
	}{
		{name: "a string", in: `"a"`, want: []string{"a"}, ok: true},
		{name: "the empty string", in: `""`, want: []string{""}, ok: true},
		{name: "an array", in: `["a","b\u0063"]`, want: []string{"a", "bc"}, ok: true},
		{name: "an array with whitespace", in: "[ \"a\" ,\n\"b\" ]", want: []string{"a", "b"}, ok: true},
		{name: "an empty array", in: `[]`, want: []string{}, ok: true},
		{name: "an empty array with whitespace", in: `[ ]`, want: []string{}, ok: true},
		{name: "a null element", in: `["a",null]`},
		{name: "a number element", in: `[1]`},
		{name: "an object element", in: `[{}]`},
		{name: "a nested array", in: `[["a"]]`},
		{name: "a number", in: `1`},
		{name: "null", in: `null`},
		{name: "an object", in: `{"a":"b"}`},
		{name: "unterminated array", in: `["a"`},
		{name: "unterminated element", in: `["a`},
		{name: "a trailing comma", in: `["a",]`},
		{name: "empty", in: ``},
	} {
		t.Run(r.name, func(t *testing.T) {
			got, err := jose.Strings([]byte(r.in))
			if r.ok {
				assert.NoError(t, err)
				assert.Equal(t, r.want, got)
			} else {
				assert.ErrorIs(t, err, jose.ErrType)
			}
		})
	}
}

func BenchmarkObjectReader(b *testing.B) {
	claims := []byte(`{"iss":"https://as.example.com","sub":"alice","aud":"https://rs.example.com","client_id":"client-1","iat":1700000000,"exp":1700000300,"jti":"8xI2yV0nM0cC8S1eYk0c5w7hQ2sJ3pLq","scope":"read write"}`)
	b.ReportAllocs()
	for b.Loop() {
		var r jose.ObjectReader
		if err := r.Init(claims, 16); err != nil {
			b.Fatal(err)
		}
		for {
			_, v, ok, err := r.Next()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			_, _ = jose.StringBytes(v)
		}
	}
}
