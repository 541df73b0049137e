package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		// Reversed, so that the function must sort.
		hundred[i] = time.Duration(100-i) * time.Millisecond
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"no samples", nil, 99, 0},
		{"one sample is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"p99 of 1..100 ms is the 99th", hundred, 99, 99 * time.Millisecond},
		{"p50 of 1..100 ms is the 50th", hundred, 50, 50 * time.Millisecond},
		{"p100 is the largest", hundred, 100, 100 * time.Millisecond},
		{"p99 of ten samples is the largest (nearest rank)", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 1000), 99, time.Second},
		{"p90 of ten samples is the ninth", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 90, 9 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Percentile(tc.samples, tc.p))
		})
	}
	assert.Equal(t, 100*time.Millisecond, hundred[0], "the samples are left as they were")
}

func TestCheckHeapGrowth(t *testing.T) {
	for _, tc := range []struct {
		name      string
		warm, end uint64
		ok        bool
	}{
		{"the same heap", 100 << 20, 100 << 20, true},
		{"a smaller heap", 100 << 20, 80 << 20, true},
		{"10% more, the limit", 100 << 20, 110 << 20, true},
		{"just over 10% more", 100 << 20, 110<<20 + 1<<10, false},
		{"twice the heap", 8 << 20, 16 << 20, false},
		{"nothing measured after the warm-up", 0, 8 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckHeapGrowth(tc.warm, tc.end, 0.10)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
	assert.EqualError(t, CheckHeapGrowth(10<<20, 12<<20, 0.10), "the heap grew by 20.0% (10.00 MiB to 12.00 MiB), more than 10%")
}

func TestStatsCountAnswersByInstanceAndPhase(t *testing.T) {
	s := newStats()
	t0 := time.Now()
	s.StartPhase("both", t0)
	s.answered("A", 200, time.Millisecond)
	s.answered("A", 503, 2*time.Millisecond)
	s.refused("A")
	s.StartPhase("one", t0.Add(time.Second))
	s.answered("B", 401, 3*time.Millisecond)
	s.unexpected("refresh at B: 400 invalid_grant")
	s.unexpected("refresh at B: 400 invalid_grant")
	s.unexpected("introspection at B: 503 temporarily_unavailable")
	s.EndPhase(t0.Add(3 * time.Second))

	a := s.Instance("A")
	assert.Equal(t, 3, a.Requests)
	assert.Equal(t, map[int]int{200: 1, 500: 1}, a.Status)
	assert.Equal(t, 1, a.Refused, "no answer from an instance that is down is not an answer")
	assert.Equal(t, map[int]int{400: 1}, s.Instance("B").Status)

	ps := s.Phases()
	if assert.Len(t, ps, 2) {
		assert.Equal(t, []time.Duration{time.Millisecond, 2 * time.Millisecond}, ps[0].Latencies)
		assert.Equal(t, time.Second, ps[0].End.Sub(ps[0].Start))
		assert.Equal(t, 2*time.Second, ps[1].End.Sub(ps[1].Start))
	}
	assert.Equal(t, 3, s.Errors())
	assert.Equal(t, []Reason{{"refresh at B: 400 invalid_grant", 2}, {"introspection at B: 503 temporarily_unavailable", 1}}, s.Reasons())
}

func TestWarmAndEnd(t *testing.T) {
	for _, tc := range []struct {
		name      string
		readings  []uint64
		warm, end uint64
	}{
		{"none", nil, 0, 0},
		{"two: one each", []uint64{100, 130}, 100, 130},
		{"five: medians of two", []uint64{100, 140, 90, 120, 101}, 100, 101},
		{"nine: medians of three, one high reading at the end ignored",
			[]uint64{100, 102, 98, 101, 99, 100, 103, 99, 125}, 100, 103},
		{"a leak moves the median", []uint64{100, 101, 99, 110, 120, 130, 140, 150, 160}, 100, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warm, end := WarmAndEnd(tc.readings)
			assert.Equal(t, tc.warm, warm)
			assert.Equal(t, tc.end, end)
		})
	}
}
