package postgres

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/grantor-dev/grantor/storage"
)

// PostgreSQL's text holds UTF-8 without NUL bytes: a string with either is
// refused by the server (SQLSTATE 22021, "invalid byte sequence for
// encoding UTF8"), and jsonb refuses the character U+0000 (SQLSTATE
// 22P05). The store checks records before it writes them, so that such a
// record is refused with an error naming the field rather than with the
// server's, and treats a key that cannot be stored as one that is not.

// isText reports whether s can be stored in a text column.
func isText(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// checkText returns an error naming field if one of strs cannot be stored
// in a text column. The message never quotes the value.
func checkText(field string, strs ...string) error {
	for _, s := range strs {
		if !isText(s) {
			return fmt.Errorf("%s holds a NUL byte or invalid UTF-8, which PostgreSQL text cannot store", field)
		}
	}
	return nil
}

// checkRequest returns an error naming the first field of r that cannot
// be stored in a text column.
func checkRequest(r *storage.AuthorizationRequest) error {
	for name, strs := range r.TextFields() {
		if err := checkText(name, strs...); err != nil {
			return err
		}
	}
	return nil
}

// checkStringMap returns an error naming field if a name or value of m
// cannot be stored in a text column, nor so in jsonb.
func checkStringMap(field string, m map[string]string) error {
	for k, v := range m {
		if err := checkText(field, k, v); err != nil {
			return err
		}
	}
	return nil
}

// checkClaimsJSON returns an error if the JSON encoding of claims, as
// encoding/json writes it, holds the escape \u0000, which jsonb refuses.
// (encoding/json writes invalid UTF-8 as U+FFFD, which jsonb takes.)
func checkClaimsJSON(b []byte) error {
	for i := bytes.IndexByte(b, '\\'); i >= 0 && i+1 < len(b); {
		if b[i+1] == 'u' && bytes.HasPrefix(b[i+2:], []byte("0000")) {
			return errors.New("the claims hold the character U+0000, which PostgreSQL jsonb cannot store")
		}
		// Skip the escaped character, a backslash included.
		next := bytes.IndexByte(b[i+2:], '\\')
		if next < 0 {
			break
		}
		i += 2 + next
	}
	return nil
}
