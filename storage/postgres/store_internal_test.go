package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

func TestRetry(t *testing.T) {
	serialization := &pgconn.PgError{Code: codeSerializationFailure}
	deadlock := &pgconn.PgError{Code: codeDeadlockDetected}

	t.Run("transient errors are retried until success", func(t *testing.T) {
		s := New(nil)
		calls := 0
		err := s.retry(t.Context(), func() error {
			calls++
			if calls == 1 {
				return serialization
			}
			if calls == 2 {
				return deadlock
			}
			return nil
		})
		assert.NoError(t, err)
		assert.Equal(t, 3, calls)
	})

	t.Run("the number of retries is bounded", func(t *testing.T) {
		s := New(nil, WithRetries(2))
		calls := 0
		err := s.retry(t.Context(), func() error { calls++; return serialization })
		assert.ErrorIs(t, err, serialization)
		assert.Equal(t, 3, calls, "one call and two retries")
	})

	t.Run("other errors are not retried", func(t *testing.T) {
		s := New(nil)
		calls := 0
		unique := &pgconn.PgError{Code: codeUniqueViolation}
		err := s.retry(t.Context(), func() error { calls++; return unique })
		assert.ErrorIs(t, err, unique)
		assert.Equal(t, 1, calls)
	})

	t.Run("a done context ends the pauses", func(t *testing.T) {
		s := New(nil)
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		err := s.retry(ctx, func() error { calls++; cancel(); return deadlock })
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, calls)
	})
}

func TestSanitize(t *testing.T) {
	err := &pgconn.PgError{Code: codeUniqueViolation, Message: "duplicate key value violates unique constraint",
		Detail: "Key (key)=(secret-signature) already exists.", ConstraintName: "tokens_pkey", TableName: "tokens"}
	got := fail(context.Background(), "create tokens", err)
	assert.NotContains(t, got.Error(), "secret-signature")
	var pgErr *pgconn.PgError
	if assert.True(t, errors.As(got, &pgErr)) {
		assert.Empty(t, pgErr.Detail)
		assert.Equal(t, codeUniqueViolation, pgErr.Code)
		assert.Equal(t, "tokens_pkey", pgErr.ConstraintName)
	}
}
