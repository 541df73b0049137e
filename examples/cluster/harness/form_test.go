package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loginPage and consentPage are the example server's pages as its
// templates render them (examples/server/templates), with html/template's
// escaping of the values.
const (
	loginPage = `<!doctype html><html lang="en"><head><title>Log in</title></head><body><main>
<p><strong>Cluster load: web app</strong> wants to access your account. Log in to continue.</p>
<form method="post" action="/login">
<input type="hidden" name="interaction" value="gr_ix_abc">
<input type="hidden" name="csrf" value="q&#43;1_-Zz">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form></main></body></html>`
	consentPage = `<p>Logged in as <strong>Load load1</strong>.</p>
<ul class="scopes"><li>Read your data <code>read</code></li></ul>
<form method="post" action="/consent">
<input type="hidden" name="interaction" value="gr_ix_abc">
<input type="hidden" name="csrf" value="c2">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`
)

func TestParseFormReadsTheHiddenFieldsOfThePages(t *testing.T) {
	f, err := parseForm(loginPage, "/login")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"interaction": "gr_ix_abc", "csrf": "q+1_-Zz"}, f.hidden,
		"the hidden inputs only, their values unescaped as a browser does")

	f, err = parseForm(consentPage, "/consent")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"interaction": "gr_ix_abc", "csrf": "c2"}, f.hidden)
	csrf, err := f.field("csrf")
	require.NoError(t, err)
	assert.Equal(t, "c2", csrf)
}

func TestParseFormRules(t *testing.T) {
	for _, tc := range []struct {
		name, page string
		want       map[string]string
	}{
		{"attributes in any order", `<form action="/login"><input value="v" name="csrf" type="hidden"></form>`,
			map[string]string{"csrf": "v"}},
		{"single-quoted and unquoted values", `<form action='/login'><input type=hidden name='csrf' value=v1><input type="HIDDEN" name=interaction value='i&amp;2'></form>`,
			map[string]string{"csrf": "v1", "interaction": "i&2"}},
		{"upper-case tags", `<FORM ACTION="/login"><INPUT TYPE="hidden" NAME="csrf" VALUE="v"></FORM>`,
			map[string]string{"csrf": "v"}},
		{"self-closing inputs", `<form action="/login"><input type="hidden" name="csrf" value="v"/></form>`,
			map[string]string{"csrf": "v"}},
		{"the form whose action matches, not the first", `<form action="/other"><input type="hidden" name="csrf" value="no"></form>` +
			`<form action="/login"><input type="hidden" name="csrf" value="yes"></form>`,
			map[string]string{"csrf": "yes"}},
		{"inputs after the form's end are not its own", `<form action="/login"><input type="hidden" name="csrf" value="in"></form>` +
			`<input type="hidden" name="interaction" value="out">`,
			map[string]string{"csrf": "in"}},
		{"text and password inputs are not hidden fields", `<form action="/login"><input name="username" value="u"><input type="password" name="password" value="p"></form>`,
			map[string]string{}},
		{"the first of two attributes of one name wins", `<form action="/login"><input type="hidden" name="csrf" value="first" value="second"></form>`,
			map[string]string{"csrf": "first"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseForm(tc.page, "/login")
			require.NoError(t, err)
			assert.Equal(t, tc.want, f.hidden)
		})
	}
}

func TestParseFormErrors(t *testing.T) {
	_, err := parseForm(`<p>Too many login attempts.</p>`, "/login")
	assert.ErrorContains(t, err, "no form posting to /login", "a page without the form")
	_, err = parseForm(consentPage, "/login")
	assert.ErrorContains(t, err, "no form posting to /login", "another page's form")

	f, err := parseForm(`<form action="/login"><input type="hidden" name="csrf" value=""></form>`, "/login")
	require.NoError(t, err)
	_, err = f.field("csrf")
	assert.ErrorContains(t, err, "no csrf field", "an empty field is as good as none")
	_, err = f.field("interaction")
	assert.ErrorContains(t, err, "no interaction field")
}
