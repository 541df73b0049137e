package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
)

// A -trusted-issuers file that cannot be used stops the server at
// start-up, with an error that names the file and what is wrong with it:
// a private key in it (RFC 7517 §5: a published set holds public keys), a
// file that is not a JSON array of issuers, one that lists none, a
// jwks_uri that is not https (RFC 8414 §2), a missing file.
func TestBadTrustedIssuersFileStopsTheServer(t *testing.T) {
	dir := t.TempDir()
	key := newSigningKey(t, "k1")
	private, err := json.Marshal(map[string]any{"keys": []any{key.private}})
	require.NoError(t, err)
	for name, c := range map[string]struct{ content, says string }{
		"private key": {`[{"issuer": "https://idp.example", "jwks": ` + string(private) + `}]`, "public keys only"},
		"bad JSON":    {`[{"issuer": "https://idp.example", "jwks": {"keys": []}`, "not a JSON array"},
		"an object":   {`{"issuer": "https://idp.example", "jwks": ` + string(key.jwks(t)) + `}`, "not a JSON array"},
		"no issuer":   {`[]`, "lists no issuer"},
		"no keys":     {`[{"issuer": "https://idp.example"}]`, "jwks or jwks_uri is required"},
		"http jwks_uri": {`[{"issuer": "https://idp.example", "jwks_uri": "http://idp.example/jwks.json"}]`,
			"jwks_uri must be an https URL"},
		"unknown member": {`[{"issuer": "https://idp.example", "jwks": ` + string(key.jwks(t)) + `, "jwk_uri": "x"}]`,
			"unknown member"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
			require.NoError(t, os.WriteFile(path, []byte(c.content), 0o600))
			err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-trusted-issuers", path}, &bytes.Buffer{}, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "-trusted-issuers "+path+": ")
			assert.Contains(t, err.Error(), c.says)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(dir, "missing.json")
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-trusted-issuers", path}, &bytes.Buffer{}, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "-trusted-issuers")
		assert.Contains(t, err.Error(), path)
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

// grantTypesSupported returns the grant types that the metadata document
// of the server at addr advertises (RFC 8414 §2).
func grantTypesSupported(t *testing.T, addr string) []string {
	t.Helper()
	resp, err := http.Get("http://" + addr + oauth2.MetadataPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	var md struct {
		GrantTypes []string `json:"grant_types_supported"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
	return md.GrantTypes
}

// The metadata advertises token exchange always, since this server's own
// tokens need no trusted issuer, and the JWT bearer grant only with
// -trusted-issuers, when it is served (RFC 8414 §2); without it, the
// grant is unsupported_grant_type (RFC 6749 §5.2).
func TestJWTBearerOnlyWithTrustedIssuers(t *testing.T) {
	addr, out := startServer(t)
	types := grantTypesSupported(t, addr)
	assert.Contains(t, types, grant.GrantTypeTokenExchange)
	assert.NotContains(t, types, grant.GrantTypeJWTBearer)
	secrets := demoClientSecrets(out.String())
	r := postForm(t, "http://"+addr+"/token", bearer("a.b.c"), demoFederatedClientID, secrets[demoFederatedClientID])
	assert.Equal(t, "unsupported_grant_type", r.str("error"), "%v", r.body)
	assert.Contains(t, out.String(), "Start with -trusted-issuers FILE")

	idp := newSigningKey(t, "k1")
	addr, _ = startServer(t, "-trusted-issuers", writeTrustedIssuers(t, idpIssuer, idp))
	types = grantTypesSupported(t, addr)
	assert.Contains(t, types, grant.GrantTypeTokenExchange)
	assert.Contains(t, types, grant.GrantTypeJWTBearer)
}

// demoClientSecrets returns the demo clients' secrets that the start-up
// text printed, by client_id.
func demoClientSecrets(out string) map[string]string {
	secrets := map[string]string{}
	for _, m := range secretLine.FindAllStringSubmatch(out, -1) {
		secrets[m[1]] = m[2]
	}
	return secrets
}

// The demo clients do what the banner says, in every store: the gateway
// exchanges an access token of demo-web from the code flow, which names
// it (RFC 8693), and federated presents an assertion of a trusted issuer
// (RFC 7523 §2.1); the curl lines of the banner work as printed, and
// demo-api sees the tokens they get.
func TestBannerCurlLinesExchangeTokens(t *testing.T) {
	idp := newSigningKey(t, "k1")
	trusted := writeTrustedIssuers(t, idpIssuer, idp)
	for _, storeFlag := range everyStore(t) {
		t.Run(strings.SplitN(storeFlag, ":", 2)[0], func(t *testing.T) {
			addr, out := startServer(t, "-store", storeFlag, "-trusted-issuers", trusted)
			issuer := "http://" + addr
			secrets := demoClientSecrets(out.String())
			require.NotEmpty(t, secrets[demoGatewayClientID], "the gateway's secret is printed:\n%s", out)
			require.NotEmpty(t, secrets[demoFederatedClientID], "federated's secret is printed:\n%s", out)
			introspect := func(tok string) map[string]any {
				_, body := curl(t, "curl -u "+demoAPIClientID+":"+secrets[demoAPIClientID]+" -d token=TOKEN "+issuer+"/introspect", tok)
				return body
			}

			cb := newCallback(t)
			cf := &codeFlow{addr: addr, cfg: demoWebConfig(t, addr, out.String(), cb.URL), cb: cb}
			b := newTestBrowser(t, addr)
			f := cf.start(t, b, "xyz")
			r := f.decide(t, f.consent(t), "approve")
			require.Equal(t, http.StatusSeeOther, r.status)
			require.Equal(t, http.StatusOK, b.get(r.location()).status)
			web, err := cf.cfg.Exchange(context.Background(), (<-cb.queries).Get("code"), xoauth2.VerifierOption(f.verifier))
			require.NoError(t, err)

			status, body := curl(t, bannerCurl(t, out.String(), "Exchange an access token of "+demoWebClientID), web.AccessToken)
			require.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, grant.TokenTypeAccessToken, body["issued_token_type"])
			exchanged, _ := body["access_token"].(string)
			info := introspect(exchanged)
			assert.Equal(t, true, info["active"])
			assert.Equal(t, demoUsername, info["sub"])
			assert.Equal(t, demoGatewayClientID, info["client_id"])
			assert.Equal(t, "read", info["scope"])

			assertion := idp.sign(t, idpIssuer, "dave", issuer, time.Now().Add(time.Minute), nil)
			line := strings.ReplaceAll(bannerCurl(t, out.String(), "Present an assertion of a trusted issuer"), "ASSERTION", assertion)
			status, body = curl(t, line, "")
			require.Equal(t, http.StatusOK, status, body)
			info = introspect(body["access_token"].(string))
			assert.Equal(t, true, info["active"])
			assert.Equal(t, idpIssuer+"#dave", info["sub"])
			assert.Equal(t, demoFederatedClientID, info["client_id"])
		})
	}
}

// A trusted issuer given by its jwks_uri: the server fetches its keys
// (through JWKSFetcher, whose address checks the test lifts for its
// loopback server) and accepts its assertions.
func TestTrustedIssuerByJWKSURI(t *testing.T) {
	idp := newSigningKey(t, "k1")
	var fetches atomic.Int32
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(idp.jwks(t))
	}))
	t.Cleanup(jwksSrv.Close)
	doc, err := json.Marshal([]map[string]string{{"issuer": idpIssuer, "jwks_uri": jwksSrv.URL + "/jwks.json"}})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "trusted-issuers.json")
	require.NoError(t, os.WriteFile(path, doc, 0o600))

	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	var out bytes.Buffer
	srv, err := newServer(context.Background(), options{issuer: issuer, tokens: "opaque", trustedIssuers: path,
		jwksFetcher: &oauth2.JWKSFetcher{AllowPrivateAddresses: true}}, newMemoryStore(), &out)
	require.NoError(t, err)
	ts.Config.Handler = srv.handler
	ts.Start()
	t.Cleanup(ts.Close)
	assert.Zero(t, fetches.Load(), "keys are fetched when needed")

	secret := demoClientSecrets(out.String())[demoFederatedClientID]
	r := postForm(t, issuer+"/token", bearer(idp.sign(t, idpIssuer, "erin", issuer, time.Now().Add(time.Minute), nil)),
		demoFederatedClientID, secret)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	assert.Equal(t, int32(1), fetches.Load())

	// Without the knob, the safe default refuses an http jwks_uri at
	// start-up, rather than fetching from a private address later.
	_, err = newServer(context.Background(), options{issuer: issuer, tokens: "opaque", trustedIssuers: path}, newMemoryStore(), &bytes.Buffer{})
	assert.ErrorContains(t, err, "jwks_uri must be an https URL")
}

// The example maps a trusted issuer's subject to ISSUER#sub, and refuses
// one too long for a subject (OpenID Connect Core §2: 255 ASCII
// characters) with an error of its own rather than a subject the Provider
// refuses.
func TestIssuerSubject(t *testing.T) {
	sub, err := issuerSubject(context.Background(), nil, &oauth2.TrustedJWT{Issuer: idpIssuer, Subject: "alice"})
	require.NoError(t, err)
	assert.Equal(t, idpIssuer+"#alice", sub)

	fits := strings.Repeat("a", oauth2.MaxSubjectBytes-len(idpIssuer)-1)
	sub, err = issuerSubject(context.Background(), nil, &oauth2.TrustedJWT{Issuer: idpIssuer, Subject: fits})
	require.NoError(t, err)
	assert.Len(t, sub, oauth2.MaxSubjectBytes)
	sub, err = issuerSubject(context.Background(), nil, &oauth2.TrustedJWT{Issuer: idpIssuer, Subject: fits + "a"})
	assert.Error(t, err)
	assert.Empty(t, sub)
}

// README.md's JWT bearer example works as written: examples/idp writes
// the trusted-issuers file, the server starts with it, and the assertion
// that examples/idp prints gets a token through the banner's curl line.
func TestReadmeJWTBearerCommandsWork(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, _ := strings.Cut(string(readme), "\n## Try the example server\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var idpRuns [][]string
	var serverArgs []string
	for _, l := range strings.Split(section, "\n") {
		if args, ok := strings.CutPrefix(l, "go run ./examples/idp "); ok {
			idpRuns = append(idpRuns, strings.Fields(args))
		}
		if args, ok := strings.CutPrefix(l, "go run ./examples/server "); ok {
			serverArgs = strings.Fields(args)
		}
	}
	require.Len(t, idpRuns, 2, "README.md writes the trusted-issuers file, then signs an assertion")
	require.NotEmpty(t, serverArgs)

	goBin, err := exec.LookPath("go")
	require.NoError(t, err)
	dir := t.TempDir()
	idp := filepath.Join(dir, "idp")
	build := exec.Command(goBin, "build", "-o", idp, ".")
	build.Dir = filepath.Join("..", "idp")
	outb, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./examples/idp:\n%s", outb)
	runIDP := func(args []string) string {
		cmd := exec.Command(idp, args...)
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "idp %s:\n%s", strings.Join(args, " "), stderr.String())
		return strings.TrimSpace(stdout.String())
	}

	runIDP(idpRuns[0])
	for i, a := range serverArgs {
		if strings.HasSuffix(a, ".json") {
			serverArgs[i] = filepath.Join(dir, a)
		}
	}
	addr, out := startServer(t, serverArgs...)
	for i, a := range idpRuns[1] {
		idpRuns[1][i] = strings.ReplaceAll(a, "http://127.0.0.1:8080", "http://"+addr)
	}
	assertion := runIDP(idpRuns[1])
	line := strings.ReplaceAll(bannerCurl(t, out.String(), "Present an assertion of a trusted issuer"), "ASSERTION", assertion)
	status, body := curl(t, line, "")
	require.Equal(t, http.StatusOK, status, body)
	assert.NotEmpty(t, body["access_token"])
	assert.Equal(t, "read", body["scope"])
}
