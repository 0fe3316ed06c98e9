package slacksim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// File is a file uploaded through files.getUploadURLExternal, the upload
// URL and files.completeUploadExternal, the flow that replaced files.upload.
type File struct {
	ID, Name, Title string
	Content         []byte
	Channel         string // where it was shared; "" until completed
	Length          int    // what getUploadURLExternal was told
}

// Files returns copies of the files uploaded and shared.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, id := range s.fileOrder {
		f := *s.files[id]
		f.Content = append([]byte(nil), f.Content...)
		out = append(out, f)
	}
	return out
}

// File returns a copy of a shared file, for a viewer that opens it.
func (s *Server) File(id string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok || f.Channel == "" {
		return File{}, false
	}
	c := *f
	c.Content = append([]byte(nil), f.Content...)
	return c, true
}

func (s *Server) filesGetUploadURLExternal(p params) (map[string]any, string) {
	n, err := strconv.Atoi(p.get("length"))
	if err != nil || n <= 0 {
		return nil, "invalid_arguments"
	}
	s.seq++
	id := fmt.Sprintf("F%08d", s.seq)
	if s.files == nil {
		s.files = map[string]*File{}
	}
	s.files[id] = &File{ID: id, Name: p.get("filename"), Length: n}
	s.fileOrder = append(s.fileOrder, id)
	return map[string]any{"upload_url": s.api.URL + "/upload/" + id, "file_id": id}, ""
}

// serveUpload takes the file's bytes, as a multipart "file" field or the raw body.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var data []byte
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		f, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, "no file field", http.StatusBadRequest)
			return
		}
		data, _ = io.ReadAll(io.LimitReader(f, 10<<20))
		f.Close()
	} else {
		data, _ = io.ReadAll(io.LimitReader(r.Body, 10<<20))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok {
		http.Error(w, "unknown upload", http.StatusNotFound)
		return
	}
	f.Content = data
	w.Write([]byte("OK - " + strconv.Itoa(len(data))))
}

func (s *Server) filesCompleteUploadExternal(p params) (map[string]any, string) {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p.get("files")), &files); err != nil || len(files) == 0 {
		return nil, "invalid_arguments"
	}
	channel := p.get("channel_id")
	if channel == "" {
		channel = strings.Split(p.get("channels"), ",")[0]
	}
	var ch *Channel
	if channel != "" {
		var e string
		if ch, e = s.channelForBot(channel); e != "" {
			return nil, e
		}
	}
	var out []any
	for _, fr := range files {
		f, ok := s.files[fr.ID]
		if !ok || f.Content == nil {
			return nil, "file_not_found"
		}
		if len(f.Content) != f.Length {
			return nil, "file_upload_size_mismatch"
		}
		f.Title = fr.Title
		out = append(out, map[string]any{"id": f.ID, "title": f.Title, "name": f.Name})
		if ch != nil {
			f.Channel = ch.ID
			text := p.get("initial_comment")
			if text == "" {
				text = "📎 " + f.Title
			}
			files, _ := json.Marshal([]map[string]any{{"id": f.ID, "name": f.Name, "title": f.Title, "size": len(f.Content)}})
			s.addMessageLocked(&Message{Channel: ch.ID, User: BotUserID, Text: text, Files: files, Source: "api"})
		}
	}
	return map[string]any{"files": out}, ""
}
