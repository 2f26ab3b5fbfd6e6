// Package bench compares cortex-gate with the gate a team would script by
// hand (baseline.sh: curl, jq and a fixed 5 s poll). The comparison itself is
// bench/run, a bash script that builds the binary and runs both tools against
// `cortex-gate simulate`; this package holds the in-process Go benchmark of
// the huge scan (BenchmarkHugeScan, for allocations) and the fast tests that
// keep the benchmark's harness and the baseline honest.
package bench
