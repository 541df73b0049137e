//go:build race

package jose_test

// raceEnabled is true under the race detector, which may allocate behind
// the code under test, so allocation counts are meaningless.
const raceEnabled = true
