//go:build linux

package shm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func exists(name string) bool {
	_, err := os.Lstat(dir + name)
	return err == nil
}

func create(t *testing.T, n uint64) *Segment {
	t.Helper()
	s, err := Create(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Unlink(); _ = s.Close() })
	return s
}

// Write makes the same kind of segment as Create, its payload the parts in
// order, under the same umask-proof mode.
func TestWriteOpen(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	big := bytes.Repeat([]byte{0xab}, 3<<20)
	for name, parts := range map[string][][]byte{
		"none":  nil,
		"empty": {{}, {}},
		"small": {[]byte("arrow"), {}, []byte("!")},
		"large": {[]byte("head"), big, []byte("tail")},
	} {
		t.Run(name, func(t *testing.T) {
			want := bytes.Join(parts, nil)
			h, err := Write(parts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = Unlink(h.Name) })
			st, err := os.Stat(dir + h.Name)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 || uint64(st.Size()) != uint64(len(want))+HeaderSize || h.Length != uint64(len(want)) {
				t.Fatalf("mode %v size %d length %d, want 0600, %d and %d", st.Mode().Perm(), st.Size(), h.Length, len(want)+HeaderSize, len(want))
			}
			r, err := Open(h, h.Length)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if !bytes.Equal(r.Payload(), want) {
				t.Fatal("payload differs from the parts")
			}
			if exists(h.Name) {
				t.Fatal("Open left the name in /dev/shm")
			}
		})
	}
}

func TestCreateOpen(t *testing.T) {
	for _, n := range []uint64{0, 1, 8, 4096, 1 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := create(t, n)
			for i := range s.Payload() {
				s.Payload()[i] = byte(i * 7)
			}
			st, err := os.Stat(dir + s.Name())
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 || uint64(st.Size()) != n+HeaderSize {
				t.Fatalf("mode %v size %d, want 0600 and %d", st.Mode().Perm(), st.Size(), n+HeaderSize)
			}
			enc := s.Handle().AppendBinary(nil)
			h, err := DecodeHandle(enc, n)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Open(h, n)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if exists(s.Name()) {
				t.Fatal("Open left the name in /dev/shm")
			}
			if !bytes.Equal(r.Payload(), s.Payload()) {
				t.Fatal("payload differs")
			}
			// The receiver's mapping is private: its writes stay local.
			if n > 0 {
				r.Payload()[0] ^= 0xff
				if r.Payload()[0] == s.Payload()[0] {
					t.Fatal("a receiver write reached the creator")
				}
			}
			if err := s.Unlink(); err != nil {
				t.Fatalf("Unlink after Open: %v", err)
			}
			if err := r.Close(); err != nil || r.Close() != nil {
				t.Fatal("Close twice:", err)
			}
		})
	}
}

// forge writes a file in /dev/shm the way a broken or hostile peer might.
func forge(t *testing.T, name string, content []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(dir+name, content, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir + name) })
	if err := os.Chmod(dir+name, mode); err != nil {
		t.Fatal(err)
	}
}

func header(n uint64, token [8]byte) []byte {
	b := make([]byte, HeaderSize+n)
	putHeader(b, n, uint32(os.Getpid()), token)
	return b
}

func TestOpenRefuses(t *testing.T) {
	tok := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	name := fmt.Sprintf("/mangoro-%d-0102030405060708", os.Getpid())
	cases := []struct {
		name  string
		setup func(t *testing.T) Handle
	}{
		{"not in the naming scheme", func(t *testing.T) Handle {
			return Handle{Name: "/etc/passwd", Length: 8}
		}},
		{"path traversal", func(t *testing.T) Handle {
			return Handle{Name: "/mangoro-1-../../etc/pass", Length: 8}
		}},
		{"upper-case hex", func(t *testing.T) Handle {
			return Handle{Name: "/mangoro-12-0102030405060A08", Length: 8}
		}},
		{"absent", func(t *testing.T) Handle {
			return Handle{Name: "/mangoro-1-ffffffffffffffff", Length: 8}
		}},
		{"wrong mode", func(t *testing.T) Handle {
			forge(t, name, header(8, tok), 0o644)
			return Handle{Name: name, Length: 8}
		}},
		{"size larger than the handle", func(t *testing.T) Handle {
			forge(t, name, header(16, tok), 0o600)
			return Handle{Name: name, Length: 8}
		}},
		{"size smaller than the handle", func(t *testing.T) Handle {
			forge(t, name, header(8, tok)[:HeaderSize+4], 0o600)
			return Handle{Name: name, Length: 8}
		}},
		{"over the size limit", func(t *testing.T) Handle {
			return Handle{Name: name, Length: 1 << 30}
		}},
		{"bad magic", func(t *testing.T) Handle {
			b := header(8, tok)
			b[0] = 'X'
			forge(t, name, b, 0o600)
			return Handle{Name: name, Length: 8}
		}},
		{"header length mismatch", func(t *testing.T) Handle {
			b := header(8, tok)
			binary.LittleEndian.PutUint64(b[16:], 9)
			forge(t, name, b, 0o600)
			return Handle{Name: name, Length: 8}
		}},
		{"token not the name's", func(t *testing.T) Handle {
			forge(t, name, header(8, [8]byte{9, 9, 9, 9, 9, 9, 9, 9}), 0o600)
			return Handle{Name: name, Length: 8}
		}},
		{"symlink to a valid segment", func(t *testing.T) Handle {
			s := create(t, 8)
			if err := os.Symlink(dir+s.Name(), dir+name); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Remove(dir + name) })
			return Handle{Name: name, Length: 8}
		}},
		{"another user's", func(t *testing.T) Handle {
			if os.Getuid() != 0 {
				t.Skip("needs root to make a file owned by another user")
			}
			forge(t, name, header(8, tok), 0o600)
			if err := os.Chown(dir+name, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return Handle{Name: name, Length: 8}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.setup(t)
			s, err := Open(h, 1<<20)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted it")
			}
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v does not wrap ErrRefused", err)
			}
			if !strings.HasPrefix(err.Error(), "rgoipc: shm: ") {
				t.Fatalf("error %q lacks the prefix", err)
			}
		})
	}
}

func TestDecodeHandleRefuses(t *testing.T) {
	good := Handle{Name: "/mangoro-42-0123456789abcdef", Length: 100}.AppendBinary(nil)
	if _, err := DecodeHandle(good, 100); err != nil {
		t.Fatal(err)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":        nil,
		"short":        good[:10],
		"magic":        mut(func(b []byte) []byte { b[0] = 'x'; return b }),
		"version":      mut(func(b []byte) []byte { b[4] = 2; return b }),
		"reserved":     mut(func(b []byte) []byte { b[7] = 1; return b }),
		"name length":  mut(func(b []byte) []byte { b[5]++; return b }),
		"trailing":     append(append([]byte(nil), good...), 0),
		"too large":    Handle{Name: "/mangoro-42-0123456789abcdef", Length: 101}.AppendBinary(nil),
		"pid zero":     Handle{Name: "/mangoro-0-0123456789abcdef", Length: 1}.AppendBinary(nil),
		"leading zero": Handle{Name: "/mangoro-042-0123456789abcdef", Length: 1}.AppendBinary(nil),
		"pid too big":  Handle{Name: "/mangoro-4294967296-0123456789abcdef", Length: 1}.AppendBinary(nil),
		"short token":  Handle{Name: "/mangoro-42-0123456789abcde", Length: 1}.AppendBinary(nil),
		"slash":        Handle{Name: "/mangoro-42-0123456789abcd/f", Length: 1}.AppendBinary(nil),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if h, err := DecodeHandle(b, 100); err == nil || !errors.Is(err, ErrRefused) {
				t.Fatalf("DecodeHandle = %+v, %v; want a refusal", h, err)
			}
		})
	}
}

// Many segments made and taken at once: names never collide, nothing stays.
func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				s, err := Create(64)
				if err != nil {
					errs <- err
					return
				}
				s.Payload()[0] = byte(i)
				r, err := Open(s.Handle(), 64)
				if err != nil {
					errs <- err
					return
				}
				if r.Payload()[0] != byte(i) {
					errs <- errors.New("payload differs")
				}
				_ = r.Close()
				_ = s.Close()
				if exists(s.Name()) {
					errs <- fmt.Errorf("%s left behind", s.Name())
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A helper process (this test binary again) that creates a segment, prints
// its name and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("MANGORO_SHM_HELPER") == "create" {
		s, err := Create(1 << 16)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(s.Name())
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSweepAfterKill9(t *testing.T) {
	for _, byPid := range []bool{false, true} {
		t.Run(fmt.Sprintf("by pid %v", byPid), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "MANGORO_SHM_HELPER=create")
			stdin, _ := cmd.StdinPipe()
			defer stdin.Close()
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSpace(line)
			if !exists(name) {
				t.Fatalf("helper said %q but no such segment", name)
			}
			pid := cmd.Process.Pid
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			if !exists(name) {
				t.Fatal("segment vanished without a sweep: the test proves nothing")
			}
			arg := 0
			if byPid {
				arg = pid
			}
			removed, err := Sweep(arg)
			if err != nil {
				t.Fatal(err)
			}
			if exists(name) || !contains(removed, name) {
				t.Fatalf("Sweep(%d) removed %v, %s still there: %v", arg, removed, name, exists(name))
			}
		})
	}
}

func TestSweepKeepsLiveCreators(t *testing.T) {
	s := create(t, 8)
	if removed, err := Sweep(0); err != nil || contains(removed, s.Name()) || !exists(s.Name()) {
		t.Fatalf("Sweep(0) removed a live process's segment: %v %v", removed, err)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
