package pathtext

import (
	"os"
	"testing"
)

func TestAbsolute(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"/a//b/./c/": "/a//b/./c/", // absolute: as given
		"/a/../b":    "/a/../b",
		"x/./y":      wd + "/x/./y",
		".":          wd + "/.",
		"models/":    wd + "/models/",
		"../m":       wd + "/../m",
	} {
		if got, err := Absolute(in); err != nil || got != want {
			t.Errorf("Absolute(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestJoinAndParent(t *testing.T) {
	for _, tc := range [][3]string{
		{"shards/", "a.csv", "shards/a.csv"},
		{"shards", "a.csv", "shards/a.csv"},
		{"./x//", "a", "./x//a"},
		{"/", "m", "/m"},
		{"models/linear/.", "3", "models/linear/./3"},
	} {
		if got := Join(tc[0], tc[1]); got != tc[2] {
			t.Errorf("Join(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
	for in, want := range map[string]string{
		"/w/models/linear/3":   "/w/models/linear",
		"/w/models/linear/3/":  "/w/models/linear",
		"/w/models/./linear/3": "/w/models/./linear",
		"/w/a//3":              "/w/a/",
		"/3":                   "/",
		"3":                    ".",
	} {
		if got := Parent(in); got != want {
			t.Errorf("Parent(%q) = %q, want %q", in, got, want)
		}
	}
}
