package oidc

// SessionKeyForTest is the storage key of a session cookie value.
func SessionKeyForTest(cookieValue string) string { return digest(cookieValue) }
