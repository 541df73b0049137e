package doccheck

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docs lists every document that shows Go code and, in order, the source
// of each of its code blocks: README.md's ```go blocks, and the code
// blocks of a package comment. Each block must equal its source exactly,
// so editing one without the other fails this test. To add a snippet,
// write it as (part of) an Example function, or a test, in the package it
// is about, and add a row here.
var docs = []struct {
	file   string // relative to the repository root
	blocks []block
}{
	{"README.md", []block{
		{"Getting started", from(body("oauth2/example_test.go", "ExampleNewProvider").until("// Try it"))},
		{"The authorization code flow in your app", from(
			body("oauth2/example_approve_test.go", "ExampleProvider_Approve").
				after("store, hmacKey, mux := application()").
				until("// Try it"))},
		{"OpenID Connect", from(
			body("oidc/example_test.go", "Example").
				after("store, hmacKey, mux := application()").
				until("// Try it"))},
		{"The device flow in your app", from(
			body("oauth2/example_device_test.go", "ExampleProvider_ApproveDevice").
				after("store, hmacKey, mux := deviceApplication()").
				until("// Try it"))},
		{"Token exchange and assertions from other issuers", from(
			body("grant/example_exchange_test.go", "ExampleTokenExchange").
				after("rand.Read(hmacKey)").
				until("// Try it"))},
		{"Protecting your own APIs", from(
			body("resource/example_test.go", "ExampleMiddleware").until("// Try it"),
			decl("resource/example_test.go", "listInvoices"))},
		{"Sender-constrained tokens (DPoP)", from(body("resource/example_dpop_test.go", "ExampleDPoP").until("// Try it"))},
		{"Mounting Grantor in your app, and testing it", from(
			body("oauth2/example_test.go", "ExampleProvider_Handler_underAPrefix").until("fmt.Println(provider.MetadataURL())"))},
		{"Mounting Grantor in your app, and testing it", from(decl("grantortest/readme_test.go", "TestListInvoices"))},
		{"Storage", from(decl("storage/storagetest/adapter_example_test.go", "TestMyStore"))},
		{"Running several instances", from(
			body("oauth2/example_stored_keys_test.go", "ExampleConfig_tokenKeySet").after("defer stop()").until("// Try it"))},
	}},
	{"oauth2/doc.go", []block{
		{"", from(body("oauth2/example_test.go", "ExampleNewProvider").until("// Try it"))},
		{"", from(body("oauth2/example_test.go", "ExampleProvider_Handler_underAPrefix").
			after("mux := http.NewServeMux()").until("mux.HandleFunc("))},
	}},
	{"grant/doc.go", []block{
		{"", from(body("grant/example_test.go", "ExampleRefreshToken").after("rand.Read(hmacKey)").until("tokenRequest := "))},
	}},
	{"resource/doc.go", []block{
		{"", from(
			body("resource/example_test.go", "ExampleMiddleware").until("// Try it"),
			decl("resource/example_test.go", "listInvoices"))},
		{"", from(body("resource/example_test.go", "ExampleIntrospection").until("// Try it"))},
	}},
}

// A block is one code block of a document: the heading it is under
// (README.md only: the nearest heading above it, without its #s; "" in a
// package comment) and the sources it is made of, separated by one blank
// line.
type block struct {
	heading string
	parts   []part
}

// from lists the parts of a block.
func from(parts ...part) []part { return parts }

// A part is Go source taken from a function of a file: the statements of
// its body, optionally only those after a line and before another (lines
// of the body that start with the given text, the markers themselves
// excluded), or its whole declaration.
type part struct {
	file, fn    string
	whole       bool
	start, stop string
}

// body is the body of function fn in file, one tab of indentation removed.
func body(file, fn string) part { return part{file: file, fn: fn} }

// decl is the declaration of function fn in file, without its doc comment.
func decl(file, fn string) part { return part{file: file, fn: fn, whole: true} }

// after keeps the lines of the body after the line that starts with marker.
func (p part) after(marker string) part { p.start = marker; return p }

// until keeps the lines of the body before the line that starts with marker.
func (p part) until(marker string) part { p.stop = marker; return p }

// root is the repository root, relative to this package.
const root = "../.."

func TestDocsShowTheCodeThatCompiles(t *testing.T) {
	for _, d := range docs {
		t.Run(d.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(root, d.file))
			require.NoError(t, err)
			var found []codeBlock
			if strings.HasSuffix(d.file, ".go") {
				found = packageCommentCode(t, d.file, src)
			} else {
				found = markdownGoBlocks(src)
			}
			for i, b := range d.blocks {
				want := source(t, b.parts)
				if i >= len(found) {
					t.Errorf("%s has no code block #%d (under %q); it should be:\n%s", d.file, i+1, b.heading, want)
					continue
				}
				assert.Equal(t, b.heading, found[i].heading, "%s: code block #%d is under another heading", d.file, i+1)
				if found[i].text != want {
					t.Errorf("%s: code block #%d (under %q) differs from its source %s.\n%s\n"+
						"Edit both together: the block must be exactly\n%s",
						d.file, i+1, b.heading, describe(b.parts), lineDiff(want, found[i].text), want)
				}
			}
			for _, extra := range found[min(len(d.blocks), len(found)):] {
				t.Errorf("%s: a code block under %q has no source: write it as an Example and add it to docs:\n%s",
					d.file, extra.heading, extra.text)
			}
		})
	}
}

// codeBlock is a code block found in a document.
type codeBlock struct{ heading, text string }

// markdownGoBlocks returns the ```go blocks of a Markdown document, with
// the heading each is under.
func markdownGoBlocks(src []byte) []codeBlock {
	var blocks []codeBlock
	var heading string
	var cur *strings.Builder
	fence := ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case fence == "" && strings.HasPrefix(line, "```"):
			fence = strings.TrimSpace(strings.TrimPrefix(line, "```"))
			if fence == "" {
				fence = "text"
			}
			if fence == "go" {
				cur = new(strings.Builder)
			}
		case fence != "" && strings.TrimSpace(line) == "```":
			if fence == "go" {
				blocks = append(blocks, codeBlock{heading, strings.TrimSuffix(cur.String(), "\n")})
			}
			fence = ""
		case fence == "go":
			cur.WriteString(line + "\n")
		case fence == "" && strings.HasPrefix(line, "#"):
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
		}
	}
	return blocks
}

// packageCommentCode returns the code blocks of the package comment of a
// Go file.
func packageCommentCode(t *testing.T, name string, src []byte) []codeBlock {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ParseComments|parser.PackageClauseOnly)
	require.NoError(t, err)
	require.NotNil(t, f.Doc, "%s has no package comment", name)
	var blocks []codeBlock
	for _, b := range new(comment.Parser).Parse(f.Doc.Text()).Content {
		if c, ok := b.(*comment.Code); ok {
			blocks = append(blocks, codeBlock{"", strings.TrimSuffix(c.Text, "\n")})
		}
	}
	return blocks
}

// source returns the text of parts, separated by blank lines.
func source(t *testing.T, parts []part) string {
	t.Helper()
	texts := make([]string, len(parts))
	for i, p := range parts {
		texts[i] = p.text(t)
	}
	return strings.Join(texts, "\n\n")
}

// text extracts the part from its file, through go/ast positions, so that
// comments stay as they are written.
func (p part) text(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, p.file))
	require.NoError(t, err)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, p.file, src, parser.ParseComments)
	require.NoError(t, err)
	var fn *ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == p.fn {
			fn = fd
		}
	}
	require.NotNil(t, fn, "%s declares no function %s", p.file, p.fn)
	offset := func(pos token.Pos) int { return fset.Position(pos).Offset }
	if p.whole {
		require.Empty(t, p.start+p.stop, "markers apply to a body")
		return string(src[offset(fn.Pos()):offset(fn.End())])
	}
	// The lines between the braces, less one tab.
	inner := string(src[offset(fn.Body.Lbrace)+1 : offset(fn.Body.Rbrace)])
	lines := strings.Split(strings.Trim(inner, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "\t")
	}
	lines = p.cut(t, lines)
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// cut keeps the lines between the part's markers.
func (p part) cut(t *testing.T, lines []string) []string {
	t.Helper()
	find := func(marker string) int {
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), marker) {
				return i
			}
		}
		t.Fatalf("%s: %s has no line starting with %q", p.file, p.fn, marker)
		return -1
	}
	if p.start != "" {
		lines = lines[find(p.start)+1:]
	}
	if p.stop != "" {
		lines = lines[:find(p.stop)]
	}
	return lines
}

// describe names the sources of a block.
func describe(parts []part) string {
	var names []string
	for _, p := range parts {
		names = append(names, p.file+": "+p.fn)
	}
	return strings.Join(names, " + ")
}

// lineDiff reports the first line where got differs from want.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("First difference at line %d of the block:\n  source: %q\n  doc:    %q", i+1, wl, gl)
		}
	}
	return ""
}
