package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// endpointLine is a line of the start-up banner that names an endpoint.
var endpointLine = regexp.MustCompile(`(?m)^  ([A-Za-z ]+):\s+(http://\S+)$`)

// The start-up banner lists every endpoint the server serves: each URL of
// the metadata document (RFC 8414 §2), the metadata document itself (§3)
// and the login page; and every endpoint it lists answers.
func TestBannerListsEveryEndpoint(t *testing.T) {
	for _, format := range []string{"opaque", "jwt"} {
		t.Run(format, func(t *testing.T) {
			addr, out := startServer(t, "-tokens", format)
			issuer := "http://" + addr
			listed := map[string]bool{}
			for _, m := range endpointLine.FindAllStringSubmatch(out.String(), -1) {
				listed[m[2]] = true
			}

			metadataURL := issuer + "/.well-known/oauth-authorization-server"
			resp, err := http.Get(metadataURL)
			require.NoError(t, err)
			defer resp.Body.Close()
			var md map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
			served := []string{metadataURL, issuer + "/login"}
			for field, v := range md {
				if u, ok := v.(string); ok && (strings.HasSuffix(field, "_endpoint") || strings.HasSuffix(field, "_uri")) {
					served = append(served, u)
				}
			}
			if format == "jwt" {
				assert.Contains(t, served, issuer+"/jwks.json", "the metadata lists the JWKS")
			}
			for _, u := range served {
				assert.True(t, listed[u], "the banner lists %s:\n%s", u, out)
			}
			for u := range listed {
				if u == issuer {
					continue // the issuer identifier, not an endpoint
				}
				r, err := http.Get(u)
				require.NoError(t, err)
				r.Body.Close()
				assert.NotEqual(t, http.StatusNotFound, r.StatusCode, "the banner lists %s, which is not served", u)
			}
		})
	}
}

// bannerCurl returns the curl line of the banner that follows the line
// starting with intro.
func bannerCurl(t *testing.T, out, intro string) string {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, intro) && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	t.Fatalf("no line %q in the banner:\n%s", intro, out)
	return ""
}

// curl sends the request of a curl command line made of -s, -u USER:PASS,
// -d NAME=VALUE and a URL, as curl would (a form POST, with Basic
// authentication when -u is there), with TOKEN replaced by token, and
// returns the status and the decoded JSON body, if any.
func curl(t *testing.T, line, token string) (int, map[string]any) {
	t.Helper()
	fields := strings.Fields(strings.ReplaceAll(line, "TOKEN", token))
	require.Equal(t, "curl", fields[0], line)
	form := url.Values{}
	var user, pass, target string
	for i := 1; i < len(fields); i++ {
		switch fields[i] {
		case "-s":
		case "-u":
			i++
			user, pass, _ = strings.Cut(fields[i], ":")
		case "-d":
			i++
			name, value, _ := strings.Cut(fields[i], "=")
			form.Add(name, value)
		default:
			require.Empty(t, target, "one URL in %s", line)
			target = fields[i]
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, target, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body map[string]any
	if len(data) > 0 { // a revocation answers 200 with no body (RFC 7009 §2.2)
		require.NoError(t, json.Unmarshal(data, &body), line)
	}
	return resp.StatusCode, body
}

// The curl lines of the banner work as printed: get a token, introspect
// it as the demo API, revoke it as the demo client; then it is inactive.
func TestBannerCurlLinesGetIntrospectAndRevokeAToken(t *testing.T) {
	_, out := startServer(t)
	status, body := curl(t, bannerCurl(t, out.String(), "Get a token:"), "")
	require.Equal(t, http.StatusOK, status, body)
	tok, _ := body["access_token"].(string)
	require.NotEmpty(t, tok)

	introspect := bannerCurl(t, out.String(), "Introspect it")
	status, body = curl(t, introspect, tok)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, true, body["active"])
	assert.Equal(t, demoClientID, body["client_id"])

	status, body = curl(t, bannerCurl(t, out.String(), "Revoke it"), tok)
	assert.Equal(t, http.StatusOK, status, body)
	_, body = curl(t, introspect, tok)
	assert.Equal(t, map[string]any{"active": false}, body, "RFC 7009 §2.1: revoked at once")
}

// The device flow's curl lines of the banner work as printed: the first
// starts a device authorization (RFC 8628 §3.1); once the user has
// approved it on the device page, the second, with its device code, gets
// the tokens (§3.4).
func TestBannerCurlLinesRunTheDeviceFlow(t *testing.T) {
	addr, out := startServer(t, "-device-interval", "1s")
	status, body := curl(t, bannerCurl(t, out.String(), "Try the device flow"), "")
	require.Equal(t, http.StatusOK, status, body)
	deviceCode, _ := body["device_code"].(string)
	complete, _ := body["verification_uri_complete"].(string)
	require.NotEmpty(t, deviceCode)
	assert.Equal(t, "http://"+addr+devicePath, body["verification_uri"])
	assert.Contains(t, out.String(), "http://"+addr+devicePath+" and type its user_code")

	pollLine := strings.ReplaceAll(bannerCurl(t, out.String(), "then poll with its device_code"), "DEVICE_CODE", deviceCode)
	status, body = curl(t, pollLine, "")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "authorization_pending", body["error"])

	b := newTestBrowser(t, addr)
	dev := deviceLogin(t, b, pagePath(t, complete))
	confirm := submitCode(t, b, dev, userCodeInput(t, dev))
	require.Equal(t, http.StatusOK, decideDevice(t, b, confirm, "approve").status)
	time.Sleep(time.Second) // the interval the answer gave
	status, body = curl(t, pollLine, "")
	require.Equal(t, http.StatusOK, status, body)
	assert.NotEmpty(t, body["access_token"])
	assert.Equal(t, "read", body["scope"])
}

// README.md's curl lines are the banner's, with placeholders for the
// secrets, the token, the code, the verifier, the device code and the
// assertion; the server runs with -trusted-issuers, as README.md's JWT
// bearer example does.
func TestReadmeCurlLinesAreTheBanners(t *testing.T) {
	addr, out := startServer(t, "-trusted-issuers", writeTrustedIssuers(t, idpIssuer, newSigningKey(t, "k1")))
	var banner []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "curl ") {
			banner = append(banner, strings.Join(strings.Fields(l), " "))
		}
	}
	secrets := map[string]string{}
	for _, m := range secretLine.FindAllStringSubmatch(out.String(), -1) {
		secrets[m[1]] = m[2]
	}
	verifier := regexp.MustCompile(`code_verifier=(\S+)`).FindStringSubmatch(out.String())
	require.Len(t, verifier, 2)

	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	lines := readmeCurlLines(string(readme), "## Try the example server")
	require.GreaterOrEqual(t, len(lines), 8, "README.md shows how to get, introspect and revoke a token, redeem a code, run the device flow, exchange a token and present an assertion")
	for _, l := range lines {
		r := []string{"http://127.0.0.1:8080", "http://" + addr, "code_verifier=VERIFIER", "code_verifier=" + verifier[1]}
		if strings.Contains(l, " -u ") {
			user := regexp.MustCompile(`-u ([^: ]+):SECRET`).FindStringSubmatch(l)
			require.Len(t, user, 2, "%q authenticates as a demo client with SECRET", l)
			r = append(r, user[1]+":SECRET", user[1]+":"+secrets[user[1]])
		} else {
			assert.Contains(t, l, "client_id="+demoDeviceClientID, "%q: only the public demo client sends no secret", l)
		}
		want := strings.NewReplacer(r...).Replace(l)
		assert.Contains(t, banner, want, "README.md's %q is what the server prints", l)
	}
}

// readmeCurlLines returns the curl lines of the ```sh blocks of a section
// of a Markdown document, continuation lines joined and spaces collapsed.
func readmeCurlLines(doc, section string) []string {
	_, rest, _ := strings.Cut(doc, "\n"+section+"\n")
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	var lines []string
	inSh := false
	var cur string
	for _, l := range strings.Split(rest, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			inSh = true
		case strings.HasPrefix(l, "```"):
			inSh = false
		case inSh:
			cur += " " + strings.TrimSuffix(l, `\`)
			if !strings.HasSuffix(l, `\`) {
				if c := strings.Join(strings.Fields(cur), " "); strings.HasPrefix(c, "curl ") {
					lines = append(lines, c)
				}
				cur = ""
			}
		}
	}
	return lines
}

// Which demo client sees which token at the introspection endpoint, as
// README.md says: a client sees the tokens issued to it, demo-api every
// token whose audience is the issuer, and any other token is answered
// {"active":false}, as a bad token is (RFC 7662 §4). Only the client a
// token was issued to may revoke it (RFC 7009 §2.1).
func TestDemoClientsSeeAndRevokeTheTokensTheyMay(t *testing.T) {
	addr, out := startServer(t)
	cb := newCallback(t)
	cf := &codeFlow{addr: addr, cfg: demoWebConfig(t, addr, out.String(), cb.URL), cb: cb}
	b := newTestBrowser(t, addr)
	f := cf.start(t, b, "xyz")
	r := f.decide(t, f.consent(t), "approve")
	require.Equal(t, http.StatusSeeOther, r.status)
	require.Equal(t, http.StatusOK, b.get(r.location()).status)
	web, err := cf.cfg.Exchange(context.Background(), (<-cb.queries).Get("code"), xoauth2.VerifierOption(f.verifier))
	require.NoError(t, err)

	_, body := curl(t, bannerCurl(t, out.String(), "Get a token:"), "")
	cc, _ := body["access_token"].(string)
	require.NotEmpty(t, cc)

	secrets := map[string]string{}
	for _, m := range secretLine.FindAllStringSubmatch(out.String(), -1) {
		secrets[m[1]] = m[2]
	}
	introspect := func(caller, tok string) any {
		_, body := curl(t, "curl -u "+caller+":"+secrets[caller]+" -d token=TOKEN http://"+addr+"/introspect", tok)
		return body["active"]
	}
	for _, c := range []struct {
		caller, whose string
		tok           string
		active        bool
	}{
		{demoClientID, "its own", cc, true},
		{demoClientID, "demo-web's", web.AccessToken, false},
		{demoClientID, "a bad one", "gr_at_nonsense", false},
		{demoWebClientID, "its own", web.AccessToken, true},
		{demoWebClientID, "demo-client's", cc, false},
		{demoAPIClientID, "demo-client's", cc, true},
		{demoAPIClientID, "demo-web's", web.AccessToken, true},
	} {
		assert.Equal(t, c.active, introspect(c.caller, c.tok), "%s introspects %s token", c.caller, c.whose)
	}

	for _, caller := range []string{demoWebClientID, demoAPIClientID} {
		status, body := curl(t, "curl -u "+caller+":"+secrets[caller]+" -d token=TOKEN http://"+addr+"/revoke", cc)
		assert.Equal(t, http.StatusBadRequest, status, "%s revokes demo-client's token", caller)
		assert.Equal(t, "unauthorized_client", body["error"], caller)
	}
	assert.Equal(t, true, introspect(demoClientID, cc), "the token stays active")
}

// README.md's example of a -clients file loads, and its client gets a
// token with the method and secret the file gives it.
func TestReadmeClientsFileWorks(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, _ := strings.Cut(string(readme), "\n## Try the example server\n")
	_, block, ok := strings.Cut(section, "```json\n")
	require.True(t, ok, "README.md shows a clients file")
	block, _, _ = strings.Cut(block, "```")
	var clients []struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
		Method string `json:"token_endpoint_auth_method"`
		Scope  string `json:"scope"`
	}
	require.NoError(t, json.Unmarshal([]byte(block), &clients))
	require.Len(t, clients, 1)
	c := clients[0]
	require.Equal(t, "client_secret_post", c.Method, "the test below sends the secret in the body")

	path := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(path, []byte(block), 0o600))
	addr, _ := startServer(t, "-clients", path)
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: "http://" + addr + "/token",
		Scopes: strings.Fields(c.Scope), AuthStyle: xoauth2.AuthStyleInParams}
	tok, err := cc.Token(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
}
