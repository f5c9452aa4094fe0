package examples_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMESnippets checks that every ```go block of README.md appears,
// line for line, in a Go file of the repository (most in
// examples/readme/readme.go, the logout test in examples/scs), so that
// every snippet compiles and passes go vet with that file. Indentation and
// runs of spaces do not count (a snippet is often a function's body), and
// neither do blank lines.
func TestREADMESnippets(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?ms)^```go\n(.*?)^```").FindAllSubmatch(readme, -1)
	if len(blocks) < 8 {
		t.Fatalf("found %d Go blocks in README.md; the pattern is broken", len(blocks))
	}
	var sources [][]string
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sources = append(sources, normalize(string(b)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		snippet := normalize(string(b[1]))
		if !foundIn(snippet, sources) {
			t.Errorf("README Go block %d is in no Go file of the repository (put it in examples/readme/readme.go):\n%s", i+1, b[1])
		}
	}
}

var spaces = regexp.MustCompile(`\s+`)

// normalize returns the non-blank lines of src, trimmed, with runs of
// white space as one space.
func normalize(src string) []string {
	var out []string
	for _, line := range strings.Split(src, "\n") {
		if line = strings.TrimSpace(spaces.ReplaceAllString(line, " ")); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func foundIn(snippet []string, sources [][]string) bool {
	for _, src := range sources {
		for i := 0; i+len(snippet) <= len(src); i++ {
			if equal(src[i:i+len(snippet)], snippet) {
				return true
			}
		}
	}
	return false
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
