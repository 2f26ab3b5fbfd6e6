package jsonsplice

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type item struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

type doc struct {
	Name  string `json:"name"`
	Items []item `json:"items"`
	More  []item `json:"more"`
	Tail  string `json:"tail"`
}

// TestSameBytesAsEncodingJSON: the spliced document is the document
// encoding/json would write whole.
func TestSameBytesAsEncodingJSON(t *testing.T) {
	t.Parallel()
	items := []item{{"a", "<b>&\"\n"}, {"c", "d"}, {"e", "placeholder-ish"}}
	more := []item{{"x", "y"}}
	full := doc{Name: "n", Items: items, More: more, Tail: "t"}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	if err := enc.Encode(full); err != nil {
		t.Fatal(err)
	}

	spliced := doc{Name: "n", Items: []item{{ID: "nonce-1"}}, More: []item{{ID: "nonce-2"}}, Tail: "t"}
	var got bytes.Buffer
	err := Write(&got, spliced, []List{
		{Placeholder: spliced.More[0], Prefix: "    ", N: len(more), Item: func(n int) any { return &more[n] }},
		{Placeholder: spliced.Items[0], Prefix: "    ", N: len(items), Item: func(n int) any { return &items[n] }},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.String(), got.String()); diff != "" {
		t.Errorf("spliced document differs (-want +got):\n%s", diff)
	}
}

func TestPlaceholderMustBeThereOnce(t *testing.T) {
	t.Parallel()
	d := doc{Items: []item{{ID: "p"}}, More: []item{{ID: "p"}}}
	err := Write(&bytes.Buffer{}, d, []List{{Placeholder: item{ID: "p"}, Prefix: "    ", N: 0, Item: nil}})
	if err == nil {
		t.Error("a placeholder found twice was accepted")
	}
}
