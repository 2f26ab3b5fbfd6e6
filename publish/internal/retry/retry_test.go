package retry

import (
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
)

func TestWaitStretchesOneWait(t *testing.T) {
	t.Parallel()
	b := &AfterBackOff{BackOff: backoff.NewConstantBackOff(time.Second)}
	b.Wait = 5 * time.Second
	if d := b.NextBackOff(); d != 5*time.Second {
		t.Errorf("first wait %s, want the asked 5s", d)
	}
	if d := b.NextBackOff(); d != time.Second {
		t.Errorf("second wait %s, want the backoff's 1s again", d)
	}
	b.Wait = time.Millisecond
	if d := b.NextBackOff(); d != time.Second {
		t.Errorf("a shorter ask gave %s, want the backoff's 1s", d)
	}
}
