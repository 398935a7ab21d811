package gen

import (
	"strings"
	"testing"

	"mangoro/pkg/rgoipc"
)

func TestSupportedTypesMatchRgoipc(t *testing.T) {
	if SupportedTypes != rgoipc.SupportedTypes {
		t.Errorf("gen.SupportedTypes and rgoipc.SupportedTypes differ:\n%s\n%s", SupportedTypes, rgoipc.SupportedTypes)
	}
}

func TestGenerate(t *testing.T) {
	src := `import (
	"context"
	"time"

	"mangoro/pkg/rgoipc"
)

type Row struct {
	Name string ` + "`r:\"name\"`" + `
	When *time.Time
	hidden int
}

// scale multiplies x by k.
//mangoro:export
func scale(x []float64, k float64) []float64 { return x }

//mangoro:export fib2
func fib(ctx context.Context, n int) (int, error) { return n, nil }

//mangoro:export
func rows(d []rgoipc.Date, more ...[]string) []Row { return nil }

//mangoro:export
func two(x [][]float64) (lo, hi []float64) { return nil, nil }

func helper() {}
`
	files, funcs, err := Generate([]Source{{Label: "code", Src: []byte(src)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[1].Name != MainFile {
		t.Fatalf("files = %v", files)
	}
	if !strings.HasPrefix(string(files[0].Content), "package main\n\n//line code:1:1\nimport") {
		t.Errorf("wrapped source starts %q", files[0].Content[:40])
	}
	got := map[string]Func{}
	for _, f := range funcs {
		got[f.RName] = f
	}
	tests := []struct {
		rname, gname, params, results, doc, sig string
	}{
		{"scale", "scale", "x k", "", "scale multiplies x by k.", "func scale(x []float64, k float64) []float64"},
		{"fib2", "fib", "n", "", "", "func fib(ctx context.Context, n int) (int, error)"},
		{"rows", "rows", "d", "", "", "func rows(d []rgoipc.Date, more ...[]string) []Row"},
		{"two", "two", "x", "lo hi", "", "func two(x [][]float64) (lo, hi []float64)"},
	}
	for _, tc := range tests {
		t.Run(tc.rname, func(t *testing.T) {
			f, ok := got[tc.rname]
			if !ok {
				t.Fatalf("%s not exported; got %v", tc.rname, funcs)
			}
			if f.GoName != tc.gname || strings.Join(f.Params, " ") != tc.params ||
				strings.Join(f.Results, " ") != tc.results || f.Doc != tc.doc || f.Signature != tc.sig {
				t.Errorf("got %+v", f)
			}
		})
	}
	if len(funcs) != len(tests) {
		t.Errorf("exported %d functions, want %d (helper must stay out)", len(funcs), len(tests))
	}
	main := string(files[1].Content)
	for _, want := range []string{`Func("fib2", fib,`, `ArgNames("x", "k")`, `Describe("scale multiplies x by k.")`, `ResultNames("lo", "hi")`, "Main(mangoro_reg_)"} {
		if !strings.Contains(main, want) {
			t.Errorf("main file lacks %s:\n%s", want, main)
		}
	}
}

func TestGenerateAlso(t *testing.T) {
	src := "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}\n"
	_, funcs, err := Generate([]Source{{Label: "code", Src: []byte(src)}}, "fib")
	if err != nil || len(funcs) != 1 || funcs[0].RName != "fib" {
		t.Fatalf("funcs %v, err %v", funcs, err)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"syntax", "func f( {\n", "code:1:9: expected"},
		{"bad type on line 3", "import \"fmt\"\n//mangoro:export\nfunc f(m map[string]int) string { return fmt.Sprint(m) }\n",
			"code:3:8: mangoro: func f: parameter m has type map[string]int, which mangoro cannot map to R; supported: float64"},
		{"bad result", "//mangoro:export\nfunc f(x int) chan int { return nil }\n", "code:2:15: mangoro: func f: result 1 has type chan int"},
		{"frame among results", "type S struct{ A int }\n//mangoro:export\nfunc f(x int) ([]S, int) { return nil, 0 }\n",
			"a data frame ([]struct) result must be the only result"},
		{"struct with bad field", "type S struct{ A map[int]int }\n//mangoro:export\nfunc f(s []S) int { return 0 }\n",
			"parameter s has type []S"},
		{"no results", "//mangoro:export\nfunc f(x int) {}\n", "must return a value"},
		{"unnamed parameter", "//mangoro:export\nfunc f(int) int { return 0 }\n", "name every parameter"},
		{"method", "type T int\n//mangoro:export\nfunc (T) f(x int) int { return 0 }\n", "is a method"},
		{"generic", "//mangoro:export\nfunc f[T any](x T) T { return x }\n", "is generic"},
		{"main", "func main() {}\n//mangoro:export\nfunc f(x int) int { return x }\n", "leave func main out"},
		{"detached directive", "//mangoro:export\n\nfunc f(x int) int { return x }\n", "code:1:1: mangoro: //mangoro:export must be in the comment directly above"},
		{"nothing exported", "func f(x int) int { return x }\n", "no function is marked for export"},
		{"not main", "package foo\n//mangoro:export\nfunc f(x int) int { return x }\n", "code:1:9: mangoro: the package must be main"},
		{"twice", "//mangoro:export g\nfunc f(x int) int { return x }\n//mangoro:export\nfunc g(x int) int { return x }\n", `R name "g" is exported twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Generate([]Source{{Label: "code", Src: []byte(tc.src)}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
