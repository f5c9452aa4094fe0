// Command apicount counts the exported names of Go packages the way the
// project compares itself with go-oidc, scs and x/oauth2: exported
// functions, types, variables, constants, methods of exported types, and
// fields of exported struct types (interface methods count as methods).
// Test files are not read.
//
//	go run ./scripts/apicount rp jwks replay sessionadapter middleware fakeop .
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	dirs := os.Args[1:]
	if len(dirs) == 0 {
		fmt.Fprintln(os.Stderr, "usage: apicount DIR...")
		os.Exit(2)
	}
	total := 0
	for _, dir := range dirs {
		n, err := count(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "apicount:", err)
			os.Exit(1)
		}
		fmt.Printf("%-16s %4d\n", dir, n)
		total += n
	}
	if len(dirs) > 1 {
		fmt.Printf("%-16s %4d\n", "total", total)
	}
}

func count(dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return 0, err
	}
	sort.Strings(files)
	fset := token.NewFileSet()
	exportedTypes := map[string]bool{}
	var parsed []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return 0, err
		}
		if file.Name.Name == "main" {
			continue
		}
		parsed = append(parsed, file)
	}
	n := 0
	for _, file := range parsed {
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					exportedTypes[s.Name.Name] = true
					n++
					n += members(s.Type)
				case *ast.ValueSpec:
					for _, name := range s.Names {
						if name.IsExported() {
							n++
						}
					}
				}
			}
		}
	}
	for _, file := range parsed {
		for _, decl := range file.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() {
				continue
			}
			if fd.Recv == nil {
				n++
				continue
			}
			if exportedTypes[recvName(fd.Recv.List[0].Type)] {
				n++
			}
		}
	}
	return n, nil
}

// members counts the exported fields of a struct type and the exported
// methods of an interface type.
func members(t ast.Expr) int {
	var list *ast.FieldList
	switch t := t.(type) {
	case *ast.StructType:
		list = t.Fields
	case *ast.InterfaceType:
		list = t.Methods
	default:
		return 0
	}
	n := 0
	for _, f := range list.List {
		for _, name := range f.Names {
			if name.IsExported() {
				n++
			}
		}
	}
	return n
}

func recvName(t ast.Expr) string {
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}
