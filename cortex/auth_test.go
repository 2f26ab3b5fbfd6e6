package cortex

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestAdvancedSignature(t *testing.T) {
	t.Parallel()
	// printf '%s' 'key' 'nonce' '1700000000000' | sha256sum
	const want = "4b1fd0e8f1444eb14396f79ba31f36821b76fcd4ebbce80461131f7292fd7d69"
	got := AdvancedSignature("key", "nonce", "1700000000000")
	if len(got) != 64 || regexp.MustCompile(`[^0-9a-f]`).MatchString(got) {
		t.Fatalf("AdvancedSignature() = %q, want 64 lowercase hex digits", got)
	}
	if got != want {
		t.Errorf("AdvancedSignature() = %q, want %q", got, want)
	}
}

func TestStandardKeyHeaders(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, "[]") })
	c := newTestClient(t, srv, func(cfg *Config) { cfg.UserAgent = "cortex-gate/test" })
	if _, err := c.ListPRScans(context.Background(), PRScanQuery{}); err != nil {
		t.Fatalf("ListPRScans() error = %v", err)
	}
	h := rec.requests()[0].Header
	if h.Get("x-xdr-auth-id") != testKeyID || h.Get("Authorization") != testKey {
		t.Errorf("headers x-xdr-auth-id=%q, Authorization is the key: %v", h.Get("x-xdr-auth-id"), h.Get("Authorization") == testKey)
	}
	if h.Get("x-xdr-nonce") != "" || h.Get("x-xdr-timestamp") != "" {
		t.Errorf("standard key sent advanced headers: nonce %q timestamp %q", h.Get("x-xdr-nonce"), h.Get("x-xdr-timestamp"))
	}
	if h.Get("User-Agent") != "cortex-gate/test" || h.Get("Accept") != "application/json" {
		t.Errorf("User-Agent %q, Accept %q", h.Get("User-Agent"), h.Get("Accept"))
	}
}

// TestAdvancedKeyFreshOnRetry checks the signature the way the server does,
// and that a retried request is signed anew (same headers twice would be a
// replay).
func TestAdvancedKeyFreshOnRetry(t *testing.T) {
	t.Parallel()
	nonceRE := regexp.MustCompile(`^[A-Za-z0-9]{64}$`)
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n < 3 {
			writeJSON(w, 503, `{"reply":{"err_code":503,"err_msg":"busy"}}`)
			return
		}
		writeJSON(w, 200, "[]")
	})
	var tick int64 = 1_700_000_000_000
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.KeyType = KeyAdvanced
		cfg.Now = func() time.Time { tick += 1500; return time.UnixMilli(tick) }
	})
	if _, err := c.Issues(context.Background(), "scan-1"); err != nil {
		t.Fatalf("Issues() error = %v", err)
	}
	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("server saw %d requests, want 3 (two 503s, one success)", len(reqs))
	}
	nonces := map[string]bool{}
	stamps := map[string]bool{}
	for i, r := range reqs {
		nonce, ts, auth := r.Header.Get("x-xdr-nonce"), r.Header.Get("x-xdr-timestamp"), r.Header.Get("Authorization")
		if !nonceRE.MatchString(nonce) {
			t.Errorf("request %d: nonce %q is not 64 characters of [A-Za-z0-9]", i, nonce)
		}
		if _, err := strconv.ParseInt(ts, 10, 64); err != nil || len(ts) != 13 {
			t.Errorf("request %d: timestamp %q is not Unix milliseconds", i, ts)
		}
		if auth != AdvancedSignature(testKey, nonce, ts) {
			t.Errorf("request %d: Authorization does not verify against key+nonce+timestamp", i)
		}
		if auth == testKey || r.Header.Get("x-xdr-auth-id") != testKeyID {
			t.Errorf("request %d: Authorization is the bare key (%v) or auth id %q is wrong", i, auth == testKey, r.Header.Get("x-xdr-auth-id"))
		}
		nonces[nonce], stamps[ts] = true, true
	}
	if len(nonces) != 3 || len(stamps) != 3 {
		t.Errorf("retries reused headers: %d distinct nonces, %d distinct timestamps over 3 attempts", len(nonces), len(stamps))
	}
}

func TestNonce(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 200 {
		n := newNonce()
		if len(n) != 64 || seen[n] {
			t.Fatalf("newNonce() = %q: length %d, repeated %v", n, len(n), seen[n])
		}
		seen[n] = true
		for _, r := range n {
			counts[r]++
		}
	}
	if len(counts) != 62 {
		t.Errorf("200 nonces used %d distinct characters, want all 62 of [A-Za-z0-9]", len(counts))
	}
}
