// Package sse reads server-sent event streams (the text/event-stream
// format of the HTML standard, "Server-sent events", section 9.2): a
// Parser that turns the bytes of a stream into events, and Open, which
// requests a stream over HTTP with Last-Event-ID.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"
)

// Event is one dispatched event.
type Event struct {
	Type string // the event field; "message" when the stream gave none
	Data []byte // the data lines joined by "\n"
	ID   string // the last event ID after this event (it persists over events)
}

// DefaultMaxEvent is the largest event (its data) a Parser accepts.
const DefaultMaxEvent = 8 << 20

// ErrTooLarge is returned for an event or line above the Parser's limit.
var ErrTooLarge = errors.New("sse: event too large")

// Parser reads events from a stream. The zero value is not usable: use NewParser.
type Parser struct {
	r   *bufio.Reader
	max int

	data    bytes.Buffer
	hasData bool
	typ     string
	lastID  string
	// Retry is the reconnection time the stream asked for (0: none yet).
	Retry   time.Duration
	started bool // the BOM check is done
	line    []byte
	skipLF  bool // the last line ended with CR: a LF next is part of it
}

// NewParser reads from r; max is the largest event or line accepted (0:
// DefaultMaxEvent).
func NewParser(r io.Reader, max int) *Parser {
	if max <= 0 {
		max = DefaultMaxEvent
	}
	return &Parser{r: bufio.NewReaderSize(r, 4096), max: max}
}

// LastID is the stream's last event ID so far.
func (p *Parser) LastID() string { return p.lastID }

// SetLastID starts the parser with a known last event ID (a reconnection).
func (p *Parser) SetLastID(id string) { p.lastID = id }

// Next returns the next event. At the end of the stream it returns io.EOF;
// an event not terminated by a blank line is discarded, as the standard
// says. Comments and fields of other names are skipped.
func (p *Parser) Next() (Event, error) {
	for {
		line, err := p.readLine()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if !p.hasData {
				p.typ = ""
				continue
			}
			ev := Event{Type: p.typ, Data: append([]byte{}, p.data.Bytes()...), ID: p.lastID}
			if ev.Type == "" {
				ev.Type = "message"
			}
			p.data.Reset()
			p.hasData, p.typ = false, ""
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			p.typ = string(value)
		case "data":
			if p.data.Len()+len(value)+1 > p.max {
				return Event{}, ErrTooLarge
			}
			if p.hasData {
				p.data.WriteByte('\n')
			}
			p.data.Write(value)
			p.hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.lastID = string(value)
			}
		case "retry":
			if n, err := strconv.ParseUint(string(value), 10, 31); err == nil && isDigits(value) {
				p.Retry = time.Duration(n) * time.Millisecond
			}
		}
	}
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// readLine returns the next line without its end (CRLF, LF or CR).
func (p *Parser) readLine() ([]byte, error) {
	p.line = p.line[:0]
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(p.line) > 0 {
				// an unterminated last line is not a line: the event is discarded
				return nil, io.EOF
			}
			return nil, err
		}
		if p.skipLF {
			p.skipLF = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return p.bom(), nil
		case '\r':
			// a CRLF's LF may not have arrived yet: skip it when it does,
			// rather than wait for it on a live stream
			p.skipLF = true
			return p.bom(), nil
		}
		if len(p.line) >= p.max {
			return nil, ErrTooLarge
		}
		p.line = append(p.line, b)
	}
}

// bom drops a UTF-8 byte-order mark at the start of the stream.
func (p *Parser) bom() []byte {
	if !p.started {
		p.started = true
		return bytes.TrimPrefix(p.line, []byte("\xef\xbb\xbf"))
	}
	return p.line
}
