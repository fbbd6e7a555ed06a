// Package har reads HTTP Archive (HAR 1.2) recordings, such as the ones
// Chromium's DevTools export, and converts them into horde scenario files
// (docs/convert.md).
//
// Parse checks the structure and names the place of every problem as
// file:line:col plus the entry's path (entries[3].request.url); Convert
// turns a parsed log into a scenario's YAML.
package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Log is the part of a HAR file's log object that the converter reads.
type Log struct {
	Version string  `json:"version"`
	Creator Creator `json:"creator"`
	Pages   []Page  `json:"pages"`
	Entries []Entry `json:"entries"`
}

// Creator names the program that wrote the file.
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Page is a page the browser loaded; entries name it by ID in Pageref.
type Page struct {
	StartedDateTime string `json:"startedDateTime"`
	ID              string `json:"id"`
	Title           string `json:"title"`

	Started time.Time `json:"-"`
}

// Entry is one request and its response.
type Entry struct {
	Pageref         string   `json:"pageref"`
	StartedDateTime string   `json:"startedDateTime"`
	Time            float64  `json:"time"` // milliseconds, the whole exchange
	Request         Request  `json:"request"`
	Response        Response `json:"response"`
	// Chromium's extensions.
	ResourceType string `json:"_resourceType"`
	FromCache    string `json:"_fromCache"`

	// Set by Parse.
	Started time.Time `json:"-"`
	URL     *url.URL  `json:"-"`
	Index   int       `json:"-"` // position in the file's entries
	Pos     Pos       `json:"-"` // where the entry starts
}

// End is when the exchange ended, as the recording says.
func (e *Entry) End() time.Time {
	ms := min(max(e.Time, 0), 1e9) // a recording does not last 11 days
	return e.Started.Add(time.Duration(ms * float64(time.Millisecond)))
}

// Request is an entry's request.
type Request struct {
	Method      string      `json:"method"`
	URL         string      `json:"url"`
	HTTPVersion string      `json:"httpVersion"`
	Headers     []NameValue `json:"headers"`
	QueryString []NameValue `json:"queryString"`
	Cookies     []Cookie    `json:"cookies"`
	PostData    *PostData   `json:"postData"`
}

// Response is an entry's response; Status 0 means none arrived (blocked,
// cancelled or failed).
type Response struct {
	Status      int         `json:"status"`
	StatusText  string      `json:"statusText"`
	Headers     []NameValue `json:"headers"`
	Cookies     []Cookie    `json:"cookies"`
	Content     Content     `json:"content"`
	RedirectURL string      `json:"redirectURL"`
}

// NameValue is a header or a query parameter.
type NameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Cookie is a cookie sent or set.
type Cookie struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PostData is a request body.
type PostData struct {
	MimeType string  `json:"mimeType"`
	Text     string  `json:"text"`
	Params   []Param `json:"params"`
}

// Param is a form field of a posted body.
type Param struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
}

// Content is a response body; Text is base64 when Encoding says so.
type Content struct {
	Size     int64  `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
}

// Body returns the response body's bytes, decoded from base64 when the
// file says so; ok is false when the file holds no body.
func (c *Content) Body() ([]byte, bool) {
	if c.Text == "" {
		return nil, false
	}
	if strings.EqualFold(c.Encoding, "base64") {
		b, err := decodeBase64(c.Text)
		if err != nil {
			return nil, false
		}
		return b, true
	}
	return []byte(c.Text), true
}

// Pos is a place in the file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Error is a problem at a place of the file; Path names the field
// (entries[3].request.url) when known.
type Error struct {
	Pos  Pos
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Path + ": " + e.Msg
}

// ErrorList is every problem Parse found, in file order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// maxErrors bounds the problems reported for one file.
const maxErrors = 20

// Parse reads a HAR file's bytes; name is used in error positions. The
// error is an ErrorList.
func Parse(name string, data []byte) (*Log, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Windows tools write a BOM
	p := &parser{name: name, data: data}
	log := p.parse()
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i].Pos, p.errs[j].Pos
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		})
		if len(p.errs) > maxErrors {
			p.errs = p.errs[:maxErrors]
		}
		return nil, p.errs
	}
	return log, nil
}

type parser struct {
	name string
	data []byte
	errs ErrorList
}

// pos turns a byte offset into a line and column (in bytes, from 1).
func (p *parser) pos(off int64) Pos {
	off = min(max(off, 0), int64(len(p.data)))
	before := p.data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return Pos{File: p.name, Line: line, Col: col}
}

func (p *parser) errorf(off int64, path, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: p.pos(off), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// valueStart skips blanks and the commas and colons between values, from off.
func (p *parser) valueStart(off int64) int64 {
	for off < int64(len(p.data)) {
		switch p.data[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// jsonError reports a decoding error of the value that starts at base.
func (p *parser) jsonError(base int64, path string, err error) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off := base + se.Offset
		if !strings.HasPrefix(se.Error(), "unexpected end") && se.Offset > 0 {
			off-- // Offset counts the bad byte
		}
		p.errorf(off, path, "invalid JSON: %v", se)
	case errors.As(err, &te):
		field := path
		if te.Field != "" {
			field = joinPath(path, te.Field)
		}
		// Offset is just past the value read; point at its start.
		off := base + te.Offset
		if v := p.valueBefore(off); v >= 0 {
			off = v
		}
		p.errorf(off, field, "want %s, got a JSON %s", describeType(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		p.errorf(int64(len(p.data)), path, "invalid JSON: unexpected end of the file")
	default:
		p.errorf(base, path, "%v", err)
	}
}

// valueBefore finds the start of the value that ends at off (after a colon
// or a comma), or -1.
func (p *parser) valueBefore(off int64) int64 {
	off = min(off, int64(len(p.data)))
	for i := off - 1; i >= 0 && i >= off-4096; i-- {
		if c := p.data[i]; c == ':' || c == ',' || c == '[' {
			return p.valueStart(i + 1)
		}
	}
	return -1
}

func describeType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "float64":
		return "a number"
	case "slice":
		return "a list"
	case "struct", "ptr":
		return "an object"
	}
	return kind
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func (p *parser) parse() *Log {
	var any_ any
	if err := json.Unmarshal(p.data, &any_); err != nil {
		p.jsonError(0, "", err)
		return nil
	}
	top, ok := any_.(map[string]any)
	if !ok {
		p.errorf(p.valueStart(0), "", "a HAR file is a JSON object with a \"log\" key, got a JSON %s", kindOf(any_))
		return nil
	}
	if _, ok := top["log"]; !ok {
		p.errorf(p.valueStart(0), "", "no \"log\" key: this is not a HAR file")
		return nil
	}
	// The file is valid JSON: walk it with a decoder to know where each
	// entry starts.
	dec := json.NewDecoder(bytes.NewReader(p.data))
	dec.UseNumber()
	log := &Log{}
	_, _ = dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		if k != "log" {
			var skip json.RawMessage
			_ = dec.Decode(&skip)
			continue
		}
		p.log(dec, log)
		break
	}
	return log
}

func (p *parser) log(dec *json.Decoder, log *Log) {
	start := p.valueStart(dec.InputOffset())
	t, _ := dec.Token()
	if t != json.Delim('{') {
		p.errorf(start, "log", "want an object")
		return
	}
	sawEntries := false
	for dec.More() {
		k, _ := dec.Token()
		off := p.valueStart(dec.InputOffset())
		switch k {
		case "entries":
			sawEntries = true
			p.entries(dec, log, off)
		case "pages":
			var raw json.RawMessage
			_ = dec.Decode(&raw)
			if err := json.Unmarshal(raw, &log.Pages); err != nil {
				p.jsonError(off, "log.pages", err)
			}
			for i := range log.Pages {
				pg := &log.Pages[i]
				if pg.StartedDateTime != "" {
					if t, err := parseTime(pg.StartedDateTime); err == nil {
						pg.Started = t
					}
				}
			}
		case "version", "creator":
			var raw json.RawMessage
			_ = dec.Decode(&raw)
			var err error
			if k == "version" {
				err = json.Unmarshal(raw, &log.Version)
			} else {
				err = json.Unmarshal(raw, &log.Creator)
			}
			if err != nil {
				p.jsonError(off, "log."+k.(string), err)
			}
		default:
			var skip json.RawMessage
			_ = dec.Decode(&skip)
		}
	}
	if !sawEntries {
		p.errorf(start, "log", "no \"entries\" list")
	}
}

func (p *parser) entries(dec *json.Decoder, log *Log, start int64) {
	t, _ := dec.Token()
	if t != json.Delim('[') {
		p.errorf(start, "log.entries", "want a list")
		var skip json.RawMessage
		if t == json.Delim('{') {
			// a Token consumed the brace: skip the rest of the object
			for dec.More() {
				_, _ = dec.Token()
				_ = dec.Decode(&skip)
			}
			_, _ = dec.Token()
		}
		return
	}
	for i := 0; dec.More(); i++ {
		off := p.valueStart(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.jsonError(off, fmt.Sprintf("entries[%d]", i), err)
			return
		}
		path := fmt.Sprintf("entries[%d]", i)
		var e Entry
		if err := json.Unmarshal(raw, &e); err != nil {
			p.jsonError(off, path, err)
			continue
		}
		e.Index, e.Pos = i, p.pos(off)
		p.check(&e, raw, off, path)
		log.Entries = append(log.Entries, e)
	}
	_, _ = dec.Token() // ]
}

// check validates an entry that decoded, pointing at the field at fault.
func (p *parser) check(e *Entry, raw json.RawMessage, off int64, path string) {
	at := func(keys ...string) int64 { return off + fieldOffset(raw, keys...) }
	if strings.TrimSpace(string(raw)) == "null" {
		p.errorf(off, path, "want an object, got null")
		return
	}
	switch t, err := parseTime(e.StartedDateTime); {
	case e.StartedDateTime == "":
		p.errorf(off, path+".startedDateTime", "missing: the converter orders requests and measures think times by it")
	case err != nil:
		p.errorf(at("startedDateTime"), path+".startedDateTime", "%q is not an ISO 8601 date and time: %v", e.StartedDateTime, err)
	default:
		e.Started = t
	}
	if e.Request.Method == "" {
		p.errorf(at("request"), path+".request.method", "missing")
	} else if !isToken(e.Request.Method) {
		p.errorf(at("request", "method"), path+".request.method", "%q is not an HTTP method", e.Request.Method)
	}
	if e.Request.URL == "" {
		p.errorf(at("request"), path+".request.url", "missing")
	} else if u, err := url.Parse(e.Request.URL); err != nil || u.Scheme == "" {
		msg := "no scheme"
		if err != nil {
			msg = err.Error()
		}
		p.errorf(at("request", "url"), path+".request.url", "%q is not an absolute URL: %s", e.Request.URL, msg)
	} else {
		e.URL = u
	}
	if st := e.Response.Status; st != 0 && (st < 100 || st > 599) {
		p.errorf(at("response", "status"), path+".response.status", "%d is not an HTTP status (0 for no answer, or 100 to 599)", st)
	}
	if e.Time < 0 && e.Time != -1 {
		p.errorf(at("time"), path+".time", "negative: %v", e.Time)
	}
}

// fieldOffset finds the offset of the value at keys inside the object raw
// (0 when absent, the object's own start).
func fieldOffset(raw json.RawMessage, keys ...string) int64 {
	var base int64
	for _, key := range keys {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return base
		}
		found := false
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return base
			}
			start := dec.InputOffset()
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return base
			}
			if k == key {
				// skip the colon and blanks before the value
				rel := int64(bytes.Index(raw[start:], v))
				if rel < 0 {
					rel = 0
				}
				base += start + rel
				raw = v
				found = true
				break
			}
		}
		if !found {
			return base
		}
	}
	return base
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "list"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "object"
}

// parseTime reads an ISO 8601 date and time as HAR writers produce it.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return time.Time{}, err
}

// isToken reports whether s is an RFC 9110 token (a method name).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}
