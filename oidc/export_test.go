package oidc

// SessionKeyForTest is the storage key of a session cookie value.
func (o *Provider) SessionKeyForTest(cookieValue string) string { return o.sessionKey(cookieValue) }
