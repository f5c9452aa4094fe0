// Package bclogout signs users out of a Go web app when their OpenID
// Provider ends their session, as OpenID Connect Back-Channel Logout 1.0
// (https://openid.net/specs/openid-connect-backchannel-1_0.html) asks of a
// relying party, and keeps them signed out.
//
// It is the front door: it takes what an app knows (the OP's issuer, its
// client ID, its session library) and gives back the four things the app
// wires in:
//
//	bl, err := bclogout.New(ctx, bclogout.Config{
//		Issuer:   "https://op.example.com",
//		ClientID: "my-app",
//		Sessions: scsadapter.New(sm), // or gorillaadapter.New(store, "session")
//		PostLogoutRedirectURI: "https://app.example.com/signout",
//	})
//	if err != nil {
//		return err
//	}
//	mux.Handle("/signout", bl.SignOut())                   // 1. the Sign out button
//	handler := bl.Endpoints(sm.LoadAndSave(bl.Guard(mux))) // 2. what the server serves
//	err = bl.Login(w, r, rawIDToken)                       // 3. in the login callback
//
// (mux holds the app's routes.) Endpoints serves the OP's requests, here
// the back-channel logout at /backchannel-logout (Config.BackChannelPath),
// ahead of the session loading and the guard, and hands every other
// request on. An app that shuts down gracefully calls bl.Close after its
// server's Shutdown, which gives logouts still being retried a last try.
//
// What happens to a logout: the OP POSTs a signed logout token to the
// endpoint; [RP] validates it (§2.6, the rp package), answers 400 to a
// replay, records a revocation of the OP session (sid) or of every session
// of the user (sub), deletes the data of the local sessions bound to it
// where the session library can, remembers the token's jti, and answers
// 200 (§2.8). If the session store fails, the OP is told 400 and the RP
// retries the logout itself, since most OPs send a logout token once.
//
// Why a guard as well as deletion: a request that loaded the session before
// the logout and saves it afterwards writes it back, a login callback still
// in flight binds its session after the logout that names it, and cookie
// sessions cannot be deleted at all. The guard ends, at its next request,
// any session whose login is not after a revocation that names it; Login
// refuses a login that was logged out while it was in flight.
//
// Signing out from the app: RP.SignOut is the route of the "Sign out"
// button. Its POST revokes the session's OP session through the same
// revocations (so it ends at once in every tab and at every replica) and
// redirects to the OP's end_session_endpoint (OpenID Connect RP-Initiated
// Logout 1.0) with the ID token Login kept as id_token_hint; the OP ends
// its session, tells the other apps and sends the browser back to the
// route (Config.PostLogoutRedirectURI), which checks the state and lands
// it on the signed-out page.
//
// # Front-channel logout
//
// With Config.FrontChannelPath, Endpoints also serves an OP that can only
// reach apps through the browser (OpenID Connect Front-Channel Logout
// 1.0): its sign-out page loads that path in an iframe with iss and sid
// (§2), and the OP session's logout takes the same pipeline as a logout
// token. Where the OP offers both, back-channel logout stays the one to
// use: a front-channel logout happens only if the user's browser is on the
// OP's page and loads the frame, and browsers that block third-party
// cookies send none to it. So the endpoint needs no cookie: it acts on iss
// and sid alone, which also means anyone who learns a sid can sign that
// session out (never in). Since anyone can call it, and each call with a
// well-formed sid is kept as a revocation for the session lifetime (it
// must be: the login it ends may be in flight, bound at another replica,
// or a cookie session that outlives a restart), rate-limit this path in
// front of Endpoints, as any unauthenticated write.
//
// A request without sid (or with one over 1 KiB), or whose iss is present
// and not exactly Config.Issuer, is answered 400 and revokes nothing: a
// logout must name its session (an OP that cannot send sid,
// frontchannel_logout_session_supported false, cannot be served without
// the third-party cookies above). A request with sid and no iss is
// Config.Issuer's, the one issuer this RP serves: Microsoft Entra ID sends
// sid alone. It carries no iat, so its revocation is dated by this RP's
// clock plus the OP clock skew (a minute), the one rule for dates without
// an OP date: a login the OP dated up to a minute ahead is still ended,
// and a sign-in to the same OP session within that minute after the
// logout is refused too (fail closed; the user signs in again).
//
// # Shared Signals
//
// Providers that push Security Event Tokens instead (Google's
// Cross-Account Protection sends RISC events; Okta and other OpenID Shared
// Signals Framework 1.0 transmitters send CAEP's) reach the RFC 8935 push
// endpoint that Endpoints serves with Config.SharedSignals, which
// validates each SET as strictly as a logout token and ends the sessions
// a CAEP session-revoked or a RISC sessions-revoked, tokens-revoked,
// account-disabled or account-purged names, through the same revocations.
//
// # Several replicas
//
// With several replicas, set Config.Revocations, Config.Bindings and
// Config.ReplayCache to their Redis forms (the redisadapter and redisreplay
// modules) or their PostgreSQL forms (the pgadapter module). The packages
// underneath (rp, jwks, replay, sessionadapter, middleware) stay for the
// app that needs more.
package bclogout
