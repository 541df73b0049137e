package oauth2

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrClientSecretMismatch is returned by VerifyClientSecret when the secret
// does not match the hash.
var ErrClientSecretMismatch = errors.New("oauth2: client secret does not match")

// generatedSecretPrefix marks secrets that GenerateClientSecret made, so
// that secret scanners can find them in code and logs.
const generatedSecretPrefix = "gr_cs_"

// Hash formats. Each stored hash names its algorithm and parameters, so the
// algorithm can change without a migration: old hashes keep verifying.
const (
	// hashPrefixGenerated: "$grantor-hmac-sha256$<salt>$<mac>", HMAC-SHA-256
	// of the secret keyed with a random 16-byte salt. Only for secrets of
	// 256 random bits, which need no slow hash.
	hashPrefixGenerated = "$grantor-hmac-sha256$"
	// hashPrefixArgon2id: the PHC string format of argon2id.
	hashPrefixArgon2id = "$argon2id$"
)

// argon2id parameters for secrets chosen by people: the OWASP minimum
// (19 MiB, two passes, one lane). They are stored in each hash.
const (
	argon2Memory  = 19 * 1024
	argon2Time    = 2
	argon2Threads = 1
	argon2KeyLen  = 32
	saltLen       = 16
)

// bcryptMaxSecretLen is the length past which bcrypt silently ignores input.
const bcryptMaxSecretLen = 72

var b64 = base64.RawStdEncoding

// GenerateClientSecret returns a new client secret of 256 random bits and
// its hash for storage.Client.SecretHash (RFC 6749 §2.3.1, RFC 9700 §2.5).
//
// Because the secret has full entropy, its hash is a fast keyed hash
// (HMAC-SHA-256 with a random salt): verifying it costs microseconds, not
// the tens of milliseconds of a password hash, while a leaked hash still
// cannot be reversed. Show the secret to its owner once; keep only the hash.
// A nil random means crypto/rand.
func GenerateClientSecret(random io.Reader) (secret, hash string, err error) {
	if random == nil {
		random = rand.Reader
	}
	var buf [32 + saltLen]byte
	if _, err := io.ReadFull(random, buf[:]); err != nil {
		return "", "", fmt.Errorf("oauth2: generating client secret: %w", err)
	}
	secret = generatedSecretPrefix + base64.RawURLEncoding.EncodeToString(buf[:32])
	salt := buf[32:]
	return secret, hashPrefixGenerated + b64.EncodeToString(salt) + "$" + b64.EncodeToString(macSecret(salt, secret)), nil
}

func macSecret(salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// HashClientSecret hashes a client secret chosen by a person, with
// argon2id (RFC 9106) and a random salt, in the PHC string format. Such a
// secret may have little entropy, so it gets a slow, memory-hard hash;
// prefer GenerateClientSecret, whose secrets verify much faster.
func HashClientSecret(secret string) (string, error) {
	if secret == "" {
		return "", errors.New("oauth2: empty client secret")
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return "", fmt.Errorf("oauth2: hashing client secret: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, argon2Time, argon2Memory, argon2Threads, argon2KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argon2Memory, argon2Time,
		argon2Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyClientSecret reports whether secret matches hash, in constant time
// with respect to the secret. It understands the formats of
// GenerateClientSecret and HashClientSecret, and bcrypt hashes ($2a$, $2b$,
// $2y$) imported from other systems; for those, a secret longer than 72
// bytes never matches, since bcrypt would compare only its first 72 bytes.
//
// It returns nil on a match, ErrClientSecretMismatch on a mismatch (an
// empty secret never matches), and another error for a malformed hash.
func VerifyClientSecret(hash, secret string) error {
	if secret == "" {
		return ErrClientSecretMismatch
	}
	switch {
	case strings.HasPrefix(hash, hashPrefixGenerated):
		return verifyGenerated(hash[len(hashPrefixGenerated):], secret)
	case strings.HasPrefix(hash, hashPrefixArgon2id):
		return verifyArgon2id(hash, secret)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if len(secret) > bcryptMaxSecretLen {
			return ErrClientSecretMismatch
		}
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return ErrClientSecretMismatch
		}
		if err != nil {
			return fmt.Errorf("oauth2: malformed bcrypt client secret hash: %w", err)
		}
		return nil
	default:
		return errors.New("oauth2: unknown client secret hash format")
	}
}

var errMalformedHash = errors.New("oauth2: malformed client secret hash")

func verifyGenerated(rest, secret string) error {
	saltB64, macB64, ok := strings.Cut(rest, "$")
	if !ok {
		return errMalformedHash
	}
	var salt [saltLen]byte
	var want [sha256.Size]byte
	if n, err := b64.Decode(salt[:], []byte(saltB64)); err != nil || n != saltLen || b64.EncodedLen(saltLen) != len(saltB64) {
		return errMalformedHash
	}
	if n, err := b64.Decode(want[:], []byte(macB64)); err != nil || n != sha256.Size || b64.EncodedLen(sha256.Size) != len(macB64) {
		return errMalformedHash
	}
	if !hmac.Equal(macSecret(salt[:], secret), want[:]) {
		return ErrClientSecretMismatch
	}
	return nil
}

// verifyArgon2id checks "$argon2id$v=19$m=M,t=T,p=P$salt$key".
func verifyArgon2id(hash, secret string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return errMalformedHash
	}
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil {
		return errMalformedHash
	}
	// Refuse parameters that would make one verification a denial of
	// service (a hash from an untrusted import, say).
	if memory == 0 || memory > 1<<20 || passes == 0 || passes > 16 || threads == 0 {
		return errMalformedHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return errMalformedHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return errMalformedHash
	}
	got := argon2.IDKey([]byte(secret), salt, passes, memory, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrClientSecretMismatch
	}
	return nil
}

// dummySecretHash is verified against when a request names an unknown
// client, so that an unknown client and a wrong secret cost the same time
// and cannot be told apart (RFC 6749 §2.3.1, §5.2).
var dummySecretHash = hashPrefixGenerated + "AAAAAAAAAAAAAAAAAAAAAA$" + b64.EncodeToString(make([]byte, sha256.Size))
