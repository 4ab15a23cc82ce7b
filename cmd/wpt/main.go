// Command wpt runs web-platform-tests testharness.js files in cairn's JS
// runtime and prints pass counts per file and per directory:
//
//	go run -tags "sqlite_fts5 sqlite_math_functions" ./cmd/wpt -root /path/to/wpt WebCryptoAPI
//	go run -tags "sqlite_fts5 sqlite_math_functions" ./cmd/wpt -root /path/to/wpt -html streams fetch/api
//
// The root needs resources/testharness.js and the test directories; a
// partial checkout will do (the npm package wpt-runner ships a
// testharness.js in its testharness/ directory). The arguments are
// directories (or files) relative to the WPT checkout;
// every .any.js file under them runs in a Worker of its own. -v lists the
// failing subtests with their messages; -run keeps the files whose path
// contains its value; -html also runs the .html tests whose page is only
// scripts (most of fetch/api's). Files that need WPT's own server or a DOM
// are listed as skipped with the reason (internal/wpt.DefaultSkips). It
// exits 0 whatever the counts: it measures, it does
// not gate.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/wpt"
)

func main() {
	root := flag.String("root", os.Getenv("WPT_ROOT"), "the WPT checkout (default $WPT_ROOT)")
	verbose := flag.Bool("v", false, "list failing subtests")
	timeout := flag.Duration("timeout", 10*time.Second, "time budget of one test file (×6 for timeout=long)")
	run := flag.String("run", "", "only files whose path contains this")
	html := flag.Bool("html", false, "also run .html tests (their scripts, without a DOM)")
	flag.Parse()
	if *root == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: wpt -root WPT_CHECKOUT [-v] [-timeout 10s] [-run SUBSTR] DIR-OR-FILE…")
		os.Exit(2)
	}
	r := &wpt.Runner{Root: *root, Timeout: *timeout, HTML: *html}
	var files []string
	for _, dir := range flag.Args() {
		fs, err := r.Files(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, f := range fs {
			if strings.Contains(f, *run) {
				files = append(files, f)
			}
		}
	}
	perDir := map[string]wpt.Counts{}
	var total wpt.Counts
	for _, f := range files {
		res := r.RunFile(context.Background(), f)
		c := res.Count()
		perDir[wpt.Dir(f)] = perDir[wpt.Dir(f)].Add(c)
		total = total.Add(c)
		if res.Skipped != "" {
			fmt.Printf("  skip        %s: %s\n", f, res.Skipped)
			continue
		}
		line := fmt.Sprintf("%5d/%-5d %s (%.1fs)", c.Pass, c.Pass+c.Fail, f, res.Elapsed.Seconds())
		if res.Error != "" {
			line += "  [" + res.Error + "]"
		}
		fmt.Println(line)
		if *verbose {
			for _, s := range res.Subtests {
				if s.Status != wpt.Pass {
					fmt.Printf("      %s %s: %s\n", s.Status, s.Name, strings.ReplaceAll(s.Message, "\n", " "))
				}
			}
		}
	}
	dirs := make([]string, 0, len(perDir))
	for d := range perDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	fmt.Println("\nper directory (passed/subtests, files run, harness errors, files skipped):")
	for _, d := range dirs {
		c := perDir[d]
		fmt.Printf("%6d/%-6d %-45s %d files, %d errors, %d skipped\n", c.Pass, c.Pass+c.Fail, d, c.Files, c.Errors, c.Skipped)
	}
	fmt.Printf("%6d/%-6d %-45s %d files, %d errors, %d skipped\n", total.Pass, total.Pass+total.Fail, "total", total.Files, total.Errors, total.Skipped)
}
