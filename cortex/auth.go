package cortex

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
)

// Header names of Cortex public API authentication.
const (
	headerAuthID    = "x-xdr-auth-id"
	headerNonce     = "x-xdr-nonce"
	headerTimestamp = "x-xdr-timestamp"
)

const nonceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// nonceLength is what the vendor's examples use for x-xdr-nonce.
const nonceLength = 64

// AdvancedSignature is the Authorization value of an advanced-key request:
// the lowercase hex SHA-256 of key, nonce and timestamp concatenated (a plain
// hash, not an HMAC). timestamp is Unix milliseconds as a decimal string.
func AdvancedSignature(key, nonce, timestamp string) string {
	sum := sha256.Sum256([]byte(key + nonce + timestamp))
	return hex.EncodeToString(sum[:])
}

// authorize sets the authentication headers. Advanced keys get a fresh nonce
// and timestamp on every call: the server rejects replayed or stale ones, so
// a retry must never reuse the headers of the attempt before it.
func (c *Client) authorize(h http.Header) {
	h.Set(headerAuthID, c.keyID)
	if c.keyType != KeyAdvanced {
		h.Set("Authorization", c.key)
		return
	}
	nonce := newNonce()
	ts := strconv.FormatInt(c.now().UnixMilli(), 10)
	h.Set(headerNonce, nonce)
	h.Set(headerTimestamp, ts)
	h.Set("Authorization", AdvancedSignature(c.key, nonce, ts))
}

// newNonce returns nonceLength characters of [A-Za-z0-9] from crypto/rand,
// without modulo bias (bytes past the largest multiple of 62 are dropped).
func newNonce() string {
	const limit = 256 - 256%len(nonceAlphabet)
	out := make([]byte, 0, nonceLength)
	var buf [nonceLength * 2]byte
	for len(out) < nonceLength {
		rand.Read(buf[:]) // never fails (crypto/rand since Go 1.24)
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, nonceAlphabet[int(b)%len(nonceAlphabet)])
			if len(out) == nonceLength {
				break
			}
		}
	}
	return string(out)
}
