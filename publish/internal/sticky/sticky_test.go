package sticky

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	const m = "<!-- cortex-gate:v1 -->"
	for _, tt := range []struct {
		n            int
		marker, body string
		ok           bool
	}{
		{7, m, m + "\nbody", true},
		{0, m, m, false},
		{7, " ", m, false},
		{7, m, "body without it", false},
	} {
		if err := Check("PR comment on a/b#7", tt.n, tt.marker, tt.body); (err == nil) != tt.ok {
			t.Errorf("Check(%d, %q, %q) = %v, want ok %v", tt.n, tt.marker, tt.body, err, tt.ok)
		}
	}
}

func TestFitKeepsMarkerAndLimit(t *testing.T) {
	t.Parallel()
	const m = "<!-- cortex-gate:v1 -->"
	body := m + "\n" + strings.Repeat("| row é |\n", 100)
	got := Fit(body, m, 200, "\n_cut_\n")
	if n := utf8.RuneCountInString(got); n > 200 {
		t.Errorf("fitted body is %d runes, want at most 200", n)
	}
	if !strings.HasPrefix(got, m) || !strings.HasSuffix(got, "| row é |\n\n_cut_\n") {
		t.Errorf("fitted body lost the marker or cut mid-row:\n%s", got)
	}
	if Fit("short "+m, m, 200, "x") != "short "+m {
		t.Error("a body within the limit was changed")
	}
	// A marker at the end, beyond the cut, comes back at the top.
	tail := strings.Repeat("a\n", 200) + m
	if got := Fit(tail, m, 100, ""); !strings.HasPrefix(got, m+"\n") {
		t.Errorf("marker not restored: %q", got[:40])
	}
}
