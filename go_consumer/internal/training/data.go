package training

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/polyglot-tf/go_consumer/internal/tfjson"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Data is the training data: every row of every CSV file, in order.
type Data struct {
	// Columns are the column names, in the order of the header.
	Columns []string
	// Values holds one float32 slice of length Rows per column, in the order of Columns.
	Values [][]float32
	// Rows is the number of rows (>= 1).
	Rows int
	// Files describes each file read, in the order read.
	Files []DataFile
}

// DataFile describes one CSV file of the data (the manifest's training.run.data entries).
type DataFile struct {
	// Name is the file's base name, e.g. "train-00000-of-00004.csv".
	Name string
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string
	// Rows is the number of data rows in the file.
	Rows int
}

// Batch returns the values of the rows idx of each column (in the order of Columns),
// as the float32 slices fed to the train signature.
func (d *Data) Batch(idx []int) [][]float32 {
	out := make([][]float32, len(d.Values))
	for c, col := range d.Values {
		vals := make([]float32, len(idx))
		for i, r := range idx {
			vals[i] = col[r]
		}
		out[c] = vals
	}
	return out
}

// ReadData reads --data: one CSV file, or every regular file named *.csv of a folder, in
// byte order of the names. Each file starts with the header line columns joined by ","; each
// further non-blank line holds one decimal number per column, rounded directly to float32
// (strconv.ParseFloat(s, 32)). Lines are split as Python's str.splitlines() splits them, and
// fields and lines are stripped of Python's white space, so that line numbers and values are
// those of the reference.
//
// Errors (*Error, "--data <file>:<line>: ..."): a missing path, a folder without a .csv
// file, a file that is not UTF-8 text, a wrong header, a line with too few or too many
// fields, a value that is not a finite float32, no data row at all.
func ReadData(path string, columns []string) (*Data, error) {
	files, err := dataFiles(path)
	if err != nil {
		return nil, err
	}
	header := strings.Join(columns, ",")
	d := &Data{Columns: columns, Values: make([][]float32, len(columns))}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, errorf("--data %s: cannot read it as UTF-8 text: %v", file, err)
		}
		if !utf8.Valid(raw) {
			return nil, errorf("--data %s: cannot read it as UTF-8 text: it is not valid UTF-8", file)
		}
		lines := splitLines(string(raw))
		if len(lines) == 0 || pyStrip(lines[0]) != header {
			return nil, errorf("--data %s: line 1 must be the header %q", tfjson.Bound(file), header)
		}
		rows := 0
		for i, line := range lines[1:] {
			number := i + 2
			if pyStrip(line) == "" {
				continue
			}
			fields := strings.Split(line, ",")
			if len(fields) != len(columns) {
				return nil, errorf("--data %s:%d: %d fields, expected %d (%s)", file, number, len(fields), len(columns), header)
			}
			for c, field := range fields {
				v, err := parseFloat32(field)
				if err != nil {
					return nil, errorf("--data %s:%d: column %s is \"%s\", expected a finite float32", file, number, columns[c], pyStrip(field))
				}
				d.Values[c] = append(d.Values[c], v)
			}
			rows++
		}
		sum := sha256.Sum256(raw)
		d.Files = append(d.Files, DataFile{Name: baseName(file), SHA256: hex.EncodeToString(sum[:]), Rows: rows})
		d.Rows += rows
	}
	if d.Rows == 0 {
		return nil, errorf("--data %s: no data rows", path)
	}
	return d, nil
}

// parseFloat32 parses one field (white space around it ignored) to the nearest float32;
// an error if it is not a number or not finite in float32.
func parseFloat32(field string) (float32, error) {
	s := pyStrip(field)
	if s == "" {
		return 0, strconv.ErrSyntax
	}
	f, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, strconv.ErrRange
	}
	return float32(f), nil
}

// dataFiles lists the files of --data, named as Python's pathlib names them in messages.
func dataFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, errorf("--data %s: cannot list the folder: %v", path, err)
		}
		var names []string
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".csv") || strings.TrimLeft(name, ".") == "csv" {
				continue // pathlib's suffix of ".csv" (or "..csv") is not ".csv"
			}
			if fst, err := os.Stat(path + "/" + name); err != nil || !fst.Mode().IsRegular() {
				continue
			}
			names = append(names, name)
		}
		if len(names) == 0 {
			return nil, errorf("--data %s: no .csv shard in this folder", path)
		}
		sort.Strings(names)
		dir := pyPath(path)
		files := make([]string, len(names))
		for i, name := range names {
			files[i] = joinPath(dir, name)
		}
		return files, nil
	case err == nil && st.Mode().IsRegular():
		return []string{pyPath(path)}, nil
	}
	return nil, errorf("--data %s: no such file or folder", path)
}

// pyPath normalizes a path as str(pathlib.PurePosixPath(p)) does: repeated slashes and "."
// components dropped (".." kept), no trailing slash, "." for an empty path, and exactly two
// leading slashes kept.
func pyPath(p string) string {
	root := ""
	switch {
	case strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///"):
		root = "//"
	case strings.HasPrefix(p, "/"):
		root = "/"
	}
	var parts []string
	for _, part := range strings.Split(p, "/") {
		if part != "" && part != "." {
			parts = append(parts, part)
		}
	}
	if s := root + strings.Join(parts, "/"); s != "" {
		return s
	}
	return "."
}

// joinPath joins a pyPath-normalized folder and a name as pathlib's "/" operator does.
func joinPath(dir, name string) string {
	switch {
	case dir == ".":
		return name
	case strings.HasSuffix(dir, "/"):
		return dir + name
	}
	return dir + "/" + name
}

func baseName(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// splitLines splits text as Python does when it reads a file in text mode (universal
// newlines: "\r\n" and "\r" become "\n") and then calls str.splitlines(): at "\n", "\v",
// "\f", "\x1c", "\x1d", "\x1e", U+0085, U+2028 and U+2029, with no empty last line after a
// final line break.
func splitLines(text string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch r {
		case '\r':
			if strings.HasPrefix(text[i+1:], "\n") {
				size++ // "\r\n" is one line break
			}
		case '\n', '\v', '\f', '\x1c', '\x1d', '\x1e', '\u0085', '\u2028', '\u2029':
		default:
			i += size
			continue
		}
		lines = append(lines, text[start:i])
		i += size
		start = i
	}
	if start < len(text) {
		lines = append(lines, text[start:])
	}
	return lines
}

// pyStrip trims the characters Python's str.strip() removes: Unicode white space, plus the
// separators U+001C..U+001F that Python counts as white space and Go does not.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}
