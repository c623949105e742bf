package training

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// StateFile is the name of a checkpoint folder's state file.
const StateFile = "checkpoint"

// State is a checkpoint folder's state file: the text-format CheckpointState that
// tf.train.CheckpointManager writes and tf.train.latest_checkpoint reads.
type State struct {
	// ModelCheckpointPath is the newest checkpoint's prefix, relative to the folder unless
	// absolute.
	ModelCheckpointPath string
	// AllModelCheckpointPaths are the kept checkpoints' prefixes, oldest first.
	AllModelCheckpointPaths []string
}

// ReadState reads <dir>/checkpoint. It returns nil and no error when there is no state file
// or when the file names no checkpoint (as tf.train.get_checkpoint_state does), and an
// *Error when the file cannot be read or parsed.
func ReadState(dir string) (*State, error) {
	path := filepath.Join(dir, StateFile)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf("cannot read the checkpoint state file %s: %v", path, err)
	}
	s, err := ParseState(string(data))
	if err != nil {
		return nil, errorf("%s is not a checkpoint state file: %v", path, err)
	}
	if s.ModelCheckpointPath == "" {
		return nil, nil
	}
	return s, nil
}

// ParseState parses the text format of a CheckpointState: "field: value" entries
// (model_checkpoint_path and all_model_checkpoint_paths as quoted strings with C escapes;
// the timestamp fields as numbers, ignored), separated by white space, "#" comments allowed.
func ParseState(text string) (*State, error) {
	s := &State{}
	p := &textParser{src: text}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			return s, nil
		}
		name := p.ident()
		if name == "" {
			return nil, p.fail("expected a field name")
		}
		p.skipSpace()
		if !p.consume(':') {
			return nil, p.fail("expected ':' after " + name)
		}
		p.skipSpace()
		switch name {
		case "model_checkpoint_path", "all_model_checkpoint_paths":
			v, err := p.str()
			if err != nil {
				return nil, err
			}
			if name == "model_checkpoint_path" {
				s.ModelCheckpointPath = v
			} else {
				s.AllModelCheckpointPaths = append(s.AllModelCheckpointPaths, v)
			}
		case "all_model_checkpoint_timestamps", "last_preserved_timestamp":
			start := p.pos
			for p.pos < len(p.src) && strings.IndexByte(" \t\r\n#", p.src[p.pos]) < 0 {
				p.pos++
			}
			if _, err := strconv.ParseFloat(p.src[start:p.pos], 64); err != nil {
				return nil, p.fail("invalid number for " + name)
			}
		default:
			return nil, p.fail("unknown field " + name)
		}
	}
}

// Format returns the text the reference writes (Python's text_format.MessageToString):
// one "model_checkpoint_path" line, then one "all_model_checkpoint_paths" line per entry.
func (s *State) Format() string {
	var b strings.Builder
	if s.ModelCheckpointPath != "" {
		fmt.Fprintf(&b, "model_checkpoint_path: \"%s\"\n", cEscape(s.ModelCheckpointPath))
	}
	for _, p := range s.AllModelCheckpointPaths {
		fmt.Fprintf(&b, "all_model_checkpoint_paths: \"%s\"\n", cEscape(p))
	}
	return b.String()
}

// LatestCheckpoint returns the prefix named by <dir>/checkpoint (joined to dir unless
// absolute), or "" when there is no state file. Errors as [ReadState].
func LatestCheckpoint(dir string) (string, error) {
	s, err := ReadState(dir)
	if err != nil || s == nil {
		return "", err
	}
	if filepath.IsAbs(s.ModelCheckpointPath) {
		return s.ModelCheckpointPath, nil
	}
	return filepath.Join(dir, s.ModelCheckpointPath), nil
}

// RecordCheckpoint updates the state file of dir after the checkpoint <dir>/<name> was
// written: name becomes the newest entry (an earlier entry of the same name is dropped),
// only the newest [KeepCheckpoints] entries are kept, the files <old>.* of the entries
// dropped are deleted, and the state file is rewritten atomically with names relative to
// dir. Errors: an unreadable state file (*Error), a file that cannot be deleted or written.
func RecordCheckpoint(dir, name string) error {
	s, err := ReadState(dir)
	if err != nil {
		return err
	}
	var kept []string
	if s != nil {
		for _, p := range s.AllModelCheckpointPaths {
			if base := filepath.Base(p); base != name {
				kept = append(kept, base)
			}
		}
	}
	kept = append(kept, name)
	if drop := len(kept) - KeepCheckpoints; drop > 0 {
		for _, old := range kept[:drop] {
			files, _ := filepath.Glob(filepath.Join(dir, old+".*"))
			for _, f := range files {
				if err := os.Remove(f); err != nil {
					return fmt.Errorf("cannot delete the old checkpoint file %s: %v", f, err)
				}
			}
		}
		kept = kept[drop:]
	}
	return WriteState(dir, &State{ModelCheckpointPath: name, AllModelCheckpointPaths: kept})
}

// WriteState writes <dir>/checkpoint atomically (a temporary file renamed over it).
func WriteState(dir string, s *State) error {
	path := filepath.Join(dir, StateFile)
	tmp, err := os.CreateTemp(dir, "."+StateFile+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write the checkpoint state file %s: %v", path, err)
	}
	_, err = tmp.WriteString(s.Format())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write the checkpoint state file %s: %v", path, err)
	}
	return nil
}

// cEscape escapes a string as protobuf's text format does (Python's text_format.CEscape
// with as_utf8=False): \n \r \t \" \' \\ and octal escapes for other bytes outside
// printable ASCII.
func cEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"', '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, `\%03o`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// textParser reads the little of protobuf's text format that a CheckpointState uses.
type textParser struct {
	src string
	pos int
}

func (p *textParser) fail(msg string) error {
	line := 1 + strings.Count(p.src[:p.pos], "\n")
	return fmt.Errorf("line %d: %s", line, msg)
}

func (p *textParser) skipSpace() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func (p *textParser) consume(c byte) bool {
	if p.pos < len(p.src) && p.src[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *textParser) ident() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (p.pos > start && '0' <= c && c <= '9') {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

// str reads one or more adjacent quoted strings (concatenated, as the text format does).
func (p *textParser) str() (string, error) {
	var b strings.Builder
	n := 0
	for {
		if p.pos >= len(p.src) || (p.src[p.pos] != '"' && p.src[p.pos] != '\'') {
			if n == 0 {
				return "", p.fail("expected a quoted string")
			}
			return b.String(), nil
		}
		quote := p.src[p.pos]
		p.pos++
		for {
			if p.pos >= len(p.src) || p.src[p.pos] == '\n' {
				return "", p.fail("unterminated string")
			}
			c := p.src[p.pos]
			p.pos++
			if c == quote {
				break
			}
			if c != '\\' {
				b.WriteByte(c)
				continue
			}
			if err := p.escape(&b); err != nil {
				return "", err
			}
		}
		n++
		p.skipSpace()
	}
}

// escape decodes the escape sequence after a backslash.
func (p *textParser) escape(b *strings.Builder) error {
	if p.pos >= len(p.src) {
		return p.fail("unterminated escape")
	}
	c := p.src[p.pos]
	p.pos++
	switch c {
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'v':
		b.WriteByte('\v')
	case '\\', '\'', '"', '?':
		b.WriteByte(c)
	case 'x', 'X':
		start := p.pos
		for p.pos < len(p.src) && p.pos-start < 2 && isHex(p.src[p.pos]) {
			p.pos++
		}
		v, err := strconv.ParseUint(p.src[start:p.pos], 16, 8)
		if err != nil {
			return p.fail("invalid \\x escape")
		}
		b.WriteByte(byte(v))
	default:
		if c < '0' || c > '7' {
			return p.fail("invalid escape \\" + string(c))
		}
		start := p.pos - 1
		for p.pos < len(p.src) && p.pos-start < 3 && '0' <= p.src[p.pos] && p.src[p.pos] <= '7' {
			p.pos++
		}
		v, err := strconv.ParseUint(p.src[start:p.pos], 8, 16)
		if err != nil || v > 0xff {
			return p.fail("invalid octal escape")
		}
		b.WriteByte(byte(v))
	}
	return nil
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
