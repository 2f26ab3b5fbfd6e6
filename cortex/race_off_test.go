//go:build !race

package cortex_test

const raceEnabled = false
