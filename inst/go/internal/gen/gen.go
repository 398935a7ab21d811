// Package gen turns Go source with //mangoro:export functions into a
// program that serves them to R: it reads the source with go/parser,
// checks that every exported function has types mangoro maps (so a bad
// type is a build-time error naming the function and the parameter), and
// writes a main file that registers each function with rgoipc.Func, its Go
// parameter names and its doc comment.
//
// The user's files are copied with a //line directive in front (and a
// "package main" clause when they have none), so that the compiler and
// this package report positions in the user's own file, or in "code" for
// a string passed from R.
package gen

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/scanner"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Directive marks a function for export when it is a line of the
// function's doc comment. An optional word after it renames the function
// in R: //mangoro:export fibonacci.
const Directive = "//mangoro:export"

// MainFile is the name of the generated main file.
const MainFile = "zz_mangoro_main.go"

// SupportedTypes is the list shown when a type cannot be mapped. It must
// match rgoipc.SupportedTypes (a test checks).
const SupportedTypes = "float64, int32, int, int64, string, bool, time.Time, rgoipc.Date and []byte " +
	"(one value); slices of those ([]float64, ...) and of pointers to them ([]*float64, nil = NA); " +
	"[][]T and [][]byte (list columns); []S for a struct S with exported fields of the one-value " +
	"types or pointers to them (a data frame); a leading context.Context; a final error result"

// Source is one input file.
type Source struct {
	// Label names the file in messages: the user's path, or "code".
	Label string
	// Src is the file's content.
	Src []byte
}

// File is one output file.
type File struct {
	Name    string
	Content []byte
}

// Func describes one exported function.
type Func struct {
	GoName, RName string
	Doc           string
	Signature     string   // "func fib(n int) int"
	Params        []string // declared parameter names, variadic excluded
	Results       []string // result names when there are several, else nil
}

// ErrorList is every problem found, each "label:line:col: message".
type ErrorList []string

func (e ErrorList) Error() string { return strings.Join(e, "\n") }

// Generate checks srcs and returns the files of the program: the user's
// files, wrapped, then MainFile. The functions named in also are exported
// as if marked (mangoro_go_function marks its function this way, so the
// user's line numbers stay as written). Problems are returned as an
// ErrorList.
func Generate(srcs []Source, also ...string) ([]File, []Func, error) {
	g := &generator{fset: token.NewFileSet(), structs: map[string]*ast.StructType{}, also: map[string]bool{}}
	for _, name := range also {
		g.also[name] = true
	}
	var files []File
	var parsed []*ast.File
	for i, s := range srcs {
		content := wrap(s)
		name := fmt.Sprintf("user%d_%s", i+1, goFileName(s.Label))
		f, err := parser.ParseFile(g.fset, name, content, parser.ParseComments)
		if err != nil {
			var list scanner.ErrorList
			if errors.As(err, &list) {
				for _, e := range list {
					g.errs = append(g.errs, e.Error())
				}
			} else {
				g.errs = append(g.errs, err.Error())
			}
			continue
		}
		if f.Name.Name != "main" {
			g.errorf(f.Name.Pos(), "mangoro: the package must be main (or leave the package clause out), not %s", f.Name.Name)
		}
		files = append(files, File{Name: name, Content: content})
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.TYPE {
				for _, sp := range gd.Specs {
					ts := sp.(*ast.TypeSpec)
					if st, ok := ts.Type.(*ast.StructType); ok && ts.TypeParams == nil && !ts.Assign.IsValid() {
						g.structs[ts.Name.Name] = st
					}
				}
			}
		}
	}
	if len(g.errs) > 0 {
		return nil, nil, g.errs
	}
	for _, f := range parsed {
		g.file(f)
	}
	if len(g.errs) == 0 && len(g.funcs) == 0 {
		g.errs = append(g.errs, "mangoro: no function is marked for export: put a "+Directive+
			" line directly above each function R should see")
	}
	if len(g.errs) > 0 {
		return nil, nil, g.errs
	}
	files = append(files, File{Name: MainFile, Content: mainFile(g.funcs)})
	return files, g.funcs, nil
}

// wrap puts a //line directive (and a package clause when there is none)
// in front of the source, so positions are the user's.
func wrap(s Source) []byte {
	var b bytes.Buffer
	if _, err := parser.ParseFile(token.NewFileSet(), "", s.Src, parser.PackageClauseOnly); err != nil {
		b.WriteString("package main\n\n")
	}
	fmt.Fprintf(&b, "//line %s:1:1\n", s.Label)
	b.Write(s.Src)
	if len(s.Src) > 0 && s.Src[len(s.Src)-1] != '\n' {
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// goFileName makes a file name from a label: the base name, ending in .go.
func goFileName(label string) string {
	base := filepath.Base(label)
	base = strings.TrimSuffix(base, ".go")
	clean := strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, base)
	// A name ending in _test or _<goos> would be left out of the build.
	return clean + "_src.go"
}

type generator struct {
	fset    *token.FileSet
	structs map[string]*ast.StructType
	funcs   []Func
	errs    ErrorList
	also    map[string]bool
}

func (g *generator) errorf(pos token.Pos, format string, a ...any) {
	g.errs = append(g.errs, fmt.Sprintf("%s: %s", g.fset.Position(pos), fmt.Sprintf(format, a...)))
}

// imports maps the local names of the packages whose types matter.
type imports struct{ time, context, rgoipc string }

func fileImports(f *ast.File) imports {
	var im imports
	for _, s := range f.Imports {
		path, _ := strconv.Unquote(s.Path.Value)
		name := filepath.Base(path)
		if s.Name != nil {
			name = s.Name.Name
		}
		switch path {
		case "time":
			im.time = name
		case "context":
			im.context = name
		case "mangoro/pkg/rgoipc":
			im.rgoipc = name
		}
	}
	return im
}

func (g *generator) file(f *ast.File) {
	im := fileImports(f)
	used := map[*ast.Comment]bool{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		if fd.Recv == nil && fd.Name.Name == "main" {
			g.errorf(fd.Pos(), "mangoro: leave func main out: mangoro writes the program's main function")
			continue
		}
		c, rname := directive(fd.Doc)
		if c == nil && !(fd.Recv == nil && g.also[fd.Name.Name]) {
			continue
		}
		used[c] = true
		g.export(fd, rname, im)
	}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, Directive) && !used[c] {
				g.errorf(c.Pos(), "mangoro: %s must be in the comment directly above a top-level func (no blank line)", Directive)
			}
		}
	}
}

func directive(doc *ast.CommentGroup) (*ast.Comment, string) {
	if doc == nil {
		return nil, ""
	}
	for _, c := range doc.List {
		if rest, ok := strings.CutPrefix(c.Text, Directive); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return c, strings.TrimSpace(rest)
		}
	}
	return nil, ""
}

func (g *generator) export(fd *ast.FuncDecl, rname string, im imports) {
	name := fd.Name.Name
	if rname == "" {
		rname = name
	}
	where := "func " + name
	if fd.Recv != nil {
		g.errorf(fd.Pos(), "mangoro: %s is a method; only plain functions can be exported", where)
		return
	}
	if fd.Type.TypeParams != nil {
		g.errorf(fd.Pos(), "mangoro: %s is generic; exported functions need concrete types", where)
		return
	}
	for _, f := range g.funcs {
		if f.RName == rname {
			g.errorf(fd.Pos(), "mangoro: %s: R name %q is exported twice", where, rname)
			return
		}
	}
	fn := Func{GoName: name, RName: rname, Doc: strings.TrimSpace(fd.Doc.Text())}
	nerr := len(g.errs)
	params := fd.Type.Params.List
	for i, field := range params {
		if len(field.Names) == 0 {
			g.errorf(field.Pos(), "mangoro: %s: name every parameter (R uses the Go parameter names)", where)
			continue
		}
		for j, id := range field.Names {
			if i == 0 && j == 0 && isSel(field.Type, im.context, "Context") {
				continue // the leading context.Context
			}
			if id.Name == "_" {
				g.errorf(id.Pos(), "mangoro: %s: name every parameter (R uses the Go parameter names), not _", where)
				continue
			}
			t := field.Type
			if el, ok := t.(*ast.Ellipsis); ok {
				if i != len(params)-1 || !g.isColumn(el.Elt, im) {
					g.unsupported(id.Pos(), where, "parameter "+id.Name, t)
				}
				continue // variadic: R's ...
			}
			if !g.isValue(t, im) {
				g.unsupported(id.Pos(), where, "parameter "+id.Name, t)
				continue
			}
			fn.Params = append(fn.Params, id.Name)
		}
	}
	var results []*ast.Ident
	var types []ast.Expr
	if fd.Type.Results != nil {
		for _, field := range fd.Type.Results.List {
			if len(field.Names) == 0 {
				results, types = append(results, nil), append(types, field.Type)
			}
			for _, id := range field.Names {
				results, types = append(results, id), append(types, field.Type)
			}
		}
	}
	if n := len(types); n > 0 && isIdent(types[n-1], "error") {
		results, types = results[:n-1], types[:n-1]
	}
	if len(types) == 0 {
		g.errorf(fd.Pos(), "mangoro: %s must return a value (R functions return one); return e.g. a bool", where)
	}
	for k, t := range types {
		what := fmt.Sprintf("result %d", k+1)
		if results[k] != nil {
			what = "result " + results[k].Name
		}
		switch {
		case len(types) > 1 && g.isFrame(t):
			g.errorf(t.Pos(), "mangoro: %s: %s: a data frame ([]struct) result must be the only result", where, what)
		case !g.isValue(t, im):
			g.unsupported(t.Pos(), where, what, t)
		}
	}
	if len(types) > 1 {
		for k, id := range results {
			if id == nil || id.Name == "_" {
				fn.Results = append(fn.Results, fmt.Sprintf("result%d", k+1))
			} else {
				fn.Results = append(fn.Results, id.Name)
			}
		}
	}
	if len(g.errs) > nerr {
		return
	}
	var sig bytes.Buffer
	_ = printer.Fprint(&sig, g.fset, fd.Type)
	fn.Signature = "func " + name + strings.TrimPrefix(sig.String(), "func")
	g.funcs = append(g.funcs, fn)
}

func (g *generator) unsupported(pos token.Pos, where, what string, t ast.Expr) {
	var b bytes.Buffer
	_ = printer.Fprint(&b, g.fset, t)
	g.errorf(pos, "mangoro: %s: %s has type %s, which mangoro cannot map to R; supported: %s",
		where, what, b.String(), SupportedTypes)
}

// isScalar: a type Func maps to one value (or, in a slice, to a column).
func (g *generator) isScalar(t ast.Expr, im imports) bool {
	if id, ok := t.(*ast.Ident); ok {
		switch id.Name {
		case "float64", "int32", "int", "int64", "string", "bool":
			return true
		}
		return false
	}
	return isSel(t, im.time, "Time") || isSel(t, im.rgoipc, "Date")
}

func isByteSlice(t ast.Expr) bool {
	a, ok := t.(*ast.ArrayType)
	return ok && a.Len == nil && (isIdent(a.Elt, "byte") || isIdent(a.Elt, "uint8"))
}

// isColumn: []T or []*T of a scalar T, or [][]byte.
func (g *generator) isColumn(t ast.Expr, im imports) bool {
	a, ok := t.(*ast.ArrayType)
	if !ok || a.Len != nil {
		return false
	}
	if p, ok := a.Elt.(*ast.StarExpr); ok {
		return g.isScalar(p.X, im)
	}
	return g.isScalar(a.Elt, im) || isByteSlice(a.Elt)
}

// isValue: any parameter or result type Func maps.
func (g *generator) isValue(t ast.Expr, im imports) bool {
	if g.isScalar(t, im) || isByteSlice(t) || g.isColumn(t, im) {
		return true
	}
	a, ok := t.(*ast.ArrayType)
	if !ok || a.Len != nil {
		return false
	}
	if g.isColumn(a.Elt, im) && !isByteSlice(a.Elt) {
		inner := a.Elt.(*ast.ArrayType)
		return !isByteSlice(inner.Elt) // [][][]byte is not a column
	}
	return g.isFrameOf(t, im)
}

func (g *generator) isFrame(t ast.Expr) bool {
	a, ok := t.(*ast.ArrayType)
	if !ok || a.Len != nil {
		return false
	}
	id, ok := a.Elt.(*ast.Ident)
	return ok && g.structs[id.Name] != nil
}

// isFrameOf: []S for a struct S declared in the sources whose exported
// fields all have scalar types, pointers to them, or []byte.
func (g *generator) isFrameOf(t ast.Expr, im imports) bool {
	if !g.isFrame(t) {
		return false
	}
	st := g.structs[t.(*ast.ArrayType).Elt.(*ast.Ident).Name]
	exported := 0
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 {
			return false // embedded
		}
		for _, id := range f.Names {
			if !id.IsExported() || (f.Tag != nil && strings.Contains(f.Tag.Value, `r:"-"`)) {
				continue
			}
			exported++
			ft := f.Type
			if p, ok := ft.(*ast.StarExpr); ok {
				ft = p.X
			}
			if !g.isScalar(ft, im) && !isByteSlice(f.Type) {
				return false
			}
		}
	}
	return exported > 0
}

func isIdent(t ast.Expr, name string) bool {
	id, ok := t.(*ast.Ident)
	return ok && id.Name == name
}

func isSel(t ast.Expr, pkg, name string) bool {
	s, ok := t.(*ast.SelectorExpr)
	if !ok || pkg == "" {
		return false
	}
	x, ok := s.X.(*ast.Ident)
	return ok && x.Name == pkg && s.Sel.Name == name
}

// mainFile registers every function and runs the server. Its identifiers
// carry a mangoro prefix so they cannot collide with the user's.
func mainFile(funcs []Func) []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by mangoro-gen. DO NOT EDIT.\n\npackage main\n\n")
	b.WriteString("import (\n\tmangoro_fmt_ \"fmt\"\n\tmangoro_os_ \"os\"\n\n\tmangoro_rgoipc_ \"mangoro/pkg/rgoipc\"\n)\n\n")
	b.WriteString("func main() {\n\tmangoro_reg_ := mangoro_rgoipc_.NewRegistry()\n")
	sorted := append([]Func(nil), funcs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].RName < sorted[j].RName })
	for _, f := range sorted {
		opts := []string{"mangoro_rgoipc_.ArgNames(" + quoteAll(f.Params) + ")"}
		if f.Doc != "" {
			opts = append(opts, "mangoro_rgoipc_.Describe("+strconv.Quote(f.Doc)+")")
		}
		opts = append(opts, "mangoro_rgoipc_.Meta(\"go_signature\", "+strconv.Quote(f.Signature)+")")
		if len(f.Results) > 0 {
			opts = append(opts, "mangoro_rgoipc_.ResultNames("+quoteAll(f.Results)+")")
		}
		fmt.Fprintf(&b, "\tif err := mangoro_reg_.Func(%s, %s,\n\t\t%s); err != nil {\n", strconv.Quote(f.RName), f.GoName,
			strings.Join(opts, ",\n\t\t"))
		b.WriteString("\t\tmangoro_fmt_.Fprintln(mangoro_os_.Stderr, err)\n\t\tmangoro_os_.Exit(3)\n\t}\n")
	}
	b.WriteString("\tmangoro_rgoipc_.Main(mangoro_reg_)\n}\n")
	return b.Bytes()
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}
