package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// Demo user, registered always so that the example can be tried at once.
const (
	demoUsername = "alice"
	demoPassword = "wonderland"
	demoName     = "Alice Liddell"
	// demoEmail is the demo user's address, verified: example.com is
	// reserved (RFC 2606 §3), so no one else can own it.
	demoEmail = "alice@example.com"
)

// user is a resource owner who can log in. Only the hash of the password
// is kept.
type user struct {
	Username string
	Name     string
	// Email is the user's address, "" when the directory has none;
	// EmailVerified says the directory vouches that the user controls
	// it (OpenID Connect Core §5.1 email_verified).
	Email         string
	EmailVerified bool
	hash          string
}

// users is an in-memory user directory. It is filled at start-up and read
// only afterwards, so it needs no lock.
type users struct {
	byName map[string]*user
	// dummyHash is verified against when the username is unknown, so that
	// an unknown user and a wrong password take the same time and cannot
	// be told apart.
	dummyHash string
	// verify checks a password against a hash; a field so that tests can
	// count calls.
	verify func(hash, password string) error
}

// newUsers returns a directory holding the demo user.
func newUsers() (*users, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	// The same argon2id parameters as real users, over a password no one
	// knows.
	dummy, err := oauth2.HashClientSecret(base64.RawURLEncoding.EncodeToString(b[:]))
	if err != nil {
		return nil, err
	}
	u := &users{byName: make(map[string]*user), dummyHash: dummy, verify: oauth2.VerifyClientSecret}
	if err := u.addRecord(userRecord{Username: demoUsername, Password: demoPassword, Name: demoName,
		Email: demoEmail, EmailVerified: true}); err != nil {
		return nil, err
	}
	return u, nil
}

// add registers a user without an email address.
func (u *users) add(username, password, name string) error {
	return u.addRecord(userRecord{Username: username, Password: password, Name: name})
}

// addRecord registers a user, hashing the password. oauth2.HashClientSecret
// is a generic argon2id secret hash (RFC 9106), as fit for passwords as for
// client secrets. An email must be a bare address (RFC 5322 §3.4.1
// addr-spec), and only an address can be verified.
func (u *users) addRecord(r userRecord) error {
	username, password, name := r.Username, r.Password, r.Name
	switch {
	case strings.TrimSpace(username) == "" || username != strings.TrimSpace(username):
		return fmt.Errorf("user %q: username must be non-empty, without surrounding spaces", username)
	case password == "":
		return fmt.Errorf("user %q: empty password", username)
	case r.EmailVerified && r.Email == "":
		return fmt.Errorf("user %q: email_verified without an email", username)
	}
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email || a.Name != "" {
			return fmt.Errorf("user %q: email must be a bare address such as alice@example.com", username)
		}
	}
	if _, dup := u.byName[username]; dup {
		return fmt.Errorf("user %q: registered twice", username)
	}
	hash, err := oauth2.HashClientSecret(password)
	if err != nil {
		return err
	}
	if name == "" {
		name = username
	}
	u.byName[username] = &user{Username: username, Name: name, Email: r.Email, EmailVerified: r.EmailVerified, hash: hash}
	return nil
}

// userRecord is one entry of a users file.
type userRecord struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Name     string `json:"name"`
	// Email and EmailVerified are optional: the user's address, and
	// whether the operator vouches that the user controls it. Relying
	// parties may link accounts by a verified address, so leave it false
	// unless the address was checked.
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

// load registers the users of a JSON file holding an array of
// {"username", "password", "name", "email", "email_verified"} objects
// (email and email_verified optional). Passwords are hashed as they
// are read; unknown fields are refused so that a typo ("pasword") is not
// silently a user without a password.
func (u *users) load(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var list []userRecord
	if err := dec.Decode(&list); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if dec.More() {
		return 0, fmt.Errorf("%s: data after the array", path)
	}
	for _, r := range list {
		if err := u.addRecord(r); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	return len(list), nil
}

// errBadCredentials is the one error for an unknown user and a wrong
// password, so that the login page cannot reveal which usernames exist.
var errBadCredentials = errors.New("wrong username or password")

// authenticate returns the user whose username and password these are.
// Exactly one password hash is verified whatever the input, and the
// comparison inside it is constant-time.
func (u *users) authenticate(username, password string) (*user, error) {
	usr, ok := u.byName[username]
	hash := u.dummyHash
	if ok {
		hash = usr.hash
	}
	if err := u.verify(hash, password); err != nil || !ok {
		return nil, errBadCredentials
	}
	return usr, nil
}

// checkDeviceGrant is the device grant's CheckGrant: an approval is
// redeemed only while the user who gave it is in the directory.
func (u *users) checkDeviceGrant(_ context.Context, _ *storage.Client, d *storage.DeviceAuthorization) error {
	if _, ok := u.byName[d.Subject]; !ok {
		return errors.New("the user who approved is no longer known")
	}
	return nil
}
