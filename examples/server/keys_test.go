package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage/sqlite"
)

// writeSecretFile writes a -secret-file of the given lines and returns
// its path.
func writeSecretFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return path
}

// newSecretLine returns a fresh secret as a line of a secret file.
func newSecretLine(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// startErr runs the server with args and returns the error that stops it
// at start-up; a server that starts fails the test.
func startErr(t *testing.T, args ...string) (out string, err error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	buf := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), buf, ready) }()
	select {
	case err := <-done:
		require.Error(t, err, "the server must not start:\n%s", buf)
		assert.NotContains(t, buf.String(), "Grantor example authorization server", "the server did not start")
		return buf.String(), err
	case <-ready:
		cancel()
		<-done
		t.Fatalf("the server started:\n%s", buf)
	case <-time.After(20 * time.Second):
		t.Fatal("the server neither started nor stopped")
	}
	return "", nil
}

// A persistent store keeps the token keys sealed with a secret that must
// outlive the process: without -secret-file the server refuses to start,
// and says how to make one. The memory store needs none.
func TestPersistentStoresNeedASecretFile(t *testing.T) {
	for _, storeFlag := range everyStore(t)[1:] {
		t.Run(strings.SplitN(storeFlag, ":", 2)[0], func(t *testing.T) {
			_, err := startErr(t, "-store", storeFlag)
			assert.ErrorContains(t, err, "-secret-file is required")
			assert.ErrorContains(t, err, "head -c 32 /dev/urandom | base64 > secret")
		})
	}
	addr, out := startServer(t)
	assert.NotEmpty(t, addr)
	assert.Contains(t, out.String(), "store:          memory")
}

// A secret file the server cannot use stops it with the file's name, the
// line and the reason, and never repeats a secret.
func TestBadSecretFilesStopTheServer(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("thirty-one bytes, one too few!!"))
	for name, c := range map[string]struct {
		lines  []string
		reason string
	}{
		"not base64":       {[]string{"# a comment", "not base64 at all!"}, "line 2: not base64"},
		"a short secret":   {[]string{newSecretLine(t), short}, "line 2: 31 bytes, fewer than 32"},
		"no secret":        {[]string{"# nothing but a comment", ""}, "holds no secret"},
		"a secret twice":   {[]string{"c2FtZSBzZWNyZXQgdHdpY2Ugb24gdHdvIGxpbmVzISEh", "c2FtZSBzZWNyZXQgdHdpY2Ugb24gdHdvIGxpbmVzISEh"}, "are the same"},
		"raw bytes":        {[]string{strings.Repeat("\x00\x01", 20)}, "not base64"},
		"one long garbage": {[]string{strings.Repeat("A", 100) + "!"}, "not base64"},
	} {
		t.Run(name, func(t *testing.T) {
			path := writeSecretFile(t, c.lines...)
			_, err := startErr(t, "-store", "sqlite:"+filepath.Join(t.TempDir(), "g.db"), "-secret-file", path)
			assert.ErrorContains(t, err, c.reason)
			if !strings.Contains(c.reason, "are the same") {
				assert.ErrorContains(t, err, path)
			}
			assert.NotContains(t, err.Error(), short)
		})
	}
	_, err := startErr(t, "-store", "sqlite:"+filepath.Join(t.TempDir(), "g.db"), "-secret-file", filepath.Join(t.TempDir(), "missing"))
	assert.ErrorContains(t, err, "-secret-file")
}

// Keys sealed with one secret do not open with another: the server says
// which file to fix, and how to change the secret. Put first, the new
// secret seals; the old one after it still opens, and once the server has
// run the old one can go.
func TestTheSecretFileOpensTheKeysItSealed(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "grantor.db")
	oldSecret, newSecret := newSecretLine(t), newSecretLine(t)
	_, _, stop := runServer(t, "-store", db, "-tokens", "jwt", "-secret-file", writeSecretFile(t, oldSecret))
	stop()

	wrong := writeSecretFile(t, newSecret)
	_, err := startErr(t, "-store", db, "-tokens", "jwt", "-secret-file", wrong)
	assert.ErrorContains(t, err, "sealed with a secret that is not in "+wrong)
	assert.ErrorContains(t, err, "keep the old one in the file")

	// The new secret first, the old one next: the server starts, and seals
	// the keys again with the new one as it runs.
	addr, out, stop := runServer(t, "-store", db, "-tokens", "jwt", "-secret-file", writeSecretFile(t, newSecret, oldSecret))
	require.NotEmpty(t, addr)
	// Every set (opaque, jwt, and the two of the ID tokens), each by its
	// own loop.
	require.Eventually(t, func() bool { return strings.Count(out.String(), "sealed again with the first secret") == 4 },
		10*time.Second, 20*time.Millisecond, "the keys of every set are sealed again at start:\n%s", out)
	for _, set := range []string{"opaque", "jwt", idTokenES256KeySet, idTokenRS256KeySet} {
		assert.Contains(t, out.String(), "sealed again with the first secret\" set="+set)
	}
	stop()

	// Now the new secret alone opens them, and the old one alone no more.
	_, _, stop = runServer(t, "-store", db, "-tokens", "jwt", "-secret-file", wrong)
	stop()
	_, err = startErr(t, "-store", db, "-tokens", "jwt", "-secret-file", writeSecretFile(t, oldSecret))
	assert.ErrorContains(t, err, "sealed with a secret that is not in")
}

// A key changed in the database outside the server (its sealed bytes) is
// refused: the server does not start, and says so. The row is restored
// afterwards, for the tests that share the database.
func TestAKeyAlteredInTheDatabaseStopsTheServer(t *testing.T) {
	for _, storeFlag := range everyStore(t)[1:] {
		t.Run(strings.SplitN(storeFlag, ":", 2)[0], func(t *testing.T) {
			_, _, stop := runServer(t, "-store", storeFlag)
			stop()
			spec, err := parseStore(storeFlag)
			require.NoError(t, err)
			var exec func(q string, args ...any)
			var sealed []byte
			const pick = `SELECT sealed FROM stored_keys WHERE set_name = 'opaque' ORDER BY position LIMIT 1`
			const put = `UPDATE stored_keys SET sealed = $1 WHERE set_name = 'opaque' AND position = (SELECT min(position) FROM stored_keys WHERE set_name = 'opaque')`
			if spec.kind == "sqlite" {
				st, err := sqlite.Open(context.Background(), spec.target)
				require.NoError(t, err)
				t.Cleanup(func() { _ = st.Close() })
				require.NoError(t, st.DB().QueryRow(pick).Scan(&sealed))
				exec = func(q string, args ...any) { _, err := st.DB().Exec(q, args...); require.NoError(t, err) }
			} else {
				pool, err := pgxpool.New(context.Background(), spec.target)
				require.NoError(t, err)
				t.Cleanup(pool.Close)
				require.NoError(t, pool.QueryRow(context.Background(), pick).Scan(&sealed))
				exec = func(q string, args ...any) {
					_, err := pool.Exec(context.Background(), q, args...)
					require.NoError(t, err)
				}
			}
			original := append([]byte(nil), sealed...)
			t.Cleanup(func() { exec(put, original) })
			sealed[len(sealed)-1] ^= 1
			exec(put, sealed)

			_, err = startErr(t, "-store", storeFlag, "-secret-file", testSecretFile)
			assert.ErrorContains(t, err, "changed outside the server and are refused")
		})
	}
}

// The server warns when others than its owner may read the secret file,
// and refuses one too large to be a list of secrets without reading it
// all.
func TestSecretFileModeAndSize(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "grantor.db")
	open := writeSecretFile(t, newSecretLine(t))
	require.NoError(t, os.Chmod(open, 0o644))
	_, out, stop := runServer(t, "-store", db, "-secret-file", open)
	stop()
	assert.Contains(t, out.String(), "chmod 600")
	private := writeSecretFile(t, newSecretLine(t))
	require.NoError(t, os.Chmod(private, 0o600))
	db2 := "sqlite:" + filepath.Join(t.TempDir(), "grantor.db")
	_, out, stop = runServer(t, "-store", db2, "-secret-file", private)
	stop()
	assert.NotContains(t, out.String(), "chmod 600")

	huge := writeSecretFile(t, strings.Repeat(newSecretLine(t)+"\n", 2000))
	_, err := startErr(t, "-store", db2, "-secret-file", huge)
	assert.ErrorContains(t, err, "larger than")
}
