-- Grantor's storage schema, version 7: the key sets of storage.KeyStore
-- (the HMAC keys of opaque tokens, the JWT signing keys), shared by every
-- instance over this database, so that all of them sign and verify with
-- the same keys and tokens survive a restart.
--
-- key_sets holds one row per set written at least once: its name, compared
-- byte for byte (the "C" collation: names differing in case are different
-- sets), and its version, the count of its writes. SaveKeySet moves the
-- version by compare-and-set on this row, whose lock orders the writers of
-- one set: of two at one version, one wins.
--
-- stored_keys holds the keys of each set, position being their order in
-- the set (0, 1, ...). sealed is the key's private material, sealed by
-- package token before it reaches the store: the database holds ciphertext
-- only. added_at, promoted_at and retired_at are NULL for the zero time. A
-- set is written whole: SaveKeySet deletes its keys and inserts the new
-- ones.

CREATE TABLE key_sets (
	name    text COLLATE "C" PRIMARY KEY,
	version bigint NOT NULL
);

CREATE TABLE stored_keys (
	set_name    text COLLATE "C" NOT NULL REFERENCES key_sets (name) ON DELETE CASCADE,
	position    integer NOT NULL,
	id          text COLLATE "C" NOT NULL,
	algorithm   text NOT NULL,
	state       text NOT NULL,
	sealed      bytea NOT NULL,
	added_at    timestamptz,
	promoted_at timestamptz,
	retired_at  timestamptz,
	PRIMARY KEY (set_name, id),
	-- LoadKeySet reads a set's keys in this index's order.
	UNIQUE (set_name, position)
);
