// Package retry holds the backoff both forges' clients share.
package retry

import (
	"time"

	"github.com/cenkalti/backoff/v4"
)

// AfterBackOff stretches the next wait to what the forge asked for
// (Retry-After, a secondary rate limit's reset): set Wait before returning
// the error; it applies to one wait only.
type AfterBackOff struct {
	backoff.BackOff
	Wait time.Duration
}

// NextBackOff is the wrapped backoff's next wait, or Wait when longer.
func (b *AfterBackOff) NextBackOff() time.Duration {
	d := b.BackOff.NextBackOff()
	if d != backoff.Stop && b.Wait > d {
		d = b.Wait
	}
	b.Wait = 0
	return d
}
