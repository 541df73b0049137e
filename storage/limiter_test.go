package storage_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/grantor-dev/grantor/storage"
)

func TestWindowStart(t *testing.T) {
	epoch := time.Unix(0, 0)
	for _, tc := range []struct {
		name   string
		now    time.Time
		window time.Duration
		want   time.Time
	}{
		{"the start of a window is its own start",
			time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC), time.Minute, time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)},
		{"a time inside a window rounds down to its start",
			time.Date(2030, 1, 2, 3, 4, 59, 999_999_999, time.UTC), time.Minute, time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)},
		{"hour windows start on the hour",
			time.Date(2030, 1, 2, 3, 59, 0, 0, time.UTC), time.Hour, time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)},
		{"windows are aligned on the epoch, not on the clock's units",
			epoch.Add(20 * time.Second), 7 * time.Second, epoch.Add(14 * time.Second)},
		{"the epoch starts a window",
			epoch, time.Minute, epoch},
		{"before the epoch: rounds down, not toward zero",
			epoch.Add(-time.Nanosecond), time.Minute, epoch.Add(-time.Minute)},
		{"before the epoch: a window's start is its own start",
			epoch.Add(-2 * time.Minute), time.Minute, epoch.Add(-2 * time.Minute)},
		{"before the epoch: a time inside a window rounds down to its start",
			epoch.Add(-90 * time.Second), time.Minute, epoch.Add(-2 * time.Minute)},
		{"a zero window is a nanosecond",
			epoch.Add(1234), 0, epoch.Add(1234)},
		{"a negative window is a nanosecond",
			epoch.Add(-1234), -time.Hour, epoch.Add(-1234)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := storage.WindowStart(tc.now, tc.window)
			assert.True(t, tc.want.Equal(got), "want %v, got %v", tc.want, got)
		})
	}

	t.Run("the location of now does not move the window", func(t *testing.T) {
		utc := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		got := storage.WindowStart(utc.In(time.FixedZone("UTC+5:30", 5*3600+1800)), time.Hour)
		assert.True(t, time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC).Equal(got), "got %v", got)
	})
}
