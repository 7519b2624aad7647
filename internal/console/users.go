package console

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may do: a Viewer reads; Finance also starts and
// resolves runs, issues and voids invoices and imports master data.
type Role string

const (
	Viewer  Role = "viewer"
	Finance Role = "finance"
)

// Users are the console's users, from a file of lines NAME:ROLE:BCRYPT
// (BILLRUN_CONSOLE_USERS); blank lines and lines starting with # are
// skipped.
type Users struct {
	byName map[string]user
}

type user struct {
	role Role
	hash []byte
}

// ReadUsers reads a users file; name is for errors.
func ReadUsers(name string, r io.Reader) (*Users, error) {
	u := &Users{byName: map[string]user{}}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		parts := strings.SplitN(text, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("%s:%d: want NAME:ROLE:BCRYPT_HASH", name, line)
		}
		login, role, hash := parts[0], Role(parts[1]), parts[2]
		switch {
		case login == "":
			return nil, fmt.Errorf("%s:%d: name: empty", name, line)
		case role != Viewer && role != Finance:
			return nil, fmt.Errorf("%s:%d: role %q: want viewer or finance", name, line, role)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%s:%d: password hash: not bcrypt (billctl console user NAME ROLE makes a line)", name, line)
		}
		if _, dup := u.byName[login]; dup {
			return nil, fmt.Errorf("%s:%d: name %q: listed twice", name, line, login)
		}
		u.byName[login] = user{role: role, hash: []byte(hash)}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(u.byName) == 0 {
		return nil, fmt.Errorf("%s: no users", name)
	}
	return u, nil
}

// LoadUsers reads the users file at path.
func LoadUsers(path string) (*Users, error) {
	if path == "" {
		return nil, errors.New("BILLRUN_CONSOLE_USERS is not set: the console needs a users file (billctl console user NAME ROLE makes its lines)")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	defer f.Close()
	return ReadUsers(path, f)
}

// dummy is compared against for unknown names, so that a wrong name takes
// as long as a wrong password.
var dummy, _ = bcrypt.GenerateFromPassword([]byte("billrun"), bcrypt.DefaultCost)

// Authenticate returns the role of name when password is theirs.
func (u *Users) Authenticate(name, password string) (Role, bool) {
	usr, ok := u.byName[name]
	hash := usr.hash
	if !ok {
		hash = dummy
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !ok {
		return "", false
	}
	return usr.role, true
}

// Role is name's role now ("" once they are no longer listed).
func (u *Users) Role(name string) Role { return u.byName[name].role }

// UserLine makes a users-file line for name with password.
func UserLine(name string, role Role, password string) (string, error) {
	if name == "" || strings.ContainsAny(name, ":\n") {
		return "", fmt.Errorf("name %q: want a name without ':'", name)
	}
	if role != Viewer && role != Finance {
		return "", fmt.Errorf("role %q: want viewer or finance", role)
	}
	if len(password) < 8 {
		return "", errors.New("password: at least 8 characters")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return name + ":" + string(role) + ":" + string(hash), nil
}
