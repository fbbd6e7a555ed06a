package locust

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Message is one message of Locust's protocol (locust/rpc/protocol.py): a
// msgpack array [type, data, node_id]. Data decodes to nil, bool, int64,
// uint64, float64, string, []any and map[any]any (maps may have integer
// keys: response-time buckets and per-second counts).
type Message struct {
	Type   string
	Data   any
	NodeID string
}

// Limits of a decoded message, checked before msgpack allocates anything:
// containers nest at most maxDepth deep and hold at most maxElements
// values in all.
const (
	maxDepth    = 32
	maxElements = 4 << 20
)

// Decode reads a Locust message. It never panics and allocates in
// proportion to b: declared lengths are checked against the bytes present
// first (a 5-byte map header cannot ask for four billion entries).
func Decode(b []byte) (*Message, error) {
	if err := scan(b); err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	d := msgpack.NewDecoder(bytes.NewReader(b))
	d.UseLooseInterfaceDecoding(true)
	d.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
	n, err := d.DecodeArrayLen()
	if err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	if n != 3 {
		return nil, fmt.Errorf("a message is [type, data, node_id], got an array of %d", n)
	}
	var m Message
	t, err := d.DecodeInterfaceLoose()
	if err != nil {
		return nil, fmt.Errorf("msgpack: type: %w", err)
	}
	var ok bool
	if m.Type, ok = t.(string); !ok {
		return nil, fmt.Errorf("message type is %T, not a string", t)
	}
	if m.Data, err = d.DecodeInterfaceLoose(); err != nil {
		return nil, fmt.Errorf("msgpack: %s data: %w", m.Type, err)
	}
	id, err := d.DecodeInterfaceLoose()
	if err != nil {
		return nil, fmt.Errorf("msgpack: %s node_id: %w", m.Type, err)
	}
	switch v := id.(type) {
	case string:
		m.NodeID = v
	case nil:
	default:
		return nil, fmt.Errorf("%s: node_id is %T, not a string", m.Type, id)
	}
	return &m, nil
}

// Encode writes m as Locust reads it. Data may hold maps with string keys,
// slices, strings, numbers, bools and nil. Integers take their shortest
// form and map keys are sorted, as Python's msgpack.dumps writes a dict
// built in that order: a message's bytes do not depend on Go's map order.
func Encode(m *Message) ([]byte, error) {
	var id any = m.NodeID
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	e.SetSortMapKeys(true)
	e.UseCompactInts(true)
	if err := e.Encode([]any{m.Type, m.Data, id}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// scan walks b as one msgpack value with no trailing bytes left over,
// checking every declared length against what is left and bounding nesting
// and the number of values.
func scan(b []byte) error {
	s := scanner{b: b}
	if err := s.value(0); err != nil {
		return err
	}
	if len(s.b) != 0 {
		return fmt.Errorf("%d bytes after the message", len(s.b))
	}
	return nil
}

type scanner struct {
	b     []byte
	elems int
}

var errShort = errors.New("truncated")

func (s *scanner) take(n uint64) error {
	if n > uint64(len(s.b)) {
		return errShort
	}
	s.b = s.b[n:]
	return nil
}

func (s *scanner) uint(n int) (uint64, error) {
	if len(s.b) < n {
		return 0, errShort
	}
	var v uint64
	switch n {
	case 1:
		v = uint64(s.b[0])
	case 2:
		v = uint64(binary.BigEndian.Uint16(s.b))
	case 4:
		v = uint64(binary.BigEndian.Uint32(s.b))
	}
	s.b = s.b[n:]
	return v, nil
}

func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	s.elems++
	if s.elems > maxElements {
		return fmt.Errorf("more than %d values", maxElements)
	}
	if len(s.b) == 0 {
		return errShort
	}
	c := s.b[0]
	s.b = s.b[1:]
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return nil
	case c >= 0x80 && c <= 0x8f:
		return s.mapping(uint64(c&0x0f), depth)
	case c >= 0x90 && c <= 0x9f:
		return s.container(uint64(c&0x0f), depth)
	case c >= 0xa0 && c <= 0xbf:
		return s.take(uint64(c & 0x1f))
	}
	switch c {
	case 0xc4, 0xd9: // bin 8, str 8
		return s.sized(1, 0)
	case 0xc5, 0xda:
		return s.sized(2, 0)
	case 0xc6, 0xdb:
		return s.sized(4, 0)
	case 0xc7: // ext 8
		return s.sized(1, 1)
	case 0xc8:
		return s.sized(2, 1)
	case 0xc9:
		return s.sized(4, 1)
	case 0xca:
		return s.take(4)
	case 0xcb:
		return s.take(8)
	case 0xcc, 0xd0:
		return s.take(1)
	case 0xcd, 0xd1:
		return s.take(2)
	case 0xce, 0xd2:
		return s.take(4)
	case 0xcf, 0xd3:
		return s.take(8)
	case 0xd4:
		return s.take(2)
	case 0xd5:
		return s.take(3)
	case 0xd6:
		return s.take(5)
	case 0xd7:
		return s.take(9)
	case 0xd8:
		return s.take(17)
	case 0xdc, 0xdd, 0xde, 0xdf: // array 16, array 32, map 16, map 32
		size := 2
		if c == 0xdd || c == 0xdf {
			size = 4
		}
		n, err := s.uint(size)
		if err != nil {
			return err
		}
		if c == 0xdc || c == 0xdd {
			return s.container(n, depth)
		}
		return s.mapping(n, depth)
	}
	return fmt.Errorf("unknown msgpack code %#x", c)
}

// sized skips a length-prefixed body (plus extra type bytes).
func (s *scanner) sized(lenBytes int, extra uint64) error {
	n, err := s.uint(lenBytes)
	if err != nil {
		return err
	}
	return s.take(n + extra)
}

// container scans n values; each takes at least one byte, so n beyond
// the bytes left is a lie told before any allocation.
func (s *scanner) container(n uint64, depth int) error {
	if n > uint64(len(s.b)) {
		return errShort
	}
	for range n {
		if err := s.value(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// mapping scans n key-value pairs; a key must be a scalar (a Go map
// cannot have a list or a map as its key).
func (s *scanner) mapping(n uint64, depth int) error {
	if 2*n > uint64(len(s.b)) {
		return errShort
	}
	for range n {
		if len(s.b) > 0 {
			switch c := s.b[0]; {
			case c >= 0x80 && c <= 0x9f, c == 0xdc, c == 0xdd, c == 0xde, c == 0xdf:
				return errors.New("a map key that is a list or a map")
			}
		}
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if err := s.value(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// Accessors of decoded data: Locust's numbers arrive as ints or floats
// (Python's), keys as strings or ints.

func asMap(v any) (map[any]any, bool) {
	m, ok := v.(map[any]any)
	return m, ok
}

func asString(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

// asFloat converts a number; ok is false for anything else (or NaN/Inf).
func asFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case float64:
		f = x
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// asInt converts a whole number (a float with no fraction too).
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<62 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// field returns m[key] for a string key.
func field(m map[any]any, key string) any { return m[key] }
