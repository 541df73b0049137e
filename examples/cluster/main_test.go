package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUsage(t *testing.T) {
	t.Setenv("GRANTOR_TEST_POSTGRES", "")
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"no subcommand", nil, 2, "usage: cluster crash|soak"},
		{"an unknown subcommand", []string{"storm"}, 2, "usage: cluster crash|soak"},
		{"-h", []string{"-h"}, 0, "usage: cluster crash|soak"},
		{"a subcommand's -h", []string{"soak", "-h"}, 0, "-max-heap-growth"},
		{"no database", []string{"crash"}, 2, "no database: give -dsn or set GRANTOR_TEST_POSTGRES"},
		{"a database elsewhere", []string{"crash", "-dsn", "postgres://grantor:hunter2@db.example.com/grantor"}, 2,
			"use a Unix socket or a loopback IP address"},
		{"an unknown route", []string{"crash", "-dsn", "host=/tmp/pg", "-route", "random"}, 2, "-route must be balanced or sticky"},
		{"an unknown token format", []string{"crash", "-dsn", "host=/tmp/pg", "-tokens", "paseto"}, 2, "-tokens must be opaque or jwt"},
		{"no workers", []string{"crash", "-dsn", "host=/tmp/pg", "-workers", "0"}, 2, "must be positive"},
		{"a warm-up as long as the soak", []string{"soak", "-dsn", "host=/tmp/pg", "-duration", "1m", "-warmup", "1m"}, 2,
			"-warmup must be shorter than -duration"},
		{"an argument too many", []string{"crash", "now"}, 2, `unexpected argument "now"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(context.Background(), tc.args, &stdout, &stderr)
			assert.Equal(t, tc.status, status, "stderr:\n%s", stderr.String())
			assert.Contains(t, stderr.String(), tc.stderr)
			assert.NotContains(t, stderr.String(), "hunter2", "a DSN's password is never printed")
			assert.Empty(t, stdout.String(), "nothing ran")
		})
	}
}

// The database usually comes from the environment, where
// scripts/with-postgres.sh puts it; a DSN may hold a password, which -h
// must not print as the flag's default.
func TestHelpDoesNotPrintTheDSNOfTheEnvironment(t *testing.T) {
	t.Setenv("GRANTOR_TEST_POSTGRES", "postgres://grantor:hunter2@127.0.0.1/grantor")
	for _, cmd := range []string{"crash", "soak"} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 0, run(context.Background(), []string{cmd, "-h"}, &stdout, &stderr))
		assert.Contains(t, stderr.String(), "-dsn")
		assert.NotContains(t, stderr.String(), "hunter2")
	}
}
