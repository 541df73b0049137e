-- Grantor's SQLite schema, version 4: the DPoP key bindings (RFC 9449).
-- tokens.key_thumbprint is storage.Token.KeyThumbprint, the JWK SHA-256
-- thumbprint of the key a token is bound to (§6.1, and a public client's
-- refresh token, §5); '' is a bearer token, which every token stored before
-- this version is. clients.dpop_bound_access_tokens is
-- storage.Client.DPoPBoundAccessTokens (§5.2), off for every client
-- registered before. An authorization request's dpop_jkt (§10) needs no
-- column: it is the "dpop_jkt" member of the request's JSON, absent from
-- the requests stored before.

ALTER TABLE tokens ADD COLUMN key_thumbprint TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0;
