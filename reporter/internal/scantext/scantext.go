// Package scantext cleans untrusted scan text (alert names, paths,
// policy names, messages) for the report files that show it as plain text.
// What a format must escape (JSON, XML, Markdown) is left to its encoder or
// renderer; this package only drops what no reader should be shown. The
// console and Markdown escapers, which turn controls into spaces instead,
// share its IsBidiControl.
package scantext

import (
	"strings"
	"unicode"
)

// Clean makes scan text safe for a plain-text field of a JSON report (SARIF,
// Code Quality): invalid UTF-8 becomes U+FFFD (one per run of bad bytes),
// control characters other than tab and newline and the bidirectional
// controls that can disguise text are dropped, surrounding space is
// trimmed, and the text is cut to maxRunes with an ellipsis (no cut when
// maxRunes is negative).
func Clean(s string, maxRunes int) string {
	return keep(strings.ToValidUTF8(s, "\uFFFD"), maxRunes, false)
}

// CleanXML is Clean for XML 1.0 text and attributes (JUnit). It differs on
// purpose: the test is the one an XML parser applies, the characters XML
// 1.0 allows, so U+FFFE and U+FFFF, which Clean keeps, are dropped (a strict
// parser rejects the whole file for one), while carriage returns, DEL and
// the C1 controls, which XML allows, stay. Each invalid byte becomes its
// own U+FFFD.
func CleanXML(s string, maxRunes int) string {
	// Ranging over a string decodes each invalid byte as U+FFFD, which
	// XML allows.
	return keep(s, maxRunes, true)
}

// keep is s with only the runes Clean (or, when xml, CleanXML) allows and
// no bidirectional controls, cut to maxRunes (none when negative) and
// trimmed. A flag, not a predicate func: a call per rune made the writers
// up to a fifth slower on 50,000 issues.
func keep(s string, maxRunes int, xml bool) string {
	var b strings.Builder
	n := 0
	for _, c := range s {
		if !allowed(c, xml) || IsBidiControl(c) {
			continue
		}
		if maxRunes >= 0 && n == maxRunes {
			b.WriteString("…")
			break
		}
		b.WriteRune(c)
		n++
	}
	return strings.TrimSpace(b.String())
}

func allowed(c rune, xml bool) bool {
	if xml {
		return IsXMLChar(c)
	}
	return !unicode.IsControl(c) || c == '\n' || c == '\t'
}

// IsXMLChar reports whether XML 1.0 allows c in a document (the Char
// production): https://www.w3.org/TR/xml/#charsets
func IsXMLChar(c rune) bool {
	return c == '\t' || c == '\n' || c == '\r' ||
		(c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF)
}

// IsBidiControl reports the explicit directional formatting characters
// (embeddings, overrides, isolates and the LRM/RLM marks): scan text with
// them can show "exe.txt" as "txt.exe" and make a line read differently
// from what it holds.
func IsBidiControl(c rune) bool {
	return (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069') || c == '\u200E' || c == '\u200F'
}
