package training

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
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
	Name string `json:"file"`
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string `json:"sha256"`
	// Rows is the number of data rows in the file.
	Rows int `json:"rows"`
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

// ReadData reads --data as tests/CONTRACT.md, "Training", "Data", says: one CSV file, or
// every regular file of a folder whose name ends in ".csv" and is longer than that, in byte
// order of the names. A file is UTF-8 text; its lines end at "\n" (a "\r" just before it is
// part of the line end; the last line may lack an end; nothing else ends a line), numbered
// from 1. Fields are the pieces of a line between ","s, each trimmed of ASCII white space
// (" \t\n\v\f\r") and nothing else; a line whose trimmed text is empty is skipped. Line 1's
// fields must be the columns; each further line holds one decimal literal per column
// ([restjson.ParseDecimal]), rounded once to float32.
//
// Errors (*Error, "--data <file>:<line>: ..."): a missing path, a folder without a .csv
// file, a file that is not UTF-8 text, a wrong header, a line with too few or too many
// fields, a value that is not a finite float32, no data row at all. <file> is path as given,
// or for a folder's file path joined with the name ([pathtext.Join]), never cleaned.
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
			return nil, status.New(status.InvalidArgument, "--data %s: cannot read it as UTF-8 text: %v", file, err)
		}
		if !utf8.Valid(raw) {
			return nil, status.New(status.InvalidArgument, "--data %s: cannot read it as UTF-8 text: it is not valid UTF-8", file)
		}
		lines := splitLines(string(raw))
		if len(lines) == 0 || !slices.Equal(splitFields(lines[0]), columns) {
			return nil, status.New(status.InvalidArgument, "--data %s: line 1 must be the header %q", status.Bound(file), header)
		}
		rows := 0
		for i, line := range lines[1:] {
			number := i + 2
			if trimSpace(line) == "" {
				continue
			}
			fields := splitFields(line)
			if len(fields) != len(columns) {
				return nil, status.New(status.InvalidArgument, "--data %s:%d: %d fields, expected %d (%s)", file, number, len(fields), len(columns), header)
			}
			for c, field := range fields {
				v, err := restjson.ParseDecimal(field, 32)
				if err != nil || math.IsInf(v, 0) {
					return nil, status.New(status.InvalidArgument, "--data %s:%d: column %s is \"%s\", expected a finite float32", file, number, columns[c], status.Bound(field))
				}
				d.Values[c] = append(d.Values[c], float32(v))
			}
			rows++
		}
		sum := sha256.Sum256(raw)
		d.Files = append(d.Files, DataFile{Name: baseName(file), SHA256: hex.EncodeToString(sum[:]), Rows: rows})
		d.Rows += rows
	}
	if d.Rows == 0 {
		return nil, status.New(status.InvalidArgument, "--data %s: no data rows", path)
	}
	return d, nil
}

// splitLines splits a file's text at "\n", each line without a "\r" just before its "\n";
// a final "\n" ends the last line rather than starting an empty one.
func splitLines(text string) []string {
	lines := strings.Split(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		lines[i] = strings.TrimSuffix(line, "\r")
	}
	return lines
}

// asciiSpace is the white space a CSV field and a blank line are trimmed of.
const asciiSpace = " \t\n\v\f\r"

func trimSpace(s string) string { return strings.Trim(s, asciiSpace) }

// splitFields returns a line's fields: its pieces between ","s, each trimmed.
func splitFields(line string) []string {
	fields := strings.Split(line, ",")
	for i, f := range fields {
		fields[i] = trimSpace(f)
	}
	return fields
}

// dataFiles lists the files of --data, each named as a message writes it: path as given,
// or path joined with the name of each .csv file of the folder, in byte order of the names.
func dataFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		entries, err := os.ReadDir(path) // sorted by name, byte by byte
		if err != nil {
			return nil, status.New(status.InvalidArgument, "--data %s: cannot list the folder: %v", path, err)
		}
		var files []string
		for _, e := range entries {
			name := e.Name()
			if len(name) <= len(".csv") || !strings.HasSuffix(name, ".csv") {
				continue
			}
			file := pathtext.Join(path, name)
			if fst, err := os.Stat(file); err != nil || !fst.Mode().IsRegular() {
				continue
			}
			files = append(files, file)
		}
		if len(files) == 0 {
			return nil, status.New(status.InvalidArgument, "--data %s: no .csv shard in this folder", path)
		}
		return files, nil
	case err == nil && st.Mode().IsRegular():
		return []string{path}, nil
	}
	return nil, status.New(status.NotFound, "--data %s: no such file or folder", path)
}

func baseName(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}
