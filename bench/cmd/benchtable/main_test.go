package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the server process of the load
// measure, as the command is: run re-executes os.Executable with -serve.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "-serve" {
		if err := serveProcess(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRun runs every measure (the default list of -measure) of one
// scenario with tiny settings: the tables and the targets come out, every
// contender in them, server processes included. The figures mean nothing.
func TestRun(t *testing.T) {
	var out strings.Builder
	err := run(&out, options{
		scenarios: []string{"cc-opaque"}, measures: measureNames,
		rounds: 1, benchTime: "20x", slowN: 1,
		loadRounds: 1, conns: []int{1, 2}, budget: time.Millisecond, maxLoad: 300,
		memoryN: 500, quiet: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"### Handler benchmarks", "### HTTP load", "### Heap per issued opaque access token", "### Targets",
		"| grantor | 2 |", "| fosite-bcrypt | 1 |", "| harness | 2 |",
		"handler ns/op ≥ 1,000 |",
		"### DPoP proof validation (RFC 9449 §4.3)", "#### ES256", "#### EdDSA", "#### RS256",
		"| DPoP proof validation ES256: Grantor", "| DPoP proof validation EdDSA: Grantor",
		"### Client credentials with a DPoP proof (RFC 9449 §5)", "| grantor-dpop |", "| jws-verify |",
		"| client credentials with a DPoP proof ES256: Grantor", "| client credentials with a DPoP proof EdDSA: Grantor",
		"### Device authorization grant (RFC 8628)", "| client-credentials |", "| pending-poll |", "| device-authorization |",
		"| device grant: a poll answered authorization_pending ÷ a client credentials request",
		"| device grant: a device authorization request ÷ a client credentials request",
		"### Token exchange (RFC 8693) and JWT bearer grant (RFC 7523 §2.1)", "| token-exchange |", "| es256-verify |",
		"| cc+es256-verify |", "| jwt-bearer |",
		"| token exchange of an opaque access token ÷ a client credentials request",
		"| JWT bearer grant, ES256 assertion ÷ (a client credentials request + jws.Verify of an ES256 assertion)",
		"### Keys from the store", "#### Client credentials, opaque access token (cc-opaque)", "(verify-jwt-es256)",
		"| memory-keys |", "| stored-keys |",
		"| keys from the store, cc-opaque: stored keys ÷ keys in memory", "| keys from the store, verify-jwt-es256: stored keys ÷ keys in memory",
		"### OpenID Provider (issue 18)", "(code-jwt-es256)", "(code-opaque)", "(userinfo)",
		"| without-openid |", "| with-openid |", "| es256-sign |", "| without-openid+es256-sign |", "| introspection |", "| userinfo |",
		"| without-openid | 1 |", "| with-openid | 1 |", "| introspection | 1 |", "| userinfo | 1 |",
		"Handler: with-openid ÷ without-openid = ", "Handler: userinfo ÷ introspection = ",
		"HTTP, 1 connection: with-openid ÷ without-openid, CPU per 1000 requests = ", "HTTP, 1 connection: userinfo ÷ introspection, CPU per 1000 requests = ",
		"| OpenID code-jwt-es256: with-openid ÷ without-openid, handler ns/op ≤ 1.25", "| OpenID userinfo over HTTP: userinfo ÷ introspection",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// Every target of the scenario run is checked.
	for _, line := range strings.Split(got, "\n") {
		if (strings.HasPrefix(line, "| client credentials, opaque") || strings.HasPrefix(line, "| DPoP proof validation") ||
			strings.HasPrefix(line, "| client credentials with a DPoP proof") || strings.HasPrefix(line, "| device grant") ||
			strings.HasPrefix(line, "| token exchange") || strings.HasPrefix(line, "| JWT bearer grant") ||
			strings.HasPrefix(line, "| keys from the store") || strings.HasPrefix(line, "| OpenID")) &&
			strings.Contains(line, "not measured") {
			t.Errorf("a target of the scenario run was not checked: %s", line)
		}
	}
}

// TestRunRefusesUnknownNames checks that a misspelt scenario or measure is
// an error rather than an empty run.
func TestRunRefusesUnknownNames(t *testing.T) {
	for _, o := range []options{
		{scenarios: []string{"cc-opaq"}, measures: []string{"handler"}, conns: []int{1}},
		{scenarios: []string{"cc-opaque"}, measures: []string{"cpu"}, conns: []int{1}},
	} {
		if err := run(&strings.Builder{}, o); err == nil {
			t.Errorf("run(%v, %v) = nil, want an error", o.scenarios, o.measures)
		}
	}
}
