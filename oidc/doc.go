// Package oidc makes a Grantor authorization server an OpenID Provider
// (OpenID Connect Core 1.0): ID tokens from the authorization code flow
// and its refreshes, the UserInfo endpoint, and the discovery document
// (OpenID Connect Discovery 1.0).
//
// It is a feature of an oauth2.Provider, which takes it through the same
// seams as any grant or feature: it validates the OpenID parameters of
// authorization requests, keeps how the user logged in with the grant,
// adds id_token to token responses, and brings its endpoints and metadata.
// Package oauth2 never imports it; an authorization server without
// OpenID Connect does not register it.
//
// Claims come from the host application through a ClaimsSource; the
// standard scopes (profile, email, address, phone) map to their claims as
// Core §5.4 says, and a response carries only the claims the granted
// scopes and the claims request parameter allow.
package oidc
