// Package sticky holds the rule both forges' sticky comments share: the
// body must carry its marker, or the next run could not find it and would
// post a second comment.
package sticky

import (
	"fmt"
	"strings"
)

// Check refuses a comment that could not be found again. what names it in
// errors ("PR comment on acme/api#7"); number is the PR or MR number.
func Check(what string, number int, marker, body string) error {
	switch {
	case number <= 0:
		return fmt.Errorf("failed to post %s: the number must be positive", what)
	case strings.TrimSpace(marker) == "":
		return fmt.Errorf("failed to post %s: the marker is empty", what)
	case !strings.Contains(body, marker):
		return fmt.Errorf("failed to post %s: the body lacks the marker %q", what, marker)
	}
	return nil
}
