package harness

import (
	"fmt"
	"html"
	"regexp"
	"strings"
)

// The example server's login and consent pages are plain HTML forms
// without script. A browser posts a form's hidden inputs back with what
// the user typed; the CSRF token (RFC 6749 §10.12) and the interaction id
// travel that way. The harness reads them as a browser would, from the
// page, rather than knowing how the server makes them.

// form is an HTML form of a page: where it posts, and its hidden inputs.
type form struct {
	action string
	hidden map[string]string
}

var (
	// formTag is a <form> start tag; inputTag an <input> tag.
	formTag  = regexp.MustCompile(`(?is)<form\b([^>]*)>`)
	inputTag = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	// attribute is one attribute of a tag: a name, and a value in double
	// quotes, single quotes, unquoted or absent (HTML §13.1.2.3).
	attribute = regexp.MustCompile(`(?s)([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// attributes parses the attributes of a tag, names lower-cased and values
// unescaped. The first of two attributes of one name wins, as in HTML.
func attributes(s string) map[string]string {
	attrs := make(map[string]string)
	for _, m := range attribute.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(m[1])
		if _, dup := attrs[name]; dup {
			continue
		}
		attrs[name] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return attrs
}

// parseForm returns the first form of page whose action is action, with
// its hidden inputs: those between its start tag and its end.
func parseForm(page, action string) (*form, error) {
	for _, loc := range formTag.FindAllStringSubmatchIndex(page, -1) {
		attrs := attributes(page[loc[2]:loc[3]])
		if attrs["action"] != action {
			continue
		}
		body := page[loc[1]:]
		if end := strings.Index(strings.ToLower(body), "</form"); end >= 0 {
			body = body[:end]
		}
		f := &form{action: action, hidden: make(map[string]string)}
		for _, in := range inputTag.FindAllStringSubmatch(body, -1) {
			a := attributes(in[1])
			if strings.EqualFold(a["type"], "hidden") && a["name"] != "" {
				f.hidden[a["name"]] = a["value"]
			}
		}
		return f, nil
	}
	return nil, fmt.Errorf("no form posting to %s in the page", action)
}

// field returns the hidden input name, or an error when the form has none
// or an empty one.
func (f *form) field(name string) (string, error) {
	v := f.hidden[name]
	if v == "" {
		return "", fmt.Errorf("the form posting to %s has no %s field", f.action, name)
	}
	return v, nil
}
