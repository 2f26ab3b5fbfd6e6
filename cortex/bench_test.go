package cortex

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// issuePages renders total issues as pages of size items, as the server
// would send them.
func issuePages(total, size int) [][]byte {
	var pages [][]byte
	for off := 0; off < total || off == total && total%size == 0; off += size {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := off; i < total && i < off+size; i++ {
			if i > off {
				b.WriteByte(',')
			}
			b.WriteString(issueJSON(i))
		}
		b.WriteByte(']')
		pages = append(pages, b.Bytes())
	}
	return pages
}

// BenchmarkDecodeIssues decodes 50,000 issues (500 pages of 100) straight
// from memory: the cost of the decoder itself, per listing.
func BenchmarkDecodeIssues(b *testing.B) {
	pages := issuePages(50000, 100)
	var size int
	for _, p := range pages {
		size += len(p)
	}
	decode := func() []Issue {
		in := interner{}
		var all []Issue
		for _, p := range pages {
			if _, err := decodeList(bytes.NewReader(p), maxPageBytes, func(w *issueWire) { all = append(all, w.issue(in)) }); err != nil {
				b.Fatal(err)
			}
		}
		if len(all) != 50000 {
			b.Fatalf("decoded %d issues", len(all))
		}
		return all
	}
	// What a listing keeps once decoded: the result, not the JSON. Measured
	// before b.Loop, which keeps its last result alive.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := decode()
	runtime.GC()
	runtime.ReadMemStats(&after)
	retained := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(kept))
	runtime.KeepAlive(kept)

	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		decode()
	}
	b.ReportMetric(retained, "retained-B/issue")
	b.ReportMetric(float64(size)/50000, "json-B/issue")
}

// BenchmarkIssuesOverHTTP lists 50,000 issues through the whole client
// (loopback HTTP, pagination, de-duplication) with pages of 1,000.
func BenchmarkIssuesOverHTTP(b *testing.B) {
	const total, size = 50000, 1000
	pages := issuePages(total, size)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(pages[off/size])
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, KeyID: "1", Key: "k", RateLimit: 1e6, PageSize: size, HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		issues, err := c.Issues(context.Background(), "scan-1")
		if err != nil || len(issues) != total {
			b.Fatalf("Issues() = %d, %v", len(issues), err)
		}
	}
}

func TestIssuePagesHelper(t *testing.T) {
	t.Parallel()
	pages := issuePages(250, 100)
	if len(pages) != 3 || !strings.HasPrefix(string(pages[2]), `[{"alert_name"`) {
		t.Errorf("issuePages(250, 100) = %d pages", len(pages))
	}
}
