package sockets

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A hibernatable socket moves from one Registry to another, in this
// process (Detach, Adopt) or through Export and Import (the path of a
// process upgrade): the client sees no close, what it sent while the
// socket moved arrives once, in order, at the new Handler, and tags,
// attachment and auto-response come along.
func TestHandoffKeepsConnection(t *testing.T) {
	for _, export := range []bool{false, true} {
		name := "adopt"
		if export {
			name = "export"
		}
		t.Run(name, func(t *testing.T) {
			old := newTestRegistry(t)
			o := old.Object("Chat", testID)
			o.SetName("room")
			if err := o.SetAutoResponse("ping", "pong"); err != nil {
				t.Fatal(err)
			}
			url, conns := serve(t, old, func(c *Conn, _ *recorder) {
				if err := o.AddHibernatable(c, []string{"user:1", "room"}); err != nil {
					t.Error(err)
				}
				_ = c.SetAttachment([]byte("attached"))
			})
			client, s := dial(t, url, conns)
			write(t, client, websocket.MessageText, "before")
			if ev := s.h.next(t); ev.data != "before" {
				t.Fatalf("old Handler got %+v, want the first message", ev)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m := old.Detach(ctx)
			if m.Len() != 1 {
				t.Fatalf("Detach moved %d sockets, want 1", m.Len())
			}
			// The client goes on sending while nobody reads.
			for _, msg := range []string{"during-1", "during-2"} {
				write(t, client, websocket.MessageText, msg)
			}
			old.CloseAll() // the old App closes: the moved socket stays open
			if export {
				state, files, err := m.Export(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if m, err = Import(state, files, 0); err != nil {
					t.Fatal(err)
				}
			}
			next := newTestRegistry(t)
			h := newRecorder()
			var adopted *Conn
			n := next.Adopt(m, func(c *Conn) Handler {
				adopted = c
				return h
			})
			if n != 1 {
				t.Fatalf("Adopt = %d, want 1", n)
			}
			for _, want := range []string{"during-1", "during-2"} {
				if ev := h.next(t); ev != (event{kind: "message", data: want, text: true}) {
					t.Errorf("new Handler got %+v, want %q", ev, want)
				}
			}
			write(t, client, websocket.MessageText, "after")
			if ev := h.next(t); ev.data != "after" {
				t.Errorf("new Handler got %+v, want the message sent after", ev)
			}
			adopted.SendText("from the new registry")
			if _, msg := read(t, client); msg != "from the new registry" {
				t.Errorf("client read %q", msg)
			}
			write(t, client, websocket.MessageText, "ping")
			if _, msg := read(t, client); msg != "pong" {
				t.Errorf("auto-response after the move = %q, want pong", msg)
			}
			if tags := adopted.Tags(); !slices.Equal(tags, []string{"user:1", "room"}) {
				t.Errorf("tags = %q", tags)
			}
			if a := adopted.Attachment(); string(a) != "attached" {
				t.Errorf("attachment = %q", a)
			}
			class, id, ok := adopted.ObjectKey()
			if !ok || class != "Chat" || id != testID || adopted.ObjectName() != "room" {
				t.Errorf("object = %q %x %v name %q", class, id, ok, adopted.ObjectName())
			}
			if got := next.Object("Chat", testID).Sockets(); len(got) != 1 || got[0] != adopted {
				t.Errorf("new record lists %d sockets", len(got))
			}
			if hib, _ := old.Counts("Chat", testID); hib != 0 {
				t.Errorf("old record still lists %d sockets", hib)
			}
			s.h.none(t) // the old Handler heard nothing more, no close
			// The end of the connection now reaches the new Handler.
			_ = client.Close(websocket.StatusNormalClosure, "bye")
			if ev := h.next(t); ev.kind != "close" || ev.code != 1000 || ev.reason != "bye" {
				t.Errorf("close event = %+v", ev)
			}
		})
	}
}

// A socket whose Handler refuses it on adoption is closed with 1012, as
// before hand-offs existed.
func TestAdoptRefused(t *testing.T) {
	old := newTestRegistry(t)
	o := old.Object("Gone", testID)
	url, conns := serve(t, old, func(c *Conn, _ *recorder) { _ = o.AddHibernatable(c, nil) })
	client, s := dial(t, url, conns)
	write(t, client, websocket.MessageText, "read") // the server side reads
	s.h.next(t)
	m := old.Detach(context.Background())
	if m.Len() != 1 {
		t.Fatalf("Detach = %d sockets, want 1", m.Len())
	}
	if n := newTestRegistry(t).Adopt(m, func(*Conn) Handler { return nil }); n != 0 {
		t.Fatalf("Adopt = %d, want 0", n)
	}
	if code, _ := closeStatus(t, client); code != websocket.StatusServiceRestart {
		t.Errorf("close code = %d, want 1012", code)
	}
}

// Sockets accepted with ws.accept() (not hibernatable) are not moved.
func TestDetachLeavesAccepted(t *testing.T) {
	r := newTestRegistry(t)
	o := r.Object("Obj", testID)
	url, conns := serve(t, r, func(c *Conn, _ *recorder) { o.AddAccepted(c) })
	dial(t, url, conns)
	if m := r.Detach(context.Background()); m.Len() != 0 {
		t.Errorf("Detach moved %d accepted sockets", m.Len())
	}
}

// maskedFrame builds a client frame.
func maskedFrame(b0 byte, payload []byte) []byte {
	out := []byte{b0}
	switch {
	case len(payload) < 126:
		out = append(out, 0x80|byte(len(payload)))
	default:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(len(payload)))
	}
	mask := []byte{1, 2, 3, 4}
	out = append(out, mask...)
	for i, c := range payload {
		out = append(out, c^mask[i&3])
	}
	return out
}

func TestParseFrame(t *testing.T) {
	text := maskedFrame(0x81, []byte("hello"))
	for _, tc := range []struct {
		name    string
		in      []byte
		room    int64
		wantN   int
		wantErr error
		want    string
	}{
		{name: "whole text frame", in: text, room: 100, wantN: len(text), want: "hello"},
		{name: "frame and more", in: append(slices.Clone(text), 0x81), room: 100, wantN: len(text), want: "hello"},
		{name: "header only", in: text[:2], room: 100},
		{name: "one byte short", in: text[:len(text)-1], room: 100},
		{name: "16-bit length", in: maskedFrame(0x82, bytes.Repeat([]byte{7}, 300)), room: 1000, wantN: 4 + 4 + 300, want: string(bytes.Repeat([]byte{7}, 300))},
		{name: "too big", in: maskedFrame(0x82, bytes.Repeat([]byte{7}, 300))[:4], room: 299, wantErr: websocket.ErrMessageTooBig},
		{name: "not masked", in: []byte{0x81, 0x01, 'x'}, room: 100, wantErr: errProtocol},
		{name: "reserved bit", in: maskedFrame(0xC1, []byte("x")), room: 100, wantErr: errProtocol},
		{name: "unknown opcode", in: maskedFrame(0x83, nil), room: 100, wantErr: errProtocol},
		{name: "fragmented ping", in: maskedFrame(0x09, nil), room: 100, wantErr: errProtocol},
		{name: "long ping", in: maskedFrame(0x89, bytes.Repeat([]byte{1}, 126)), room: 1000, wantErr: errProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr, n, err := parseFrame(tc.in, tc.room)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || n != tc.wantN {
				t.Fatalf("n, err = %d, %v; want %d", n, err, tc.wantN)
			}
			if n > 0 && string(fr.payload) != tc.want {
				t.Errorf("payload = %q, want %q", fr.payload, tc.want)
			}
		})
	}
}

// Interrupted in the middle of a frame, a frameConn keeps the bytes it
// read, and the next reader (resume) delivers the message whole.
func TestFrameConnInterruptMidFrame(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	fc := newFrameConn(b, 1<<20)
	defer fc.CloseNow()
	msg := maskedFrame(0x81, []byte("split across the hand-off"))
	got := make(chan error, 1)
	go func() {
		_, _, err := fc.Read(context.Background())
		got <- err
	}()
	if _, err := a.Write(msg[:7]); err != nil {
		t.Fatal(err)
	}
	fc.interrupt()
	if err := <-got; !errors.Is(err, errInterrupted) {
		t.Fatalf("Read = %v, want errInterrupted", err)
	}
	if !bytes.Equal(fc.buf, msg[:7]) {
		t.Fatalf("kept %x, want the 7 bytes read", fc.buf)
	}
	fc.resume()
	go func() { _, _ = a.Write(msg[7:]) }()
	typ, data, err := fc.Read(context.Background())
	if err != nil || typ != websocket.MessageText || string(data) != "split across the hand-off" {
		t.Fatalf("Read = %v %q %v", typ, data, err)
	}
}
