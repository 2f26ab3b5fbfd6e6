package cortex

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxPages is the last guard of pagination, for a server that keeps handing
// out new items forever: 10,000 pages is a million items at 100 a page.
const maxPages = 10000

// ListPRScans lists the PR scans that match q, all pages.
//
// Cortex API docs: https://cortex-panw.stoplight.io/docs/cortex-xsiam-3-x (GetPRScans)
func (c *Client) ListPRScans(ctx context.Context, q PRScanQuery) ([]Scan, error) {
	params := url.Values{}
	setIf(params, "organizationName", q.Organization)
	addAll(params, "repositories", q.Repositories)
	setIf(params, "prId", q.PRID)
	if q.Days > 0 {
		params.Set("days", strconv.Itoa(q.Days))
	}
	scans, err := c.listScans(ctx, ScanTypePR, params)
	if err != nil {
		return nil, fmt.Errorf("failed to list PR scans: %w", err)
	}
	return scans, nil
}

// ListCIScans lists the CI scans that match q, all pages. The endpoint has
// no branch or commit filter: match those on the items.
//
// Cortex API docs: https://cortex-panw.stoplight.io/docs/cortex-xsiam-3-x (GetCIScans)
func (c *Client) ListCIScans(ctx context.Context, q CIScanQuery) ([]Scan, error) {
	params := url.Values{}
	setIf(params, "organizationName", q.Organization)
	addAll(params, "repositories", q.Repositories)
	if q.Days > 0 {
		params.Set("days", strconv.Itoa(q.Days))
	}
	scans, err := c.listScans(ctx, ScanTypeCI, params)
	if err != nil {
		return nil, fmt.Errorf("failed to list CI scans: %w", err)
	}
	return scans, nil
}

func (c *Client) listScans(ctx context.Context, typ ScanType, params url.Values) ([]Scan, error) {
	in := interner{}
	k := newKeyer()
	return list(ctx, c, "/scans/"+string(typ), c.pageSize, 0, params,
		func(w *scanWire) Scan { return w.scan(typ, in) },
		func(s *Scan) string {
			if s.ID != "" {
				return s.ID
			}
			return k.key(s.RepoName, s.PullRequestID, s.CommitID, s.BranchName, s.DateRaw)
		})
}

// Issues lists every issue of a scan, all pages.
//
// Cortex API docs: https://cortex-panw.stoplight.io/docs/cortex-xsiam-3-x (GetScanIssues)
func (c *Client) Issues(ctx context.Context, scanID string) ([]Issue, error) {
	return c.IssuesExpecting(ctx, scanID, 0)
}

// IssuesExpecting is Issues for a scan that counts about expected issues
// (0: unknown). The list is sized for them up front: growing a slice of
// 50,000 issues page by page would hold two copies at its last growth.
func (c *Client) IssuesExpecting(ctx context.Context, scanID string, expected int) ([]Issue, error) {
	path, err := scanPath(scanID, "issues")
	if err != nil {
		return nil, fmt.Errorf("failed to list issues of scan %q: %w", scanID, err)
	}
	in := interner{}
	k := newKeyer()
	issues, err := list(ctx, c, path, c.itemPageSize, expected, url.Values{},
		func(w *issueWire) Issue { return w.issue(in) },
		func(i *Issue) string {
			if i.ID != "" {
				return i.ID
			}
			return k.key(i.ScanID, i.AlertName, i.Severity, i.DetectionMethod, i.AssetName, i.FilePath, i.Created.String())
		})
	if err != nil {
		return nil, fmt.Errorf("failed to list issues of scan %q: %w", scanID, err)
	}
	return issues, nil
}

// Findings lists every finding of a scan, all pages. Findings have no id:
// duplicates are told by their identifying fields.
//
// Cortex API docs: https://cortex-panw.stoplight.io/docs/cortex-xsiam-3-x (GetScanFindings)
func (c *Client) Findings(ctx context.Context, scanID string) ([]Finding, error) {
	return c.FindingsExpecting(ctx, scanID, 0)
}

// FindingsExpecting is Findings for a scan that counts about expected
// findings (0: unknown), sized up front as IssuesExpecting is.
func (c *Client) FindingsExpecting(ctx context.Context, scanID string, expected int) ([]Finding, error) {
	path, err := scanPath(scanID, "findings")
	if err != nil {
		return nil, fmt.Errorf("failed to list findings of scan %q: %w", scanID, err)
	}
	in := interner{}
	k := newKeyer()
	findings, err := list(ctx, c, path, c.itemPageSize, expected, url.Values{},
		func(w *findingWire) Finding { return w.finding(in) },
		func(f *Finding) string {
			return k.key(f.ScanID, f.IssueName, f.Name, f.Category, f.FilePath, f.AssetID, f.AssetName,
				f.FirstHash, f.PlatformID, f.DetectionMethod, f.Severity, f.Branch, f.DataSource, f.Description)
		})
	if err != nil {
		return nil, fmt.Errorf("failed to list findings of scan %q: %w", scanID, err)
	}
	return findings, nil
}

// scanPath is the escaped path of a scan's sub-resource.
func scanPath(scanID, what string) (string, error) {
	if strings.TrimSpace(scanID) == "" || scanID == "." || scanID == ".." {
		return "", errors.New("invalid scan id")
	}
	return "/scans/" + url.PathEscape(scanID) + "/" + what, nil
}

// maxExpected caps the up-front size of a list: the count comes from the
// server, and a wrong one must not reserve gigabytes.
const maxExpected = 500_000

// serverPageFloor is the page size every tenant serves: the vendor's
// default limit. A page shorter than the limit asked but at least this long
// may be a tenant's own cap rather than the end of the list.
const serverPageFloor = 100

// list reads every page of an endpoint: offset and limit on each request,
// until a page holds fewer than limit items (or, when limit is above what
// every tenant serves, fewer than serverPageFloor: a tenant may cap the
// page). Items already seen (by key) are dropped, which covers a list that
// grows while it is paged; a page with nothing new means the server ignores
// offset, and ends the listing.
func list[W, T any](ctx context.Context, c *Client, path string, limit, expected int, params url.Values, convert func(*W) T, key func(*T) string) ([]T, error) {
	u := c.endpointURL(path)
	endpoint := "GET " + u.EscapedPath()
	seen := make(map[string]struct{}, min(max(expected, 0), maxExpected))
	var all []T
	if expected > 0 {
		all = make([]T, 0, min(expected, maxExpected))
	}
	var page []T
	offset := 0
	for pages := 0; ; pages++ {
		if pages == c.maxPages {
			return nil, fmt.Errorf("%s: gave up after %d pages (%d items): the server keeps sending new items", endpoint, pages, len(all))
		}
		params.Set("offset", strconv.Itoa(offset))
		params.Set("limit", strconv.Itoa(limit))
		u.RawQuery = params.Encode()

		var n int
		err := c.get(ctx, endpoint, u, func(r io.Reader) error {
			page, n = page[:0], 0
			var err error
			n, err = decodeList(r, c.maxPageBytes, func(w *W) { page = append(page, convert(w)) })
			return err
		})
		var apiErr *APIError
		refused := errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest
		if err != nil && offset == 0 && limit > serverPageFloor && (refused || errors.Is(err, errTooLarge)) {
			// A tenant that refuses a large page, or sends one too large
			// to read, gets the vendor's default.
			c.debugf("cortex: %s: limit=%d refused (%v); asking %d a page", endpoint, limit, err, serverPageFloor)
			limit = serverPageFloor
			continue
		}
		if err != nil {
			return nil, err
		}

		fresh := 0
		for i := range page {
			k := key(&page[i])
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			all = append(all, page[i])
			fresh++
		}
		if n < limit && (limit <= serverPageFloor || n < serverPageFloor) {
			break
		}
		if fresh == 0 {
			c.debugf("cortex: %s: page at offset %d holds only items already seen; the server seems to ignore offset, stopping", endpoint, offset)
			break
		}
		// Advance by what came, not by what was asked: a server that sends
		// more than limit would otherwise be asked for the same items again.
		offset += n
	}
	if all == nil {
		all = []T{}
	}
	return all, nil
}

// endpointURL is the base URL joined with the API prefix and path (already
// escaped).
func (c *Client) endpointURL(escapedPath string) *url.URL {
	u := *c.base
	raw := u.EscapedPath() + apiPrefix + escapedPath
	p, err := url.PathUnescape(raw)
	if err != nil {
		p = raw
	}
	u.Path, u.RawPath = p, raw
	return &u
}

// keyer makes a compact de-duplication key of several fields: a 128-bit
// hash, so 100,000 findings with long descriptions cost 100,000 short keys.
type keyer struct {
	h   hash.Hash
	buf []byte
}

func newKeyer() *keyer { return &keyer{h: fnv.New128a()} }

func (k *keyer) key(fields ...string) string {
	k.h.Reset()
	for _, f := range fields {
		io.WriteString(k.h, f)
		k.h.Write([]byte{0})
	}
	// A NUL first byte keeps hashes apart from real ids.
	k.buf = append(k.buf[:0], 0)
	return string(k.h.Sum(k.buf))
}

func setIf(v url.Values, key, value string) {
	if value = strings.TrimSpace(value); value != "" {
		v.Set(key, value)
	}
}

// addAll repeats key once per value, the way the description's array
// parameters are sent (repositories=a&repositories=b).
func addAll(v url.Values, key string, values []string) {
	for _, s := range values {
		if s = strings.TrimSpace(s); s != "" {
			v.Add(key, s)
		}
	}
}
