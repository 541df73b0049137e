package harness

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Check is one verdict of a run.
type Check struct {
	// Name says what must hold.
	Name string
	// Pass tells whether it held.
	Pass bool
	// Detail gives the figures behind the verdict.
	Detail string
}

// eachParallel runs f on every item, n at a time.
func eachParallel[T any](items []T, n int, f func(T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Go(func() {
			for it := range ch {
				f(it)
			}
		})
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}

// tally counts outcomes by description, safely for concurrent use.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
}

// add counts one outcome.
func (t *tally) add(what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = make(map[string]int)
	}
	t.counts[what]++
}

// get returns the count of what.
func (t *tally) get(what string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts[what]
}

// total returns the count of every outcome but those in except.
func (t *tally) total(except ...string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, c := range t.counts {
		if !slices.Contains(except, k) {
			n += c
		}
	}
	return n
}

// String lists the outcomes but those in except, the most frequent first,
// at most six.
func (t *tally) String(except ...string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := slices.Collect(maps.Keys(t.counts))
	keys = slices.DeleteFunc(keys, func(k string) bool { return slices.Contains(except, k) })
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(t.counts[b], t.counts[a]), cmp.Compare(a, b)) })
	var parts []string
	for i, k := range keys {
		if i == 6 {
			parts = append(parts, fmt.Sprintf("and %d more kinds", len(keys)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s", t.counts[k], k))
	}
	return strings.Join(parts, "; ")
}

// Outcomes of a token at introspection.
const (
	asExpected = "as expected"
	inDoubt    = "in doubt"
)

// checkIntrospection introspects, at in, every recorded token that keep
// accepts whose state is known, and returns a check that each is active
// unless it was revoked or rotated, and inactive if it was.
func (l *Load) checkIntrospection(name string, in *Instance, keep func(*tokenRecord) bool, parallel int) Check {
	tokens, _ := l.ledger.snapshot()
	tokens = slices.DeleteFunc(tokens, func(t *tokenRecord) bool { return !keep(t) })
	var out tally
	var active, inactive tally
	eachParallel(tokens, parallel, func(t *tokenRecord) {
		want := l.ledger.expectOf(t)
		if want == expectUnknown {
			out.add(inDoubt)
			return
		}
		cred := l.cluster.Credentials.API
		if t.kind == refreshToken {
			// RFC 7662 §4: a refresh token only to its own client.
			cred = l.cluster.Credentials.Web
		}
		a, err := l.post(in, "check: introspection", "/introspect", url.Values{"token": {t.value}}, cred)
		if err != nil {
			out.add("got no answer")
			return
		}
		got, ok := a.active()
		switch {
		case !ok:
			out.add("answered " + a.String())
		case got && want == expectActive:
			out.add(asExpected)
			active.add("")
		case !got && want == expectInactive:
			out.add(asExpected)
			inactive.add("")
		case want == expectActive:
			out.add(fmt.Sprintf("%ss of %s inactive", t.kind, t.issuedBy))
		default:
			out.add(fmt.Sprintf("revoked or rotated %ss of %s active", t.kind, t.issuedBy))
		}
	})
	wrong := out.total(asExpected, inDoubt)
	detail := fmt.Sprintf("%d tokens introspected at %s: %d active and %d revoked or rotated as expected",
		len(tokens)-out.get(inDoubt), in.Name, active.get(""), inactive.get(""))
	if n := out.get(inDoubt); n > 0 {
		detail += fmt.Sprintf(", %d in doubt left out (their instance died with the request)", n)
	}
	if wrong > 0 {
		detail += fmt.Sprintf("; %d not: %s", wrong, out.String(asExpected, inDoubt))
	}
	return Check{Name: name, Pass: wrong == 0 && len(tokens) > 0, Detail: detail}
}

// Outcomes of a replay.
const (
	refused       = "refused"
	redeemedTwice = "redeemed twice"
)

// checkReplays presents at in, once more, every code and refresh token the
// load used: each must be refused with invalid_grant (RFC 6749 §4.1.2,
// §5.2; RFC 9700 §4.14.2). One whose use got no answer (its instance died)
// may not have been used: it is presented twice, and may be accepted once.
// Replays revoke their grants, so this check runs last.
func (l *Load) checkReplays(in *Instance, parallel int) Check {
	tokens, codes := l.ledger.snapshot()
	type item struct {
		form  url.Values
		doubt bool
	}
	var items []item
	nCodes, nTokens, nDoubt := 0, 0, 0
	add := func(form url.Values, doubt bool) {
		items = append(items, item{form, doubt})
		if doubt {
			nDoubt++
		}
	}
	for _, c := range codes {
		add(url.Values{"grant_type": {"authorization_code"}, "code": {c.value},
			"redirect_uri": {redirectURI}, "code_verifier": {c.verifier}}, c.doubt)
		if !c.doubt {
			nCodes++
		}
	}
	for _, t := range tokens {
		if t.kind != refreshToken || !t.rotated && !t.doubt {
			continue
		}
		add(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.value}}, t.doubt)
		if !t.doubt {
			nTokens++
		}
	}
	var out tally
	eachParallel(items, parallel, func(it item) {
		tries := 1
		if it.doubt {
			tries = 2
		}
		accepted, other := 0, false
		for range tries {
			a, err := l.post(in, "check: replay", "/token", it.form, l.cluster.Credentials.Web)
			switch {
			case err != nil:
				out.add("got no answer")
				other = true
			case a.status == http.StatusOK:
				accepted++
			case a.status == http.StatusBadRequest && a.field("error") == "invalid_grant":
			default:
				out.add("answered " + a.String())
				other = true
			}
		}
		switch {
		case accepted > 1 || accepted == 1 && !it.doubt:
			out.add(redeemedTwice)
		case !other:
			out.add(refused)
		}
	})
	wrong := out.total(refused)
	detail := fmt.Sprintf("%d codes and %d rotated refresh tokens presented again at %s", nCodes, nTokens, in.Name)
	if nDoubt > 0 {
		detail += fmt.Sprintf(", and %d whose use got no answer presented twice", nDoubt)
	}
	detail += fmt.Sprintf(": %d refused", out.get(refused))
	if wrong > 0 {
		detail += "; " + out.String(refused)
	}
	return Check{Name: "no code or refresh token redeemed twice", Pass: wrong == 0 && len(items) > 0, Detail: detail}
}

// checkNo5xx returns a check that in answered no 5xx.
func (l *Load) checkNo5xx(in *Instance, role string) Check {
	st := l.stats.Instance(in.Name)
	var parts []string
	for _, other := range l.cluster.Instances {
		parts = append(parts, fmt.Sprintf("%s %d", other.Name, l.stats.Instance(other.Name).Status[500]))
	}
	return Check{Name: fmt.Sprintf("no 5xx from the %s (%s)", role, in.Name), Pass: st.Status[500] == 0,
		Detail: "5xx answers: " + strings.Join(parts, ", ")}
}

// checkAnswers returns a check that every answer of the load was what the
// protocol says it must be.
func (l *Load) checkAnswers() Check {
	n := l.stats.Errors()
	detail := "every answer as the RFCs say"
	if n > 0 {
		var parts []string
		for i, r := range l.stats.Reasons() {
			if i == 6 {
				parts = append(parts, "...")
				break
			}
			parts = append(parts, fmt.Sprintf("%d %s", r.Count, r.Reason))
		}
		detail = fmt.Sprintf("%d unexpected: %s", n, strings.Join(parts, "; "))
	}
	return Check{Name: "the load got the answers it expected", Pass: n == 0, Detail: detail}
}

// issuedBefore accepts the tokens issued before t.
func issuedBefore(t time.Time) func(*tokenRecord) bool {
	return func(r *tokenRecord) bool { return r.issuedAt.Before(t) }
}
