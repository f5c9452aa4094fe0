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
//	mux.Handle("/backchannel-logout", bl.BackChannel()) // 1. the OP's POST (§2.5)
//	mux.Handle("/signout", bl.SignOut())                // 2. the Sign out button
//	handler := sm.LoadAndSave(bl.Guard(mux))            // 3. what the server serves
//	err = bl.Login(w, r, rawIDToken)                    // 4. in the login callback
//
// (mux holds the app's routes. The OP's POST carries no cookie: the guard
// and LoadAndSave pass it through, scs adding only Vary: Cookie.) An app
// that shuts down gracefully calls bl.Close after its server's Shutdown,
// which gives logouts still being retried a last try.
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
// RP.FrontChannel serves an OP that can only reach apps through the
// browser (OpenID Connect Front-Channel Logout 1.0); where the OP offers
// both, back-channel logout stays the one to use, since a front-channel
// logout needs the user's browser on the OP's page and browsers that block
// third-party cookies send none to its frames.
//
// Providers that push Security Event Tokens instead (Google's
// Cross-Account Protection sends RISC events; Okta and other OpenID Shared
// Signals Framework 1.0 transmitters send CAEP's) reach RP.SharedSignals,
// enabled by Config.SharedSignals: the RFC 8935 push endpoint, which
// validates each SET as strictly as a logout token and ends the sessions
// a CAEP session-revoked or a RISC sessions-revoked, tokens-revoked,
// account-disabled or account-purged names, through the same revocations.
//
// With several replicas, set Config.Revocations, Config.Bindings and
// Config.ReplayCache to their Redis forms (the redisadapter and redisreplay
// modules) or their PostgreSQL forms (the pgadapter module). The packages underneath (rp, jwks, replay, sessionadapter,
// middleware) stay for the app that needs more.
package bclogout
