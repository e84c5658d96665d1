// The signed-in shopper: an access token for one user id, kept in this tab's session storage (never the
// function key). Locally the host issues it (`POST /.devhost/token`); in Azure an OpenID Connect provider does.

import { ApiError, call, loadConfig } from "./api.js";

const KEY = "storefront.shopper";

export function current() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    if (saved && saved.expiresAt > Date.now() + 5000) return saved;
  } catch {
    // unreadable: treated as signed out
  }
  sessionStorage.removeItem(KEY);
  return null;
}

export async function signIn(userId) {
  const config = await loadConfig();
  if (config.signIn?.kind !== "devhost") {
    throw new Error("this site signs shoppers in with its identity provider (see docs/deploy.md)");
  }
  let data;
  try {
    ({ data } = await call(config.signIn.tokenUrl, { method: "POST", body: { userId } }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      throw new Error("This host issues no shopper tokens: start it with SHOPPER_AUTH=jwt (make run does).");
    }
    throw error;
  }
  const shopper = {
    userId: data.userId,
    token: data.accessToken,
    expiresAt: Date.now() + data.expiresIn * 1000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(shopper));
  return shopper;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

// The session token of the shopper's last write: sent back on reads so they see their own order at once.
export function sessionToken() {
  return sessionStorage.getItem(`${KEY}.session`) ?? undefined;
}

export function rememberSessionToken(token) {
  if (token) sessionStorage.setItem(`${KEY}.session`, token);
}

export function forgetSessionToken() {
  sessionStorage.removeItem(`${KEY}.session`);
}
