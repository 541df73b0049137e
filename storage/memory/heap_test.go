//go:build !race

package memory_test

import "testing"

// maxHeapPerToken is the memory budget of a stored opaque access token.
const maxHeapPerToken = 400

func TestHeapPerAccessToken(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 200,000 tokens")
	}
	got := heapPerToken(t)
	t.Logf("%.0f B/token", got)
	if got > maxHeapPerToken {
		t.Errorf("heap per stored access token: %.0f B, want at most %d B", got, maxHeapPerToken)
	}
}
