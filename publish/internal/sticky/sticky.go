// Package sticky holds the rule both forges' sticky comments share: the
// body must carry its marker, or the next run could not find it and would
// post a second comment.
package sticky

import (
	"fmt"
	"strings"
	"unicode/utf8"
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

// Fit cuts body to maxRunes characters (the forges count characters, not
// bytes), at a line end so a table row or link is not left half, ending
// with note, and puts the marker back at the top if the cut took it.
func Fit(body, marker string, maxRunes int, note string) string {
	if utf8.RuneCountInString(body) <= maxRunes {
		return body
	}
	keep := maxRunes - utf8.RuneCountInString(note)
	cut := TruncateRunes(body, keep)
	if !strings.Contains(cut, marker) {
		head := marker + "\n"
		cut = head + TruncateRunes(body, keep-utf8.RuneCountInString(head))
	}
	return AtLineEnd(cut) + note
}

// TruncateRunes is the first n runes of s.
func TruncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// AtLineEnd drops a trailing partial line (when it is short enough to be
// one), so a cut never leaves half a table row or link.
func AtLineEnd(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 && len(s)-i < 4096 {
		return s[:i+1]
	}
	return s
}
