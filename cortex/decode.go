package cortex

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxPageBytes caps one page's body. A page of 5,000 issues is a few MiB;
// a page over the cap (a server that ignores limit, or very long finding
// descriptions) is asked again at 100 a page.
const maxPageBytes = 64 << 20

// maxErrorBytes caps what is read of an error body.
const maxErrorBytes = 64 << 10

var errTooLarge = errors.New("the body is too large")

// capReader reads at most n bytes and fails, rather than ending quietly,
// past them: a silent cut would read as a truncated page.
type capReader struct {
	r    io.Reader
	n    int64 // bytes still allowed
	read int64 // bytes read so far
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		// One more byte tells "exactly n" from "more than n".
		var one [1]byte
		if k, _ := c.r.Read(one[:]); k > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	k, err := c.r.Read(p)
	c.n -= int64(k)
	c.read += int64(k)
	return k, err
}

// decodeList streams the items of one page to each, one item in memory at a
// time. The page may be a bare array (the vendor description), an object
// wrapping it as "data" or "reply" (also {"reply": {"data": [...]}}), or
// null (no items). w is reset before every item.
func decodeList[W any](r io.Reader, limit int64, each func(*W)) (n int, err error) {
	cr := &capReader{r: r, n: limit}
	br := bufio.NewReaderSize(cr, 32<<10)
	first, err := firstByte(br)
	switch {
	case errors.Is(err, io.EOF) && cr.read == 0:
		return 0, &decodeError{what: "empty body"}
	case errors.Is(err, io.EOF):
		return 0, &decodeError{what: "the body is only white space"}
	case err != nil:
		return 0, classifyJSONError(err, cr.read, limit)
	case first == '<':
		return 0, &decodeError{what: "the server sent an HTML page, not JSON (is api-url the tenant's API URL, and is there a proxy or login page in between?)"}
	}

	dec := json.NewDecoder(br)
	d := &listDecoder[W]{dec: dec, each: each, w: new(W)}
	err = d.value(0)
	if err == nil && !d.found {
		err = d.shapeError()
	}
	if err == nil {
		// Trailing garbage means the body is not the JSON we think it is.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = &decodeError{what: "unexpected data after the JSON value"}
		}
	}
	if err != nil {
		var de *decodeError
		if errors.As(err, &de) {
			return d.n, de
		}
		return d.n, classifyJSONError(err, cr.read, limit)
	}
	return d.n, nil
}

type listDecoder[W any] struct {
	dec   *json.Decoder
	each  func(*W)
	w     *W
	n     int
	found bool   // an item array (or null) was seen
	msg   string // an error message met in a wrapper object
}

// value reads the top-level value, or the value of a wrapper key.
func (d *listDecoder[W]) value(depth int) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		d.found = true
		return d.items()
	case json.Delim('{'):
		if depth >= 2 {
			return skipRest(d.dec)
		}
		return d.object(depth)
	case nil:
		d.found = true // null: no items
		return nil
	}
	if depth == 0 {
		return &decodeError{what: fmt.Sprintf("expected a JSON array of items, got %s", tokenKind(tok))}
	}
	return nil
}

// object walks a wrapper object looking for "data" or "reply", skipping
// anything else without holding it in memory.
func (d *listDecoder[W]) object(depth int) error {
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		switch lk := strings.ToLower(key); {
		case !d.found && (lk == "data" || lk == "reply"):
			if err := d.value(depth + 1); err != nil {
				return err
			}
		case lk == "err_msg" || lk == "message" || lk == "error":
			v, err := d.dec.Token()
			if err != nil {
				return err
			}
			switch v := v.(type) {
			case string:
				d.msg = v
			case json.Delim:
				if err := skipRest(d.dec); err != nil {
					return err
				}
			}
		default:
			if err := skipValue(d.dec); err != nil {
				return err
			}
		}
	}
	_, err := d.dec.Token() // '}'
	return err
}

func (d *listDecoder[W]) items() error {
	var zero W
	for d.dec.More() {
		*d.w = zero
		if err := d.dec.Decode(d.w); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return &decodeError{what: fmt.Sprintf("item %d is a JSON %s, not an object", d.n+1, te.Value)}
			}
			return err
		}
		d.n++
		d.each(d.w)
	}
	_, err := d.dec.Token() // ']'
	return err
}

func (d *listDecoder[W]) shapeError() error {
	if d.msg != "" {
		return &decodeError{what: "an object without items, saying: " + d.msg}
	}
	return &decodeError{what: `a JSON object without an item array (looked for "data" and "reply")`}
}

// skipValue consumes one value token by token.
func skipValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok && (d == '[' || d == '{') {
		return skipRest(dec)
	}
	return nil
}

// skipRest consumes the rest of an array or object whose opening delimiter
// was read.
func skipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '[' || d == '{' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func tokenKind(tok json.Token) string {
	switch tok.(type) {
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%v", tok)
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case 0xEF: // a UTF-8 byte order mark: skip it
			if next, err := br.Peek(2); err == nil && next[0] == 0xBB && next[1] == 0xBF {
				br.Discard(2)
				continue
			}
		}
		return b, br.UnreadByte()
	}
}

// classifyJSONError names what went wrong while reading a page.
func classifyJSONError(err error, read, limit int64) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &decodeError{what: fmt.Sprintf("invalid JSON at byte %d", se.Offset), err: err}
	case errors.Is(err, errTooLarge):
		return &decodeError{what: "the body is larger than " + sizeText(limit), err: errTooLarge}
	}
	return readError(err, read)
}

// readError is a body that ended early: a dropped connection or a server
// that crashed mid-answer. It may come whole on the next attempt.
func readError(err error, read int64) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &decodeError{what: fmt.Sprintf("truncated body after %d bytes", read), err: err, retryable: true}
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
