// Package doccheck holds no code: its test keeps the Go code shown in
// README.md and in package documentation identical to the Example
// functions and tests that compile and run it, so that the docs cannot
// drift from the API. The table of snippets is in doccheck_test.go.
package doccheck
