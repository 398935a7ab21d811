package wire

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error codes rgoipc itself sends in error replies (WIRE.md, "Error
// replies").
const (
	CodeMalformed       = "malformed"
	CodeUnknownType     = "unknown_type"
	CodeBadName         = "bad_name"
	CodeUnknownFunction = "unknown_function"
	CodeBadArguments    = "bad_arguments"
	CodeTooLarge        = "too_large"
	CodePanic           = "panic"
	CodeHandler         = "handler"
	// CodeCancelled: the client cancelled the call (MsgCancel).
	CodeCancelled = "cancelled"
	// CodeDeadlineExceeded: the call's timeout_ms passed.
	CodeDeadlineExceeded = "deadline_exceeded"
	// CodeUnauthorized: the server requires a token and the request did
	// not carry the right one.
	CodeUnauthorized = "unauthorized"
	// CodeOther is what a reader assumes for an empty payload (servers
	// before 0.2.0 send none).
	CodeOther = "other"
)

// MaxCodeLen is the longest valid error code, in bytes.
const MaxCodeLen = 64

// ValidCode reports whether code matches [a-z][a-z0-9_]* and is at most
// MaxCodeLen bytes long.
func ValidCode(code string) bool {
	if code == "" || len(code) > MaxCodeLen || code[0] < 'a' || code[0] > 'z' {
		return false
	}
	for i := 1; i < len(code); i++ {
		c := code[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

type errorPayload struct {
	Code string `json:"code"`
}

// ErrorPayload returns the JSON payload of an error reply with code.
func ErrorPayload(code string) []byte {
	b, _ := json.Marshal(errorPayload{Code: code}) // cannot fail
	return b
}

// ErrorCode reads the code of an error reply's payload: CodeOther when the
// payload is empty, not a JSON object, or has no string "code".
func ErrorCode(payload []byte) string {
	var p errorPayload
	if len(payload) == 0 || json.Unmarshal(payload, &p) != nil || p.Code == "" {
		return CodeOther
	}
	return p.Code
}

// AppendError appends an error reply (type MsgError, payload carrying code)
// to dst. Invalid UTF-8 and NUL bytes in msg (a handler's error may hold
// anything) become U+FFFD, so every client can read the message.
func AppendError(dst []byte, name, msg, code string) []byte {
	if !utf8.ValidString(msg) || strings.IndexByte(msg, 0) >= 0 {
		msg = strings.ReplaceAll(strings.ToValidUTF8(msg, "\uFFFD"), "\x00", "\uFFFD")
	}
	dst = AppendHeader(dst, MsgError, name, msg)
	return append(dst, ErrorPayload(code)...)
}

// MaxNameLen is the longest valid function name, in bytes.
const MaxNameLen = 256

// CheckName reports why name is not a valid function name (valid UTF-8, no
// NUL byte, 1 to MaxNameLen bytes), or "" when it is.
func CheckName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > MaxNameLen:
		return fmt.Sprintf("is %d bytes long, over the limit of %d", len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	case strings.IndexByte(name, 0) >= 0:
		return "holds a NUL byte"
	}
	return ""
}

// QuoteName shows a name that failed CheckName without echoing its bytes:
// Go-quoted (so NUL and invalid bytes appear as escapes, the message stays
// valid UTF-8) and cut to 32 bytes of the name.
func QuoteName(name string) string {
	const show = 32
	if len(name) > show {
		return fmt.Sprintf("%+q...", name[:show])
	}
	return fmt.Sprintf("%+q", name)
}

// ProtocolVersion is the wire protocol version in the info reply.
const ProtocolVersion = 1

// Info is the JSON payload of an info (MsgInfo) reply.
type Info struct {
	// Protocol is ProtocolVersion.
	Protocol int `json:"protocol"`
	// Server is always "rgoipc".
	Server string `json:"server"`
	// Version is the mangoro version.
	Version string `json:"version"`
	// MaxMessageSize is the largest request envelope the server accepts,
	// in bytes; clients check it before sending.
	MaxMessageSize int64 `json:"max_message_size"`
	// Functions is the number of registered functions.
	Functions int `json:"functions"`
	// Features lists what the server understands beyond protocol 1:
	// "codes", "header", "cancel", "shm" (message type 6, the shared
	// memory path) where it is offered, and "auth" when it requires a token.
	Features []string `json:"features"`
	// Workers is the number of calls the server runs at once.
	Workers int `json:"workers"`
	// Busy is the number of workers in a call now.
	Busy int `json:"busy"`
}
