package oauth2

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

func TestParseScope(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
		bad  bool
	}{
		{name: "empty is absent", in: "", want: nil},
		{name: "one", in: "read", want: []string{"read"}},
		{name: "several", in: "read write admin:all", want: []string{"read", "write", "admin:all"}},
		{name: "repeats dropped", in: "read read write", want: []string{"read", "write"}},
		{name: "double space", in: "read  write", bad: true},
		{name: "leading space", in: " read", bad: true},
		{name: "trailing space", in: "read ", bad: true},
		{name: "quote", in: `re"ad`, bad: true},
		{name: "backslash", in: `re\ad`, bad: true},
		{name: "tab", in: "read\twrite", bad: true},
		{name: "non-ASCII", in: "réad", bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseScope(c.in)
			if c.bad {
				assert.ErrorIs(t, err, ErrInvalidScope)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestClientScopes(t *testing.T) {
	c := &storage.Client{Scopes: []string{"a", "b"}, DefaultScopes: []string{"a"}}
	got, err := ClientScopes(c, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, got)
	got, err = ClientScopes(c, []string{"b", "a"})
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "a"}, got)
	_, err = ClientScopes(c, []string{"a", "c"})
	assert.ErrorIs(t, err, ErrInvalidScope)
}

// ParseScope de-duplicates many tokens through a set, keeping the first
// occurrence of each in order; the result is the same as for few.
func TestParseScopeManyTokens(t *testing.T) {
	toks := make([]string, 0, 20_000)
	for i := range 10_000 {
		toks = append(toks, "s"+strconv.Itoa(i))
	}
	toks = append(toks, toks...) // each twice
	got, err := ParseScope(strings.Join(toks, " "))
	require.NoError(t, err)
	assert.Equal(t, toks[:10_000], got)
}

// BenchmarkParseScope shows ParseScope's cost growing linearly with the
// number of tokens (it was quadratic: 100,000 tokens took 21.7 s).
func BenchmarkParseScope(b *testing.B) {
	for _, n := range []int{10, 1_000, 10_000, 100_000} {
		toks := make([]string, n)
		for i := range toks {
			toks[i] = "scope" + strconv.Itoa(i)
		}
		s := strings.Join(toks, " ")
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseScope(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
