package assets

import (
	"net/http"
	"strings"
)

// An intent is what a decoded path resolves to: an asset to serve (with
// its status: 200, or 404 for a 404 page) or a redirect to a canonical
// path. nil means no asset.
type intent struct {
	file     *file
	code     int
	redirect string
}

func serve(f *file) *intent { return &intent{file: f, code: http.StatusOK} }

// intent resolves a decoded path by html_handling. skip is set while
// checking where a redirect would lead, so checks do not redirect again.
func (s *site) intent(p, mode, notFound string, skip bool) *intent {
	switch mode {
	case ForceTrailingSlash:
		return s.forceSlash(p, mode, notFound, skip)
	case DropTrailingSlash:
		return s.dropSlash(p, mode, notFound, skip)
	case HTMLNone:
		if f := s.files[p]; f != nil {
			return serve(f)
		}
		return s.notFound(p, notFound)
	}
	return s.autoSlash(p, mode, notFound, skip)
}

// redirectTo returns a redirect to dest if dest is not an asset itself and
// would serve the same content as the asset file.
func (s *site) redirectTo(file, dest, mode, notFound string, skip bool) *intent {
	if skip || s.files[dest] != nil {
		return nil
	}
	in := s.intent(dest, mode, notFound, true)
	if f := s.files[file]; in != nil && in.file != nil && f != nil && in.file.etag == f.etag {
		return &intent{redirect: dest}
	}
	return nil
}

// first returns the first non-nil intent of fs, evaluated in order.
func first(fs ...func() *intent) *intent {
	for _, f := range fs {
		if in := f(); in != nil {
			return in
		}
	}
	return nil
}

// autoSlash: /a serves a.html, /a/ serves a/index.html, and the other
// spellings redirect to those.
func (s *site) autoSlash(p, mode, nf string, skip bool) *intent {
	exact := s.files[p]
	rd := func(file, dest string) func() *intent {
		return func() *intent { return s.redirectTo(file, dest, mode, nf, skip) }
	}
	var in *intent
	switch {
	case strings.HasSuffix(p, "/index"):
		if exact != nil {
			return serve(exact)
		}
		base := strings.TrimSuffix(p, "/index")
		in = first(rd(p+".html", base+"/"), rd(base+".html", base))
	case strings.HasSuffix(p, "/index.html"):
		base := strings.TrimSuffix(p, "/index.html")
		in = first(rd(p, base+"/"), rd(base+".html", base))
	case strings.HasSuffix(p, "/"):
		if f := s.files[p+"index.html"]; f != nil {
			return serve(f)
		}
		base := strings.TrimSuffix(p, "/")
		in = rd(base+".html", base)()
	case strings.HasSuffix(p, ".html"):
		base := strings.TrimSuffix(p, ".html")
		in = first(rd(p, base), rd(base+"/index.html", base+"/"))
	}
	if in != nil {
		return in
	}
	if exact != nil {
		return serve(exact)
	}
	if f := s.files[p+".html"]; f != nil {
		return serve(f)
	}
	if in := rd(p+"/index.html", p+"/")(); in != nil {
		return in
	}
	return s.notFound(p, nf)
}

// forceSlash: every HTML page is served at a path ending in /.
func (s *site) forceSlash(p, mode, nf string, skip bool) *intent {
	exact := s.files[p]
	rd := func(file, dest string) func() *intent {
		return func() *intent { return s.redirectTo(file, dest, mode, nf, skip) }
	}
	var in *intent
	switch {
	case strings.HasSuffix(p, "/index"):
		if exact != nil {
			return serve(exact)
		}
		base := strings.TrimSuffix(p, "index")
		in = first(rd(p+".html", base), rd(strings.TrimSuffix(p, "/index")+".html", base))
	case strings.HasSuffix(p, "/index.html"):
		base := strings.TrimSuffix(p, "index.html")
		in = first(rd(p, base), rd(strings.TrimSuffix(p, "/index.html")+".html", base))
	case strings.HasSuffix(p, "/"):
		if f := s.files[p+"index.html"]; f != nil {
			return serve(f)
		}
		if f := s.files[strings.TrimSuffix(p, "/")+".html"]; f != nil {
			return serve(f)
		}
	case strings.HasSuffix(p, ".html"):
		base := strings.TrimSuffix(p, ".html")
		in = first(rd(p, base+"/"), func() *intent {
			if exact != nil {
				return serve(exact)
			}
			return nil
		}, rd(base+"/index.html", base+"/"))
	}
	if in != nil {
		return in
	}
	if exact != nil {
		return serve(exact)
	}
	if in := first(rd(p+".html", p+"/"), rd(p+"/index.html", p+"/")); in != nil {
		return in
	}
	return s.notFound(p, nf)
}

// dropSlash: every HTML page is served at a path without a trailing /
// (but / itself).
func (s *site) dropSlash(p, mode, nf string, skip bool) *intent {
	exact := s.files[p]
	rd := func(file, dest string) func() *intent {
		return func() *intent { return s.redirectTo(file, dest, mode, nf, skip) }
	}
	var in *intent
	switch {
	case strings.HasSuffix(p, "/index"):
		if exact != nil {
			return serve(exact)
		}
		base := strings.TrimSuffix(p, "/index")
		if p == "/index" {
			in = rd("/index.html", "/")()
		} else {
			in = first(rd(base+".html", base), rd(p+".html", base))
		}
	case strings.HasSuffix(p, "/index.html"):
		base := strings.TrimSuffix(p, "/index.html")
		if p == "/index.html" {
			in = rd("/index.html", "/")()
		} else {
			in = first(rd(p, base), func() *intent {
				if exact != nil {
					return serve(exact)
				}
				return nil
			}, rd(base+".html", base))
		}
	case strings.HasSuffix(p, "/"):
		base := strings.TrimSuffix(p, "/")
		if p == "/" {
			if f := s.files["/index.html"]; f != nil {
				return serve(f)
			}
		} else {
			in = first(rd(base+".html", base), rd(base+"/index.html", base))
		}
	case strings.HasSuffix(p, ".html"):
		base := strings.TrimSuffix(p, ".html")
		in = first(rd(p, base), rd(base+"/index.html", base))
	}
	if in != nil {
		return in
	}
	if exact != nil {
		return serve(exact)
	}
	if f := s.files[p+".html"]; f != nil {
		return serve(f)
	}
	if f := s.files[p+"/index.html"]; f != nil {
		return serve(f)
	}
	return s.notFound(p, nf)
}

// notFound applies not_found_handling to a path with no asset.
func (s *site) notFound(p, mode string) *intent {
	switch mode {
	case SPA:
		if f := s.files["/index.html"]; f != nil {
			return serve(f)
		}
	case Page404:
		for dir := p; dir != ""; {
			dir = dir[:strings.LastIndexByte(dir, '/')]
			if f := s.files[dir+"/404.html"]; f != nil {
				return &intent{file: f, code: http.StatusNotFound}
			}
		}
	}
	return nil
}
