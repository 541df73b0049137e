package bench

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CheckResponse reports whether status and body are a correct successful
// answer to a request of kind: 200 and the fields of RFC 6749 §5.1 (or RFC
// 7662 §2.2 for introspection). The benchmarks check only the status; the
// tests check every contender with CheckResponse, so that the comparison
// never measures a server that answers the wrong thing fast.
func CheckResponse(kind Kind, status int, body []byte) error {
	if status != 200 {
		return fmt.Errorf("status %d, want 200: %s", status, body)
	}
	var resp struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
		Active       *bool  `json:"active"`
		ClientID     string `json:"client_id"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("response %s: %v", body, err)
	}
	if kind == KindIntrospection {
		if resp.Active == nil || !*resp.Active {
			return fmt.Errorf("introspection: active is not true: %s", body)
		}
		if resp.ClientID != benchClientID {
			return fmt.Errorf("introspection: client_id = %q, want %q: %s", resp.ClientID, benchClientID, body)
		}
		if !strings.Contains(" "+resp.Scope+" ", " read ") {
			return fmt.Errorf("introspection: scope %q lacks read: %s", resp.Scope, body)
		}
		return nil
	}
	// 256 random bits in base64url are 43 characters; opaque tokens add
	// a signature, JWTs much more.
	if len(resp.AccessToken) < 43 {
		return fmt.Errorf("access_token %q is too short for 256 bits", resp.AccessToken)
	}
	if !strings.EqualFold(resp.TokenType, "bearer") {
		return fmt.Errorf("token_type = %q, want Bearer", resp.TokenType)
	}
	if resp.ExpiresIn <= 0 || resp.ExpiresIn > 3600 {
		return fmt.Errorf("expires_in = %d, want (0, 3600]", resp.ExpiresIn)
	}
	// The scope may be left out when it is the one requested (RFC 6749
	// §5.1).
	if resp.Scope != "" && !strings.Contains(" "+resp.Scope+" ", " read ") {
		return fmt.Errorf("scope = %q, want read", resp.Scope)
	}
	if kind == KindRefresh && len(resp.RefreshToken) < 43 {
		return fmt.Errorf("refresh: no new refresh_token: %s", body)
	}
	return nil
}
