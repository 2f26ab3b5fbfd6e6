package sticky

import "testing"

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
