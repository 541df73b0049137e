package oauth2

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage/memory"
)

// handlerDocList is the list of paths Handler's doc comment must show:
// one line per row of the endpoints table, in its order.
func handlerDocList() string {
	var b strings.Builder
	for _, e := range endpoints {
		path := "{path}" + e.path
		if e.wellKnown {
			path = e.path + "{path}"
		}
		b.WriteString("  - " + path + ": " + e.doc + "\n")
	}
	return b.String()
}

// Handler's doc comment lists every path Handler serves, as the table
// Handler is built from has them: the doc cannot drift from the code.
func TestHandlerDocListsTheEndpointsTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "endpoints.go", nil, parser.ParseComments)
	require.NoError(t, err)
	var doc string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "Handler" && fn.Recv != nil {
			doc = fn.Doc.Text()
		}
	}
	require.NotEmpty(t, doc, "Provider.Handler's doc comment in endpoints.go")
	assert.Contains(t, doc, "\n\n"+handlerDocList()+"\n", "the list in Handler's doc comment, generated from the endpoints table:\n%s",
		strings.ReplaceAll("\n"+handlerDocList(), "\n", "\n// "))
}

// Handler serves exactly the enabled rows of the table.
func TestHandlerServesTheEndpointsTable(t *testing.T) {
	store := memory.New()
	p, err := NewProvider(Config{Issuer: "https://as.example/oauth", Clients: store, Tokens: store, TokenKeys: [][]byte{make([]byte, 32)},
		Grants: []GrantFactory{func(*Provider) (GrantHandler, error) { return refusingGrant{}, nil }}})
	require.NoError(t, err)
	h, ok := p.Handler().(*providerHandler)
	require.True(t, ok)
	want := map[string]bool{}
	for _, e := range endpoints {
		if e.enabled == nil || e.enabled(p) {
			want[p.endpointPath(e)] = true
		}
	}
	got := map[string]bool{}
	for _, rt := range h.paths {
		got[rt.full] = true
	}
	assert.Equal(t, map[string]bool{
		"/oauth/token": true, "/oauth/revoke": true, "/oauth/introspect": true,
		"/.well-known/oauth-authorization-server/oauth": true,
	}, got)
	assert.Equal(t, want, got)
}

// refusingGrant is a client credentials grant that issues nothing: a
// Provider needs a grant, and this package's tests cannot import grant.
type refusingGrant struct{}

func (refusingGrant) GrantType() string { return "client_credentials" }

func (refusingGrant) HandleTokenRequest(context.Context, *TokenRequest) (*Issue, error) {
	return nil, NewError(ErrInvalidGrant, "no")
}
