package oidc

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzLogoutTokenClaims checks buildLogoutTokenClaims against Back-Channel
// Logout §2.4 for any subject, sid and client id, which come from the
// host's user ids, its session store and client registrations: it refuses
// exactly the inputs that cannot make a logout token (no sub nor sid, a
// missing iss, aud or jti, a string that is not UTF-8, which JSON would
// alter), and otherwise writes one JSON object whose members say exactly
// what was given, with the one events member, an exp two minutes after
// iat, and no nonce nor any other member.
func FuzzLogoutTokenClaims(f *testing.F) {
	f.Add("https://op.example", "rp", "alice", "08a5019c-17e1-4977-8f42-65a12843ea02", "bWJq", int64(1471566154))
	f.Add("https://op.example", "rp", "", "s1", "bWJq", int64(0))
	f.Add("https://op.example", "rp", "248289761001", "", "bWJq", int64(-1))
	f.Add("https://op.example", "rp", "", "", "bWJq", int64(1))
	f.Add("https://op.example", "rp", "al\xffice", "", "bWJq", int64(1))
	f.Add("https://op.example", "rp", `"nonce":"x"`, `</script>&\u2028`, "bWJq", int64(1))
	f.Add("", "rp", "alice", "", "bWJq", int64(1))
	f.Fuzz(func(t *testing.T, iss, aud, sub, sid, jti string, unix int64) {
		now := time.Unix(unix, 0)
		payload, err := buildLogoutTokenClaims(iss, aud, sub, sid, jti, now)
		refuse := iss == "" || aud == "" || jti == "" || (sub == "" && sid == "")
		for _, s := range []string{iss, aud, sub, sid, jti} {
			refuse = refuse || !utf8.ValidString(s)
		}
		if refuse != (err != nil) {
			t.Fatalf("refused: %v, want refused: %v", err, refuse)
		}
		if err != nil {
			return
		}

		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		var claims map[string]any
		if err := dec.Decode(&claims); err != nil {
			t.Fatalf("not a JSON object: %v: %s", err, payload)
		}
		want := map[string]string{"iss": iss, "aud": aud, "jti": jti, "sub": sub, "sid": sid}
		members := 6 // iss, aud, jti, iat, exp, events
		for name, v := range want {
			got, present := claims[name]
			if v == "" {
				if present {
					t.Fatalf("%s present though empty: %s", name, payload)
				}
				continue
			}
			if name == "sub" || name == "sid" {
				members++
			}
			if got != v {
				t.Fatalf("%s is %q, want %q", name, got, v)
			}
		}
		if len(claims) != members {
			t.Fatalf("%d members, want %d (no nonce nor anything else): %s", len(claims), members, payload)
		}
		iat, err1 := claims["iat"].(json.Number).Int64()
		exp, err2 := claims["exp"].(json.Number).Int64()
		if err1 != nil || err2 != nil || iat != unix || exp != now.Add(logoutTokenLifetime).Unix() {
			t.Fatalf("iat %v, exp %v for now %d", claims["iat"], claims["exp"], unix)
		}
		events, ok := claims["events"].(map[string]any)
		if !ok || len(events) != 1 {
			t.Fatalf("events: %v", claims["events"])
		}
		if e, ok := events[backchannelLogoutEvent].(map[string]any); !ok || len(e) != 0 {
			t.Fatalf("events: %v", claims["events"])
		}
	})
}
