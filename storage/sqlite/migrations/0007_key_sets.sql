-- Grantor's SQLite schema, version 7: the key sets of storage.KeyStore (the
-- HMAC keys of opaque tokens, the JWT signing keys), shared by every Store
-- over this file, so that every instance signs and verifies with the same
-- keys and tokens survive a restart.
--
-- key_sets holds one row per set written at least once: its name (compared
-- byte for byte, so that names differing in case are different sets) and
-- its version, the count of its writes. SaveKeySet moves the version by
-- compare-and-set, so that of two writers at one version one wins.
--
-- stored_keys holds the keys of each set, position being their order in
-- the set (0, 1, ...). sealed is the key's private material, sealed by
-- package token before it reaches the store: the store keeps ciphertext
-- only. added_at, promoted_at and retired_at are Unix microseconds, NULL
-- for the zero time, as the times of the other tables. A set is written
-- whole: SaveKeySet deletes its keys and inserts the new ones.
CREATE TABLE key_sets (
	name    TEXT PRIMARY KEY,
	version INTEGER NOT NULL
) STRICT;

CREATE TABLE stored_keys (
	set_name    TEXT NOT NULL REFERENCES key_sets (name) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	id          TEXT NOT NULL,
	algorithm   TEXT NOT NULL,
	state       TEXT NOT NULL,
	sealed      BLOB NOT NULL,
	added_at    INTEGER,
	promoted_at INTEGER,
	retired_at  INTEGER,
	PRIMARY KEY (set_name, id),
	-- LoadKeySet reads a set's keys in this index's order.
	UNIQUE (set_name, position)
) STRICT;
