package demo

import "net/http"

type landingRP struct{ Name, URL, Stack, LogoutURL string }

type landingPage struct {
	Title, Accent string
	OPURL         string
	RPs           []landingRP
}

func (d *Demo) serveLanding(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	p := landingPage{Title: "bclogout demo", Accent: "#1d2430", OPURL: d.OPURL()}
	for _, a := range []*rpApp{d.alpha, d.beta} {
		p.RPs = append(p.RPs, landingRP{Name: a.name, URL: a.base + "/", Stack: a.stack, LogoutURL: a.base + logoutPath})
	}
	w.Header().Set("Cache-Control", "no-store")
	if err := d.alpha.tmpl.ExecuteTemplate(w, "landing.html", p); err != nil {
		d.logger.Error("demo: rendering landing page", "error", err)
	}
}
