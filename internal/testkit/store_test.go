package testkit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSQLiteOnlyList keeps sqlite_only.txt, from which the Makefile's PostgreSQL pass builds its
// -skip, true to the code: every test that calls SQLiteOnly is listed, every listed name is one
// test function in the whole module (so the -skip leaves out nothing else), and the Makefile
// reads the list.
func TestSQLiteOnlyList(t *testing.T) {
	root := Root(t)
	listed := SQLiteOnlyTests()
	if len(listed) == 0 {
		t.Fatal("sqlite_only.txt lists no test")
	}
	defined := map[string]int{}
	var calling []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bin" || d.Name() == "var" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			defined[fn.Name.Name]++
			ast.Inspect(fn, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "SQLiteOnly" {
					calling = append(calling, fn.Name.Name)
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range calling {
		if !slices.Contains(listed, name) {
			t.Errorf("%s calls testkit.SQLiteOnly but is not in internal/testkit/sqlite_only.txt", name)
		}
	}
	for _, name := range listed {
		if !slices.Contains(calling, name) {
			t.Errorf("sqlite_only.txt lists %s, which does not call testkit.SQLiteOnly", name)
		}
		if defined[name] != 1 {
			t.Errorf("sqlite_only.txt lists %s, defined %d times in the module: the PostgreSQL pass's -skip would leave out the others", name, defined[name])
		}
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "internal/testkit/sqlite_only.txt") || !strings.Contains(string(mk), "PG_SKIP      := $(SQLITE_ONLY)|") ||
		!strings.Contains(string(mk), "-skip '^($(PG_SKIP))$$'") {
		t.Error("the Makefile's PostgreSQL pass does not build its -skip from internal/testkit/sqlite_only.txt")
	}
}
