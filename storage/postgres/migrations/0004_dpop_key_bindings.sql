-- Grantor's storage schema, version 4: the DPoP key bindings (RFC 9449).
-- tokens.key_thumbprint is storage.Token.KeyThumbprint, the JWK SHA-256
-- thumbprint of the key a token is bound to (§6.1, and a public client's
-- refresh token, §5); '' is a bearer token, which every token stored before
-- this version is. clients.dpop_bound_access_tokens is
-- storage.Client.DPoPBoundAccessTokens (§5.2), off for every client
-- registered before. req_dpop_jkt is the dpop_jkt of an authorization
-- request (storage.AuthorizationRequest.DPoPKeyThumbprint, §10), in the
-- three tables that keep one; '' is a request that named none. Columns with
-- a constant default are added without rewriting the tables (PostgreSQL 11
-- and later).

ALTER TABLE tokens ADD COLUMN key_thumbprint text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens boolean NOT NULL DEFAULT false;
ALTER TABLE interactions ADD COLUMN req_dpop_jkt text NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN req_dpop_jkt text NOT NULL DEFAULT '';
ALTER TABLE pushed_requests ADD COLUMN req_dpop_jkt text NOT NULL DEFAULT '';
