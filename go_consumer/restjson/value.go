// Package restjson converts between TensorFlow Serving's REST predict bodies (JSON, the
// "instances"/row and "inputs"/columnar formats of tensorflow_serving/g3doc/api_rest.md) and
// dense tensors (package tensor), following tests/CONTRACT.md.
//
// Decoding is driven by the signature: each input alias has a tensor.Spec (dtype and shape)
// and every request is checked against it (rank, known dims, rectangularity, dtype, value
// ranges) before anything is handed to TensorFlow ([ParseRequest], [DecodeInputs]).
// Encoding ([EncodeResponse]) writes numbers as the contract's "Numbers in text" says
// ([FormatFloat]: the dtype's shortest round-trip digits in ECMAScript's layout,
// NaN/Infinity/-Infinity, -0.0) and {"b64": ...} for binary strings. [ParseDecimal] reads
// the decimal literals of text that is not JSON (CSV fields, flags). Refusals are
// INVALID_ARGUMENT *status.Error values naming what was wrong and what was expected.
package restjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
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

// MaxDepth is the deepest nesting of arrays and objects that [Parse] accepts: the top-level
// value is level 1 (Jackson's default maxNestingDepth).
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
// with nothing but whitespace around it. Errors are INVALID_ARGUMENT *status.Error values
// "invalid JSON: ...".
//
// The tokens come from encoding/json's streaming [json.Decoder] (UseNumber keeps each
// number's literal text). Parse adds what that decoder does not do: the UTF-8 check (it
// would replace invalid bytes with U+FFFD), the pre-pass [markTokens] (which also enforces
// the limit [MaxDepth] on the raw bytes, without recursion, before anything is parsed),
// Python's rule for repeated keys and the check that nothing follows the value.
func Parse(data []byte) (*Value, error) {
	if !utf8.Valid(data) {
		return nil, invalidUTF8(data)
	}
	src, marks, tooDeep := markTokens(data)
	if tooDeep >= 0 {
		return nil, nestingError(data, tooDeep)
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	b := builder{dec: dec, data: data, marks: marks}
	var v Value
	if err := b.value(&v, 0); err != nil {
		return nil, err
	}
	at := b.next()
	if _, err := dec.Token(); err != io.EOF {
		return nil, b.fail("extra data after the JSON value", at)
	}
	return &v, nil
}

// bareTokens are the non-finite numbers TF Serving accepts that JSON does not have.
var bareTokens = []string{"NaN", "Infinity", "-Infinity"}

// mark is what the pre-pass found in the string literal of its output that ends at a given
// offset: the bare token that the literal stands for, or (bare == "") the first lone UTF-16
// surrogate escape in it, of code unit unit, which encoding/json would silently decode as
// U+FFFD.
type mark struct {
	bare string
	unit rune
}

// markTokens is the pre-pass before encoding/json. Outside string literals it replaces each
// bare NaN, Infinity and -Infinity with a string literal of the same length ("?",
// "??????", "???????"), so that the decoder accepts it and every offset stays the same;
// inside string literals it looks for lone surrogate escapes. It records both by the end
// offset of the string literal, which is what the decoder's InputOffset reports right after
// reading it (no other token can end there). data itself is never modified.
//
// It also counts the nesting of arrays and objects outside string literals and returns, as
// tooDeep, the offset of the first '[' or '{' that opens level MaxDepth+1 (-1 if none), so
// that a body nested a million deep is refused in one pass, before the decoder sees it.
//
// Up to the first syntax error the pre-pass and the decoder agree on where strings are;
// after it, what the pre-pass does no longer matters.
func markTokens(data []byte) (src []byte, marks map[int64]mark, tooDeep int) {
	var out []byte // a copy of data, made at the first replacement
	marks = map[int64]mark{}
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '[', '{':
			if depth++; depth > MaxDepth {
				return data, marks, i
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case '"':
			lone := rune(-1)
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] != '\\' {
					continue
				}
				if hi, ok := hex4(data, i); ok && hi >= 0xD800 && hi <= 0xDFFF {
					if lo, ok := hex4(data, i+6); ok && hi < 0xDC00 && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 6 // a valid pair: skip the high half here, the low half below
					} else if lone < 0 {
						lone = hi
					}
				}
				i++ // the escaped byte
			}
			if lone >= 0 {
				marks[int64(i+1)] = mark{unit: lone}
			}
		case 'N', 'I', '-':
			for _, tok := range bareTokens {
				if !bytes.HasPrefix(data[i:], []byte(tok)) {
					continue
				}
				if out == nil {
					out = bytes.Clone(data)
				}
				copy(out[i:], `"`+strings.Repeat("?", len(tok)-2)+`"`)
				i += len(tok)
				marks[int64(i)] = mark{bare: tok}
				i--
				break
			}
		}
	}
	if out == nil {
		return data, marks, -1
	}
	return out, marks, -1
}

// nestingError is the refusal of a body whose '[' or '{' at offset at opens level
// MaxDepth+1.
// MaxNumberChars is the longest number literal a body may hold (tests/CONTRACT.md,
// "Limits"); a number literal is ASCII, so bytes are characters.
const MaxNumberChars = 100_000

func nestingError(data []byte, at int) error {
	line, col := position(data, int64(at))
	return errorf("invalid JSON: nesting deeper than %d levels at line %d column %d", MaxDepth, line, col)
}

// invalidUTF8 is the refusal of a body that is not valid UTF-8, naming the first bad byte.
func invalidUTF8(data []byte) error {
	at := 0
	for at < len(data) {
		r, size := utf8.DecodeRune(data[at:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		at += size
	}
	if at >= len(data) { // not reached: utf8.Valid said no
		return errorf("invalid JSON: body is not valid UTF-8")
	}
	line, col := position(data, int64(at))
	return errorf("invalid JSON: body is not valid UTF-8 (byte 0x%02X at line %d column %d)", data[at], line, col)
}

// loneSurrogate is the refusal of a string holding the escape of code unit unit
// (U+D800-U+DFFF) that is not the high half of a pair followed by its low half (RFC 8259
// §8.2: it stands for no character).
func loneSurrogate(unit rune) error {
	return errorf(`invalid JSON: a string holds a lone surrogate escape \u%04X; a \u escape of U+D800-U+DFFF must be a high surrogate followed by a low one`, unit)
}

// position returns the 1-based line and column (in bytes) of offset at.
func position(data []byte, at int64) (line, col int) {
	line, col = 1, 1
	for _, c := range data[:min(at, int64(len(data)))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// hex4 returns the code unit of the \uXXXX escape at data[i:], if there is one.
func hex4(data []byte, i int) (rune, bool) {
	if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
		return 0, false
	}
	u, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
	return rune(u), err == nil
}

// bareToken is a token the pre-pass replaced: "NaN", "Infinity" or "-Infinity".
type bareToken string

// builder builds a [Value] tree from the decoder's tokens.
type builder struct {
	dec   *json.Decoder
	data  []byte // the body as given, for error positions
	marks map[int64]mark
}

// fail returns the error "invalid JSON: <what> at line L column C" for offset at.
func (b *builder) fail(what string, at int64) error {
	line, col := position(b.data, at)
	return errorf("invalid JSON: %s at line %d column %d", what, line, col)
}

// next returns the offset of the first byte after the decoder's position that is not
// white space: where the next token starts (or the end of the body).
func (b *builder) next() int64 {
	at := b.dec.InputOffset()
	for ; at < int64(len(b.data)); at++ {
		switch b.data[at] {
		case ' ', '\t', '\r', '\n':
		default:
			return at
		}
	}
	return at
}

// token returns the decoder's next token, with a marked string literal turned back into
// its [bareToken] or into the lone surrogate error.
func (b *builder) token() (json.Token, error) {
	tok, err := b.dec.Token()
	if err != nil {
		// The decoder stops at the offending delimiter, or at the start of the offending
		// scalar (its SyntaxError.Offset counts only the bytes of scalars).
		if syn := (*json.SyntaxError)(nil); errors.As(err, &syn) {
			return nil, b.fail(syn.Error(), b.next())
		}
		return nil, b.fail("unexpected end of input", int64(len(b.data)))
	}
	if _, ok := tok.(string); ok {
		if m, ok := b.marks[b.dec.InputOffset()]; ok {
			if m.bare == "" {
				return nil, loneSurrogate(m.unit)
			}
			return bareToken(m.bare), nil
		}
	}
	return tok, nil
}

// value reads one value into v; depth is the number of arrays and objects around it.
func (b *builder) value(v *Value, depth int) error {
	tok, err := b.token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim: // '[' or '{': the decoder reports a misplaced ']' or '}' as an error
		if depth >= MaxDepth { // not reached: markTokens refuses it first
			return nestingError(b.data, int(b.dec.InputOffset()-1))
		}
		if t == '[' {
			return b.array(v, depth+1)
		}
		return b.object(v, depth+1)
	case bool:
		*v = Value{Kind: KindBool, Bool: t}
	case json.Number:
		if len(t) > MaxNumberChars {
			return errorf("invalid JSON: a number literal of %d characters is longer than the limit of %d", len(t), MaxNumberChars)
		}
		*v = Value{Kind: KindNumber, Text: string(t)}
	case bareToken:
		*v = Value{Kind: KindNumber, Text: string(t)}
	case string:
		*v = Value{Kind: KindString, Text: t}
	default: // nil
		*v = Value{Kind: KindNull}
	}
	return nil
}

// array reads the elements of an array whose '[' has been read, and its ']'.
func (b *builder) array(v *Value, depth int) error {
	items := []Value{}
	for b.dec.More() {
		items = append(items, Value{})
		if err := b.value(&items[len(items)-1], depth); err != nil {
			return err
		}
	}
	if _, err := b.token(); err != nil {
		return err
	}
	*v = Value{Kind: KindArray, Items: items}
	return nil
}

// object reads the members of an object whose '{' has been read, and its '}'. A repeated
// key keeps its first position and takes the last value.
func (b *builder) object(v *Value, depth int) error {
	*v = Value{Kind: KindObject, Items: []Value{}, Keys: []string{}}
	index := map[string]int{}
	for b.dec.More() {
		at := b.next()
		tok, err := b.token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok { // a bare token: the decoder itself refuses anything else but a string
			return b.fail("expecting property name enclosed in double quotes", at)
		}
		var member Value
		if err := b.value(&member, depth); err != nil {
			return err
		}
		if i, ok := index[key]; ok {
			v.Items[i] = member
		} else {
			index[key] = len(v.Keys)
			v.Keys = append(v.Keys, key)
			v.Items = append(v.Items, member)
		}
	}
	_, err := b.token()
	return err
}
