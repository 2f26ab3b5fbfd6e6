// Package jsonsplice writes a large indented JSON document without holding
// its encoding in memory. encoding/json builds a document whole (and an
// indented copy on top); for a report of 150,000 items that is hundreds of
// megabytes. Instead the document is encoded with one placeholder item in
// each big list, and the real items are encoded one at a time in the
// placeholder's place, giving the bytes json.Encoder with
// SetIndent("", "  ") would.
package jsonsplice

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"slices"
)

// List is a list written in place of its placeholder item.
type List struct {
	// Placeholder is the one item the document holds in this list's place;
	// it should carry a random nonce, so scan text cannot forge it.
	Placeholder any
	// Prefix is the indentation of the list's items.
	Prefix string
	// N items, each made by Item when it is written.
	N    int
	Item func(n int) any

	at, end int // where the placeholder is in the document
}

// Write writes doc, indented by two spaces, with each list's items in
// place of its placeholder.
func Write(w io.Writer, doc any, lists []List) error {
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	doc0 := head.Bytes()
	for n := range lists {
		l := &lists[n]
		p, err := json.MarshalIndent(l.Placeholder, l.Prefix, "  ")
		if err != nil {
			return err
		}
		l.at = bytes.Index(doc0, p)
		if l.at < 0 || bytes.Contains(doc0[l.at+len(p):], p) {
			return errors.New("the placeholder of a list is not in the document exactly once")
		}
		l.end = l.at + len(p)
	}
	slices.SortFunc(lists, func(a, b List) int { return cmp.Compare(a.at, b.at) })
	done := 0
	var b bytes.Buffer
	for _, l := range lists {
		if _, err := w.Write(doc0[done:l.at]); err != nil {
			return err
		}
		enc := json.NewEncoder(&b)
		enc.SetIndent(l.Prefix, "  ")
		for n := range l.N {
			b.Reset()
			if n > 0 {
				b.WriteString(",\n" + l.Prefix)
			}
			if err := enc.Encode(l.Item(n)); err != nil {
				return err
			}
			b.Truncate(b.Len() - 1) // Encode ends the item with a newline
			if _, err := w.Write(b.Bytes()); err != nil {
				return err
			}
		}
		done = l.end
	}
	_, err := w.Write(doc0[done:])
	return err
}
