package markdown

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/reporter/internal/scantext"
)

// zwsp is a zero-width space written as an entity. Placed after "@" it stops
// GitHub from turning text into a live @-mention (the trick Dependabot uses),
// after "#" it stops issue references, and inside "://" and "www." it stops
// autolinks. The entity is decoded to U+200B in the rendered text, which is
// what the mention and reference filters see.
const zwsp = "&#8203;"

// Escape makes untrusted scan text safe as inline text in GitHub Flavored
// Markdown, in a paragraph, list item, link text or table cell: it cannot end
// the line or the cell, open HTML or a comment, create a link, autolink or
// image, start a code span, mention anyone or reference an issue. Line breaks
// and other control characters become spaces; bidirectional overrides are
// dropped so text cannot be displayed out of order.
func Escape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			b.WriteRune(utf8.RuneError)
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '|':
			// An entity, not "\|": it holds in every GFM table parser,
			// whatever backslashes precede it.
			b.WriteString("&#124;")
		case r == '@':
			b.WriteString("@" + zwsp)
		case r == '#':
			b.WriteString(`\#` + zwsp)
		case r == ':' && strings.HasPrefix(s[i+1:], "/"):
			b.WriteString(`\:` + zwsp)
		case r == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"):
			b.WriteString(zwsp + `\.`)
		case r == '-' && i >= 2 && strings.EqualFold(s[i-2:i], "gh"):
			// GH-123 is an issue reference too.
			b.WriteString(zwsp + `\-`)
		case strings.ContainsRune("\\`*_{}[]()+-.!~$=\"'", r):
			// ASCII punctuation with a Markdown meaning; a backslash escape
			// is valid before any ASCII punctuation.
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\u2028' || r == '\u2029' || unicode.IsControl(r):
			b.WriteByte(' ')
		case scantext.IsBidiControl(r):
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}

// clip shortens s to at most n runes, marking the cut with an ellipsis.
// It cuts raw text, before Escape, so no escape sequence is ever split.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	return s[:i] + "…"
}

// cell is the escaped, clipped text of an untrusted value, or a dash when
// it is empty, so a table cell is never blank by accident.
func cell(s string, n int) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "—"
	}
	return Escape(clip(s, n))
}

// Marker is the hidden sticky-comment marker for one (repository, PR, scan
// type), e.g. `<!-- cortex-gate:v1 repo=acme/payments-api pr=42 type=pr -->`.
// Values are lower-cased (forges match repository paths in any case) and
// percent-encoded outside [a-z0-9._/-], with a "-" after a "-" encoded too:
// no value can contain a space (forging another key), ">" or "--" (closing
// the comment), and distinct inputs give distinct markers.
func Marker(repoPath, prID string, scanType cortex.ScanType) string {
	return fmt.Sprintf("<!-- cortex-gate:v1 repo=%s pr=%s type=%s -->",
		markerValue(strings.ToLower(repoPath)), markerValue(prID), markerValue(strings.ToLower(string(scanType))))
}

func markerValue(s string) string {
	var b strings.Builder
	prev := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '/',
			c == '-' && prev != '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
		prev = c
	}
	return b.String()
}

// safeURL returns u ready for a Markdown link destination, or "" when it is
// not an absolute http(s) URL. Bytes that could end the destination, break a
// table row or be read as an entity or escape are percent-encoded.
func safeURL(u string) string {
	lower := strings.ToLower(u)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:/?#@!$+,;=%", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
