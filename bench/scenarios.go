package bench

import (
	"fmt"
	"strings"

	"github.com/ory/fosite"
)

// Scenarios returns every scenario of the comparison, in the order of the
// tables.
func Scenarios() []Scenario {
	fast := SHA256Hasher{}
	withFast := func(f func(fosite.Hasher) (*Server, error)) func() (*Server, error) {
		return func() (*Server, error) { return f(fast) }
	}
	scs := []Scenario{{
		Name:  "cc-opaque",
		Title: "Client credentials, opaque access token",
		Kind:  KindClientCredentials,
		Contenders: []Contender{
			{Name: NameBaseline, New: NewBaselineClientCredentials},
			{Name: NameGrantor, New: NewGrantorClientCredentials},
			{Name: NameGrantorArgon2id, New: NewGrantorClientCredentialsArgon2id},
			{Name: NameFositeFast, New: withFast(NewFositeClientCredentials)},
			// 20 bcrypt comparisons at cost 12 take about 5 s.
			{Name: NameFositeBCrypt, New: func() (*Server, error) { return NewFositeClientCredentials(nil) }, MaxN: 20},
		},
	}}
	for _, alg := range []Alg{ES256, EdDSA, RS256} {
		scs = append(scs, Scenario{
			Name:  "cc-jwt-" + strings.ToLower(string(alg)),
			Title: fmt.Sprintf("Client credentials, JWT access token (RFC 9068) signed with %s", alg),
			Kind:  KindClientCredentials,
			Contenders: []Contender{
				{Name: NameBaseline, New: func() (*Server, error) { return NewBaselineClientCredentialsJWT(alg) }},
				{Name: NameGrantor, New: func() (*Server, error) { return NewGrantorClientCredentialsJWT(alg) }},
				{Name: NameFositeFast, New: func() (*Server, error) { return NewFositeClientCredentialsJWT(fast, alg) }},
			},
		})
	}
	return append(scs,
		Scenario{
			Name:  "introspect",
			Title: "Introspection of an opaque access token (RFC 7662)",
			Kind:  KindIntrospection,
			Contenders: []Contender{
				{Name: NameBaseline, New: NewBaselineIntrospection},
				{Name: NameGrantor, New: NewGrantorIntrospection},
				{Name: NameFositeFast, New: withFast(NewFositeIntrospection)},
			},
		},
		Scenario{
			Name:  "refresh",
			Title: "Refresh token rotation, opaque tokens",
			Kind:  KindRefresh,
			Contenders: []Contender{
				{Name: NameBaseline, New: NewBaselineRefresh},
				{Name: NameGrantor, New: NewGrantorRefresh},
				{Name: NameFositeFast, New: withFast(NewFositeRefresh)},
			},
		},
		Scenario{
			Name:  "code",
			Title: "Authorization code exchange with PKCE, opaque tokens",
			Kind:  KindCodeExchange,
			Contenders: []Contender{
				{Name: NameBaseline, New: NewBaselineCodeExchange},
				{Name: NameGrantor, New: NewGrantorCodeExchange},
				{Name: NameFositeFast, New: withFast(NewFositeCodeExchange)},
			},
		},
	)
}

// FindScenario returns the scenario named name, among Scenarios and
// OIDCScenarios.
func FindScenario(name string) (Scenario, bool) {
	for _, sc := range append(Scenarios(), OIDCScenarios()...) {
		if sc.Name == name {
			return sc, true
		}
	}
	return Scenario{}, false
}

// FindContender returns the contender named name.
func (sc Scenario) FindContender(name string) (Contender, bool) {
	for _, c := range sc.Contenders {
		if c.Name == name {
			return c, true
		}
	}
	return Contender{}, false
}
