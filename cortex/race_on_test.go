//go:build race

package cortex_test

// raceEnabled skips the heaviest simulator run, which the race detector
// slows tenfold.
const raceEnabled = true
