package scantext

import (
	"strings"
	"testing"
	"unicode"

	"github.com/cortex-gate/cortex-gate/reporter/internal/reporttest"
)

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"  plain text  ", -1, "plain text"},
		{"tab\tand\nnewline stay", -1, "tab\tand\nnewline stay"},
		{"a\x00b\x1bc\rd\x7fe\u0085f", -1, "abcdef"},
		{"exe.\u202etxt\u2066\u200f", -1, "exe.txt"},
		{"bad \xff\xfe bytes", -1, "bad \ufffd bytes"},
		{"keeps \ufffe", -1, "keeps \ufffe"},
		{strings.Repeat("x", 10), 4, "xxxx…"},
		{"xxxx", 4, "xxxx"},
		{"\x00\u202e", 0, ""},
	}
	for _, tt := range tests {
		if got := Clean(tt.in, tt.max); got != tt.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestCleanXMLDropsWhatXMLForbids(t *testing.T) {
	t.Parallel()
	got := CleanXML("a\x00b\x1bc\ufffed\xffe]]>f\u202eg", -1)
	if want := "abcd\ufffde]]>fg"; got != want {
		t.Errorf("CleanXML = %q, want %q", got, want)
	}
	if got := CleanXML(strings.Repeat("x", 10), 4); got != "xxxx…" {
		t.Errorf("CleanXML cut = %q, want xxxx…", got)
	}
	// What XML allows stays, unlike in Clean; each bad byte is one U+FFFD.
	if got, want := CleanXML("a\rb\x7fc\u0085d \xff\xfe", -1), "a\rb\x7fc\u0085d \ufffd\ufffd"; got != want {
		t.Errorf("CleanXML = %q, want %q", got, want)
	}
	for _, c := range CleanXML("\x00\x01\x08\x0b\x0c\x0e\x1f\ufffe\uffff\xed\xa0\x80 ok", -1) {
		if !IsXMLChar(c) {
			t.Errorf("CleanXML kept %U, which XML 1.0 forbids", c)
		}
	}
}

// TestHostileText: what an attacker puts in a scan leaves no control or
// bidirectional character in either kind of clean text.
func TestHostileText(t *testing.T) {
	t.Parallel()
	for _, c := range Clean(reporttest.HostileText, -1) {
		if (unicode.IsControl(c) && c != '\n' && c != '\t') || IsBidiControl(c) {
			t.Errorf("Clean kept %U", c)
		}
	}
	for _, c := range CleanXML(reporttest.HostileText, -1) {
		if !IsXMLChar(c) || IsBidiControl(c) {
			t.Errorf("CleanXML kept %U", c)
		}
	}
}
