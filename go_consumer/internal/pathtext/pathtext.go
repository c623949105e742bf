// Package pathtext writes paths as tests/CONTRACT.md, "Paths in messages", says: as the user
// gave them, never normalized. "." and ".." components, repeated "/" and a trailing "/" stay
// as typed; a file found in a folder is the folder's text joined with its name by
// concatenation. (filepath.Join, filepath.Clean and filepath.Abs drop "." components and a
// trailing "/", so they are not used for any path a consumer prints.) Opening a path built
// here works as opening the cleaned one does: the operating system reads the text the same.
package pathtext

import (
	"os"
	"strings"
)

// Absolute returns path made absolute: path itself when it starts with "/", else the working
// directory, "/" and path as given. The error is os.Getwd's.
func Absolute(path string) (string, error) {
	if strings.HasPrefix(path, "/") {
		return path, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return Join(wd, path), nil
}

// Join returns the text of name inside folder: folder as given, a "/" unless folder already
// ends with one, and name ("shards/" and "a.csv" give "shards/a.csv", "models/linear" and "3"
// give "models/linear/3").
func Join(folder, name string) string {
	if strings.HasSuffix(folder, "/") {
		return folder + name
	}
	return folder + "/" + name
}

// Parent returns the folder holding path, written as given: the text before the last "/"
// that precedes path's last name, a trailing "/" not being a name ("models/linear/3/" gives
// "models/linear", "/3" gives "/", "3" gives ".").
func Parent(path string) string {
	trimmed := strings.TrimRight(path, "/")
	i := strings.LastIndexByte(trimmed, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return trimmed[:i]
}
