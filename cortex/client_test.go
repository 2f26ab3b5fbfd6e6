package cortex

import (
	"strings"
	"testing"
)

func TestNormalizeBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "https://api-mytenant.xdr.us.paloaltonetworks.com", want: "https://api-mytenant.xdr.us.paloaltonetworks.com"},
		{in: "  https://api-mytenant.xdr.us.paloaltonetworks.com/  ", want: "https://api-mytenant.xdr.us.paloaltonetworks.com"},
		{in: "https://api-t.xdr.eu.paloaltonetworks.com/public_api/v1", want: "https://api-t.xdr.eu.paloaltonetworks.com"},
		{in: "https://api-t.xdr.eu.paloaltonetworks.com/public_api/appsec/v1/scans/pr?limit=5#x", want: "https://api-t.xdr.eu.paloaltonetworks.com"},
		{in: "https://api-t.xdr.eu.paloaltonetworks.com/PUBLIC_API/", want: "https://api-t.xdr.eu.paloaltonetworks.com"},
		{in: "HTTPS://mytenant.xdr.us.paloaltonetworks.com", want: "https://mytenant.xdr.us.paloaltonetworks.com"},
		{in: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080"},
		{in: "https://proxy.example.com/cortex/public_api", want: "https://proxy.example.com/cortex"},
		{in: "https://proxy.example.com/my_public_api_proxy/", want: "https://proxy.example.com/my_public_api_proxy"},
		{in: "", wantErr: "missing Cortex API URL"},
		{in: "api-mytenant.xdr.us.paloaltonetworks.com", wantErr: `missing https:// (did you mean "https://api-mytenant.xdr.us.paloaltonetworks.com"?)`},
		{in: "localhost:8080", wantErr: "missing https://"},
		{in: "ftp://example.com", wantErr: `the scheme must be https or http, not "ftp"`},
		{in: "https:///public_api", wantErr: "missing host name"},
		{in: "https://user:hunter2@example.com", wantErr: "must not carry a user name or password"},
		{in: "https://exa mple.com/%zz", wantErr: "invalid Cortex API URL"},
	}
	for _, tt := range tests {
		got, err := NormalizeBaseURL(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NormalizeBaseURL(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("NormalizeBaseURL(%q) error = %v shows the password", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NormalizeBaseURL(%q) error = %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("NormalizeBaseURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := New(Config{BaseURL: "tenant.example.com", KeyType: "fancy", RateLimit: -1, PageSize: -5})
	if err == nil {
		t.Fatal("New() error = nil, want every problem listed")
	}
	for _, want := range []string{"missing https://", "missing API key id", "missing API key", `invalid API key type "fancy"`, "invalid rate limit", "invalid page size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New() error = %v, want it to contain %q", err, want)
		}
	}

	_, err = New(Config{BaseURL: "https://x.example.com", KeyID: "1", Key: "abc\x00" + testKey})
	if err == nil || strings.Contains(err.Error(), testKey) {
		t.Errorf("New() with a control character in the key: error = %v, want an error that does not show the key", err)
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "https://x.example.com/public_api/", KeyID: " 7 ", Key: testKey + "\n", KeyType: "Advanced"})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if c.keyType != KeyAdvanced || c.key != testKey || c.keyID != "7" {
		t.Errorf("New() keyType=%q keyID=%q key trimmed=%v, want advanced, 7, true", c.keyType, c.keyID, c.key == testKey)
	}
	if c.pageSize != 100 || c.reqTimeout.Seconds() != 30 || c.maxRetry.Minutes() != 2 || float64(c.limiter.Limit()) != 4 {
		t.Errorf("New() defaults: page %d, timeout %s, retry %s, rate %v; want 100, 30s, 2m, 4", c.pageSize, c.reqTimeout, c.maxRetry, c.limiter.Limit())
	}
	if got := c.endpointURL("/scans/pr").String(); got != "https://x.example.com/public_api/appsec/v1/scans/pr" {
		t.Errorf("endpointURL() = %q", got)
	}
}
