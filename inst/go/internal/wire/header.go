package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxIDLen is the longest valid call id, in bytes.
const MaxIDLen = 64

// Header is the request header a client may put in the text field of a
// request (WIRE.md, "Request header"). The zero Header is what an empty
// text field means.
type Header struct {
	// ID names a call for a later MsgCancel ("" when none).
	ID string
	// Timeout is how long the client waits, from when it sent the call;
	// HasTimeout says whether the header gave one.
	Timeout    time.Duration
	HasTimeout bool
	// Token is the credential the request carries ("" when none).
	Token string
}

type headerJSON struct {
	ID        *string  `json:"id"`
	TimeoutMS *float64 `json:"timeout_ms"`
	Token     *string  `json:"token"`
}

// ValidID reports whether id is 1..MaxIDLen bytes of [A-Za-z0-9_-].
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// maxTimeoutMS caps timeout_ms so the duration cannot overflow (about 292
// years; a larger value means "no deadline worth having" anyway).
const maxTimeoutMS = math.MaxInt64 / int64(time.Millisecond)

// DecodeHeader parses the text field of a request. Empty text is the zero
// Header. Anything else must be a JSON object; unknown keys are ignored.
// An error (wrapping ErrMalformed) never echoes the text, which may hold a
// token.
func DecodeHeader(text string) (Header, error) {
	var h Header
	if text == "" {
		return h, nil
	}
	if h, ok := decodeHeaderFast(text); ok {
		return h, nil
	}
	return decodeHeaderJSON(text)
}

// decodeHeaderJSON decodes any header text with encoding/json.
func decodeHeaderJSON(text string) (Header, error) {
	var h Header
	t := bytes.TrimLeft([]byte(text), " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return h, fmt.Errorf("%w: request header is not a JSON object", ErrMalformed)
	}
	var j headerJSON
	dec := json.NewDecoder(bytes.NewReader(t))
	if err := dec.Decode(&j); err != nil {
		return h, fmt.Errorf("%w: request header is not valid JSON with id, timeout_ms and token of the right types", ErrMalformed)
	}
	if dec.More() {
		return h, fmt.Errorf("%w: request header has data after the JSON object", ErrMalformed)
	}
	if j.ID != nil {
		if !ValidID(*j.ID) {
			return h, fmt.Errorf("%w: request header id must be 1 to %d bytes of [A-Za-z0-9_-]", ErrMalformed, MaxIDLen)
		}
		h.ID = *j.ID
	}
	if j.TimeoutMS != nil {
		ms := *j.TimeoutMS
		if math.IsNaN(ms) || ms < 0 {
			return h, fmt.Errorf("%w: request header timeout_ms must be a number >= 0", ErrMalformed)
		}
		if ms >= float64(maxTimeoutMS) {
			h.Timeout = time.Duration(maxTimeoutMS) * time.Millisecond
		} else {
			h.Timeout = time.Duration(ms * float64(time.Millisecond))
		}
		h.HasTimeout = true
	}
	if j.Token != nil {
		h.Token = *j.Token
	}
	return h, nil
}

// EncodeHeader is the text field for h ("" for the zero Header).
func EncodeHeader(h Header) string {
	m := map[string]any{}
	if h.ID != "" {
		m["id"] = h.ID
	}
	if h.HasTimeout {
		m["timeout_ms"] = h.Timeout.Milliseconds()
	}
	if h.Token != "" {
		m["token"] = h.Token
	}
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m) // cannot fail
	return string(b)
}

// decodeHeaderFast reads the one shape R's client writes (src/call.c):
// {"id":"<id>"[,"timeout_ms":<digits>][,"token":"<printable ASCII>"]} or
// {"token":"..."}, keys in that order, no spaces, no escapes. For that
// subset of JSON it gives what encoding/json gives, in a fraction of the
// time (a small call's whole server-side budget is tens of microseconds);
// ok is false for anything else, which then takes the JSON decoder.
func decodeHeaderFast(text string) (h Header, ok bool) {
	rest, ok := strings.CutPrefix(text, "{")
	if !ok {
		return h, false
	}
	if v, r, found := fastString(rest, `"id":"`); found {
		if !ValidID(v) {
			return h, false
		}
		h.ID, rest = v, r
		if r, found := strings.CutPrefix(rest, `,"timeout_ms":`); found {
			n := 0
			for n < len(r) && n < 15 && r[n] >= '0' && r[n] <= '9' {
				n++
			}
			if n == 0 || (n > 1 && r[0] == '0') || (n < len(r) && r[n] >= '0' && r[n] <= '9') {
				return h, false
			}
			ms, err := strconv.ParseInt(r[:n], 10, 64)
			if err != nil {
				return h, false
			}
			h.Timeout, h.HasTimeout, rest = time.Duration(ms)*time.Millisecond, true, r[n:]
		}
		if r, found := strings.CutPrefix(rest, ","); found {
			rest = r
		} else {
			return h, rest == "}"
		}
	}
	v, r, found := fastString(rest, `"token":"`)
	if !found || r != "}" {
		return Header{}, false
	}
	h.Token = v
	return h, true
}

// fastString cuts key (which ends with the opening quote of the value)
// from s and returns the value up to its closing quote and what follows,
// for values of printable ASCII without quotes or backslashes.
func fastString(s, key string) (v, rest string, ok bool) {
	s, ok = strings.CutPrefix(s, key)
	if !ok {
		return "", "", false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[:i], s[i+1:], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", "", false
		}
	}
	return "", "", false
}
