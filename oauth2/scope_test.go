package oauth2

import (
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
