// Command mangoro-gen writes the program behind mangoro_source(): it reads
// Go files holding //mangoro:export functions and writes, into -out, the
// files to build (see mangoro/internal/gen).
//
//	mangoro-gen -out DIR [-export NAME ...] -file PATH -label LABEL [-file PATH -label LABEL ...]
//
// LABEL names the file in messages (the user's path, or "code"). -export
// exports the function NAME as if it were marked. Problems
// go to standard error, one per line, with exit status 1; usage errors
// exit with 2. On success the exported functions are printed, one per
// line: "<R name>\t<Go signature>".
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"mangoro/internal/gen"
)

func main() {
	var files, labels, also []string
	out := flag.String("out", "", "directory to write the program's files to")
	flag.Func("file", "a Go source file (repeat)", func(s string) error { files = append(files, s); return nil })
	flag.Func("label", "the name of the preceding -file in messages", func(s string) error {
		labels = append(labels, s)
		return nil
	})
	flag.Func("export", "export this function as if marked (repeat)", func(s string) error {
		also = append(also, s)
		return nil
	})
	flag.Parse()
	if *out == "" || len(files) == 0 || len(files) != len(labels) || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: mangoro-gen -out DIR -file PATH -label LABEL [-file PATH -label LABEL ...]")
		os.Exit(2)
	}
	srcs := make([]gen.Source, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fail(fmt.Errorf("mangoro: %s: %w", labels[i], err))
		}
		srcs[i] = gen.Source{Label: labels[i], Src: b}
	}
	outFiles, funcs, err := gen.Generate(srcs, also...)
	if err != nil {
		fail(err)
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		fail(err)
	}
	for _, f := range outFiles {
		if err := os.WriteFile(filepath.Join(*out, f.Name), f.Content, 0o600); err != nil {
			fail(err)
		}
	}
	for _, f := range funcs {
		fmt.Printf("%s\t%s\n", f.RName, f.Signature)
	}
}

func fail(err error) {
	var list gen.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(os.Stderr, e)
		}
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(1)
}
