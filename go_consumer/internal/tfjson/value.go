package tfjson

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a [Value].
type Kind uint8

// The JSON kinds. NaN, Infinity and -Infinity are numbers.
const (
	KindNull Kind = iota
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

// MaxDepth is the deepest nesting of arrays and objects that [Parse] accepts.
const MaxDepth = 1000

// Value is a parsed JSON value. Numbers keep their literal text so that each one can be
// rounded once, directly to the dtype it is decoded as (and int64 stays exact).
type Value struct {
	// Kind is the JSON type.
	Kind Kind
	// Bool is the value of a boolean.
	Bool bool
	// Text is a number's literal ("1.5e3", "NaN", "-Infinity") or a string's contents.
	Text string
	// Items are an array's elements, or an object's member values (parallel to Keys).
	Items []Value
	// Keys are an object's member names, each once (a repeated key keeps its first position
	// and its last value, as Python's json module does).
	Keys []string
}

// Member returns the value of the object member named key, or nil.
func (v *Value) Member(key string) *Value {
	for i, k := range v.Keys {
		if k == key {
			return &v.Items[i]
		}
	}
	return nil
}

// Parse parses one JSON value (RFC 8259 plus the bare tokens NaN, Infinity and -Infinity)
// with nothing but whitespace around it. Errors are *RequestError "invalid JSON: ...".
func Parse(data []byte) (*Value, error) {
	if !utf8.Valid(data) {
		return nil, errorf("invalid JSON: body is not valid UTF-8")
	}
	p := parser{s: string(data)}
	p.skipSpace()
	var v Value
	if err := p.value(&v, 0); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.s) {
		return nil, p.fail("extra data after the JSON value")
	}
	return &v, nil
}

type parser struct {
	s   string
	pos int
}

func (p *parser) fail(what string) error {
	line, col := 1, 1
	for i := 0; i < p.pos && i < len(p.s); i++ {
		if p.s[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return errorf("invalid JSON: %s at line %d column %d", what, line, col)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) literal(word string) bool {
	if strings.HasPrefix(p.s[p.pos:], word) {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *parser) value(v *Value, depth int) error {
	if p.pos >= len(p.s) {
		return p.fail("expecting value")
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.object(v, depth+1)
	case c == '[':
		return p.array(v, depth+1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return err
		}
		*v = Value{Kind: KindString, Text: s}
		return nil
	case c == 't' && p.literal("true"):
		*v = Value{Kind: KindBool, Bool: true}
	case c == 'f' && p.literal("false"):
		*v = Value{Kind: KindBool}
	case c == 'n' && p.literal("null"):
		*v = Value{Kind: KindNull}
	case c == 'N' && p.literal("NaN"):
		*v = Value{Kind: KindNumber, Text: "NaN"}
	case c == 'I' && p.literal("Infinity"):
		*v = Value{Kind: KindNumber, Text: "Infinity"}
	case c == '-' && p.literal("-Infinity"):
		*v = Value{Kind: KindNumber, Text: "-Infinity"}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(v)
	default:
		return p.fail("expecting value")
	}
	return nil
}

func (p *parser) digits() int {
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

func (p *parser) number(v *Value) error {
	start := p.pos
	if p.s[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.s) && p.s[p.pos] == '0' {
		p.pos++
	} else if p.digits() == 0 {
		p.pos = start
		return p.fail("expecting value")
	}
	if p.pos+1 < len(p.s) && p.s[p.pos] == '.' && p.s[p.pos+1] >= '0' && p.s[p.pos+1] <= '9' {
		p.pos++
		p.digits()
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
		save := p.pos
		p.pos++
		if p.pos < len(p.s) && (p.s[p.pos] == '+' || p.s[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			p.pos = save // "1e" is the number 1 followed by garbage, as in Python
		}
	}
	*v = Value{Kind: KindNumber, Text: p.s[start:p.pos]}
	return nil
}

func (p *parser) array(v *Value, depth int) error {
	if depth > MaxDepth {
		return p.fail("nesting too deep")
	}
	p.pos++ // '['
	*v = Value{Kind: KindArray}
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == ']' {
		p.pos++
		v.Items = []Value{}
		return nil
	}
	var items []Value
	for {
		items = append(items, Value{})
		if err := p.value(&items[len(items)-1], depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.s) {
			return p.fail("expecting ',' delimiter")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			v.Items = items
			return nil
		default:
			return p.fail("expecting ',' delimiter")
		}
	}
}

func (p *parser) object(v *Value, depth int) error {
	if depth > MaxDepth {
		return p.fail("nesting too deep")
	}
	p.pos++ // '{'
	*v = Value{Kind: KindObject, Items: []Value{}, Keys: []string{}}
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
		return nil
	}
	var index map[string]int // built lazily for objects with many keys
	for {
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			return p.fail("expecting property name enclosed in double quotes")
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return p.fail("expecting ':' delimiter")
		}
		p.pos++
		p.skipSpace()
		var member Value
		if err := p.value(&member, depth); err != nil {
			return err
		}
		at := -1
		if index != nil {
			if i, ok := index[key]; ok {
				at = i
			}
		} else {
			for i, k := range v.Keys {
				if k == key {
					at = i
					break
				}
			}
		}
		if at >= 0 {
			v.Items[at] = member
		} else {
			v.Keys = append(v.Keys, key)
			v.Items = append(v.Items, member)
			if index == nil && len(v.Keys) > 16 {
				index = make(map[string]int, 2*len(v.Keys))
				for i, k := range v.Keys {
					index[k] = i
				}
			} else if index != nil {
				index[key] = len(v.Keys) - 1
			}
		}
		p.skipSpace()
		if p.pos >= len(p.s) {
			return p.fail("expecting ',' delimiter")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			return nil
		default:
			return p.fail("expecting ',' delimiter")
		}
	}
}

// str parses a string literal at p.pos (which is '"') and returns its contents.
func (p *parser) str() (string, error) {
	start := p.pos
	p.pos++
	// Fast path: no escapes.
	for i := p.pos; i < len(p.s); i++ {
		c := p.s[i]
		if c == '"' {
			p.pos = i + 1
			return p.s[start+1 : i], nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	var b strings.Builder
	for {
		if p.pos >= len(p.s) {
			p.pos = start
			return "", p.fail("unterminated string")
		}
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c < 0x20:
			return "", p.fail("invalid control character in string")
		case c != '\\':
			b.WriteByte(c)
			p.pos++
			continue
		}
		// Escape sequence.
		if p.pos+1 >= len(p.s) {
			p.pos = start
			return "", p.fail("unterminated string")
		}
		esc := p.s[p.pos+1]
		p.pos += 2
		switch esc {
		case '"', '\\', '/':
			b.WriteByte(esc)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("invalid \\uXXXX escape")
			}
			if utf16.IsSurrogate(r) {
				lo := rune(-1)
				if r < 0xDC00 && strings.HasPrefix(p.s[p.pos:], "\\u") {
					save := p.pos
					p.pos += 2
					if l, ok := p.hex4(); ok && l >= 0xDC00 && l <= 0xDFFF {
						lo = l
					} else {
						p.pos = save
					}
				}
				if lo < 0 {
					return "", p.fail("lone UTF-16 surrogate in \\u escape")
				}
				r = utf16.DecodeRune(r, lo)
			}
			b.WriteRune(r)
		default:
			p.pos -= 2
			return "", p.fail("invalid \\escape")
		}
	}
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.pos : p.pos+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}
