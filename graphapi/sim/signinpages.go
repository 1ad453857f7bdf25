package sim

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The pages a person sees during a browser sign-in: choose or type the
// account, consent, and the error page. Written with html.EscapeString for
// the reason given at deviceLoginPage. Every form carries the request id;
// the pages post under the authorize path (login, consent).

const pageHead = `<!doctype html>
<html><head><meta charset="utf-8"><title>%s</title></head>
<body style="font-family:sans-serif;max-width:34em;margin:3em auto">
<p style="color:#555">This is the <b>entrawiz simulated tenant</b> (%s), not Microsoft.</p>
`

func (s *Server) page(w http.ResponseWriter, title string) *strings.Builder {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var b strings.Builder
	fmt.Fprintf(&b, pageHead, html.EscapeString(title), html.EscapeString(s.dir.displayName))
	return &b
}

// renderSignIn is the account page: pick one of the tenant's accounts or
// type a user name.
func (s *Server) renderSignIn(w http.ResponseWriter, req *authRequest, msg string) {
	b := s.page(w, "Sign in to your account")
	b.WriteString("<h1>Sign in</h1>\n<p>to continue to <b id=\"app\">" + html.EscapeString(req.appName) + "</b></p>\n")
	if msg != "" {
		b.WriteString("<p id=\"error\" style=\"color:#a00\">" + html.EscapeString(msg) + "</p>\n")
	}
	b.WriteString("<form id=\"signin\" method=\"post\" action=\"/" + html.EscapeString(req.tid) + "/oauth2/v2.0/authorize/login\">\n")
	b.WriteString("<input type=\"hidden\" name=\"ctx\" value=\"" + html.EscapeString(req.id) + "\">\n<p>Pick an account:</p>\n")
	for _, upn := range []string{s.info.AdminUPN, s.info.UserUPN} {
		fmt.Fprintf(b, "<p><button name=\"login\" value=\"%[1]s\">%[1]s</button></p>\n", html.EscapeString(upn))
	}
	fmt.Fprintf(b, "<p><label>Or type a user name <input id=\"i0116\" name=\"loginfmt\" value=\"%s\" autofocus></label>\n", html.EscapeString(req.loginHint))
	b.WriteString("<button id=\"idSIButton9\" name=\"action\" value=\"next\">Next</button></p>\n</form></body></html>\n")
	w.Write([]byte(b.String()))
}

// renderConsent asks the user to accept the permissions; one who may not
// consent sees "Need admin approval" with only the way back to the app.
func (s *Server) renderConsent(w http.ResponseWriter, req *authRequest, upn string, missing []string, mayConsent bool) {
	title := "Permissions requested"
	if !mayConsent {
		title = "Need admin approval"
	}
	b := s.page(w, title)
	b.WriteString("<h1>" + title + "</h1>\n<p>" + html.EscapeString(upn) + "</p>\n")
	b.WriteString("<p><b id=\"app\">" + html.EscapeString(req.appName) + "</b> ")
	if mayConsent {
		b.WriteString("needs permission to:</p>\n<ul>\n")
		for _, sc := range missing {
			desc := sc
			if p, ok := scopeByValue(sc); ok {
				desc = p.display
			}
			b.WriteString("<li>" + html.EscapeString(desc) + "</li>\n")
		}
		b.WriteString("</ul>\n")
	} else {
		b.WriteString("needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.</p>\n")
		b.WriteString("<p style=\"color:#555\">AADSTS90094: The grant requires admin permission.</p>\n")
	}
	b.WriteString("<form id=\"consent\" method=\"post\" action=\"/" + html.EscapeString(req.tid) + "/oauth2/v2.0/authorize/consent\">\n")
	b.WriteString("<input type=\"hidden\" name=\"ctx\" value=\"" + html.EscapeString(req.id) + "\">\n")
	if mayConsent {
		b.WriteString("<p><button id=\"idBtn_Accept\" name=\"action\" value=\"accept\">Accept</button> <button id=\"idBtn_Back\" name=\"action\" value=\"cancel\">Cancel</button></p>\n")
	} else {
		b.WriteString("<p><button id=\"idBtn_Back\" name=\"action\" value=\"cancel\">Return to the application without granting consent</button></p>\n")
	}
	b.WriteString("</form></body></html>\n")
	w.Write([]byte(b.String()))
}

// errorPage is the tenant's own error page, for errors that cannot go back
// to the app: HTTP 200 with the AADSTS code and message, as the
// authorization endpoint shows them.
func (s *Server) errorPage(w http.ResponseWriter, aadsts int, text string) {
	b := s.page(w, "Sign in to your account")
	fmt.Fprintf(b, "<h1>Sign in</h1>\n<p>Sorry, but we’re having trouble signing you in.</p>\n<p id=\"error\">AADSTS%d: %s</p>\n", aadsts, html.EscapeString(text))
	fmt.Fprintf(b, "<p style=\"color:#555\">Request Id: %s<br>Correlation Id: %s<br>Timestamp: %s</p>\n</body></html>\n",
		newUUID(), newUUID(), time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	w.Write([]byte(b.String()))
}

// renderFormPost is response_mode=form_post: a page that posts the response
// to the redirect URI by itself.
func (s *Server) renderFormPost(w http.ResponseWriter, target string, v url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var b strings.Builder
	b.WriteString("<html><head><title>Working...</title></head><body>\n<form method=\"POST\" name=\"hiddenform\" action=\"" + html.EscapeString(target) + "\">\n")
	for k, vals := range v {
		for _, val := range vals {
			fmt.Fprintf(&b, "<input type=\"hidden\" name=\"%s\" value=\"%s\" />\n", html.EscapeString(k), html.EscapeString(val))
		}
	}
	b.WriteString("<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript>\n</form>\n<script language=\"javascript\">document.forms[0].submit();</script>\n</body></html>\n")
	w.Write([]byte(b.String()))
}

// loginSubmit is the account page's form.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := s.auth.get(r.PostForm.Get("ctx"), s.now())
	if req == nil {
		s.errorPage(w, 50089, "Authentication failed due to flow token expired.")
		return
	}
	upn := strings.TrimSpace(r.PostForm.Get("login"))
	if upn == "" {
		upn = strings.TrimSpace(r.PostForm.Get("loginfmt"))
	}
	if upn == "" {
		s.renderSignIn(w, req, "Enter a valid email address, phone number, or Skype name.")
		return
	}
	uid := s.userByUPN(upn)
	if uid == "" {
		req.loginHint = upn
		s.renderSignIn(w, req, "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin.")
		return
	}
	s.signedIn(w, req, uid)
}

// consentSubmit is the consent page's form.
func (s *Server) consentSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := s.auth.get(r.PostForm.Get("ctx"), s.now())
	if req == nil || req.userID == "" {
		s.errorPage(w, 50089, "Authentication failed due to flow token expired.")
		return
	}
	if r.PostForm.Get("action") != "accept" {
		s.redirectError(w, req, "access_denied", 65004, "User declined to consent to access the app.", "cancel")
		return
	}
	s.dir.mu.RLock()
	missing, mayConsent := s.consentLocked(req, req.userID)
	s.dir.mu.RUnlock()
	if !mayConsent {
		s.redirectError(w, req, "access_denied", 65004, "User declined to consent to access the app.", "cancel")
		return
	}
	s.recordConsent(req, req.userID, missing)
	s.auth.done(req.id)
	s.redirectCode(w, req, req.userID)
}
