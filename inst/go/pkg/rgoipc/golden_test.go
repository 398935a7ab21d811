package rgoipc

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"mangoro/internal/wire"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ and the fuzz seed corpora")

// golden describes one file in testdata/; the R tests read the same files
// through testdata/index.json.
type golden struct {
	File        string `json:"file"`
	Type        int    `json:"type"`
	Name        string `json:"name"`
	Error       string `json:"error"`
	Code        string `json:"code,omitempty"` // error replies: the payload's code
	PayloadLen  int    `json:"payload_bytes"`
	Description string `json:"description"`
	bytes       []byte
}

// goldenMessages builds the golden messages. Replies are produced by a real
// server (HandleMessage) from the golden requests.
func goldenMessages(t *testing.T) []golden {
	mem := memory.DefaultAllocator
	s := NewServer(testRegistry(t), WithLogger(nil))
	reply := func(req []byte) []byte { return s.handleMessage(context.Background(), req, nil) }

	manifestReq := (&wire.Envelope{Type: wire.MsgManifest}).Encode(nil)
	infoReq := (&wire.Envelope{Type: wire.MsgInfo}).Encode(nil)
	callAdd := callMsg(t, "add", col{"x", f64(mem, 1.5, nil)}, col{"y", f64(mem, 0.5, 1.0)})
	callBad := callMsg(t, "add", col{"x", f64(mem, 1.5)}, col{"y", str(mem, "a")})
	msgs := []golden{
		{File: "manifest_request.bin", bytes: manifestReq,
			Description: "Manifest request: type 0, empty name, error and payload (9 bytes)."},
		{File: "info_request.bin", bytes: infoReq,
			Description: "Info request: type 4, empty name, error and payload (9 bytes)."},
		{File: "call_add.bin", bytes: callAdd,
			Description: "Call add(x = c(1.5, NA), y = c(0.5, 1)): type 1, name \"add\", payload an Arrow IPC stream (written by arrow-go) with float64 columns x and y, ending with the end-of-stream marker."},
		{File: "result_add.bin", bytes: reply(callAdd),
			Description: "Server reply to call_add.bin: type 2, name \"add\", payload an Arrow IPC stream with one float64 column \"result\" = c(2, NA), ending with the end-of-stream marker."},
		{File: "call_add_bad_type.bin", bytes: callBad,
			Description: "Call add(x = 1.5, y = \"a\"): y is a string column, which add rejects."},
		{File: "error_reply.bin", bytes: reply(callBad),
			Description: "Server reply to call_add_bad_type.bin: type 3, name \"add\", error \"add: argument \\\"y\\\": expected float64, got string\", payload the JSON {\"code\":\"bad_arguments\"}."},
	}
	for i := range msgs {
		env, err := wire.Decode(msgs[i].bytes)
		if err != nil {
			t.Fatalf("%s: %v", msgs[i].File, err)
		}
		msgs[i].Type, msgs[i].Name, msgs[i].Error, msgs[i].PayloadLen = int(env.Type), env.Name, env.Error, len(env.Payload)
		if env.Type == wire.MsgError {
			msgs[i].Code = wire.ErrorCode(env.Payload)
		}
	}
	return msgs
}

func TestGolden(t *testing.T) {
	msgs := goldenMessages(t)
	index, err := json.MarshalIndent(msgs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	index = append(index, '\n')
	files := map[string][]byte{"index.json": index}
	for _, m := range msgs {
		files[m.File] = m.bytes
	}
	if *update {
		for name, b := range files {
			if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		writeSeedCorpora(t, msgs)
	}
	for name, want := range files {
		t.Run(name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("testdata/%s differs from what the code produces now (run go test -update if the change is intended)", name)
			}
		})
	}

	// The checks R relies on, spelled out.
	byName := map[string]golden{}
	for _, m := range msgs {
		byName[m.File] = m
	}
	if e := byName["error_reply.bin"]; e.Type != 3 || e.Error != `add: argument "y": expected float64, got string` || e.Code != "bad_arguments" {
		t.Errorf("error_reply.bin = %+v", e)
	}
	env, rec := readReply(t, byName["result_add.bin"].bytes)
	defer rec.Release()
	if env.Name != "add" || colString(t, rec, "result") != "[2 (null)]" {
		t.Errorf("result_add.bin = %s %v", env.Name, rec)
	}
}

// writeSeedCorpora stores the golden requests (and a few broken variants)
// as fuzz seeds in the format go test reads from testdata/fuzz.
func writeSeedCorpora(t *testing.T, msgs []golden) {
	seeds := map[string][]byte{}
	for _, m := range msgs {
		seeds[m.File] = m.bytes
		seeds["truncated_"+m.File] = m.bytes[:len(m.bytes)*2/3]
	}
	for _, dir := range []string{
		filepath.Join("..", "..", "internal", "wire", "testdata", "fuzz", "FuzzDecode"),
		filepath.Join("testdata", "fuzz", "FuzzHandleMessage"),
	} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, "seed_"+name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
