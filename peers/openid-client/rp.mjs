// panva's openid-client, an OpenID Certified relying party library we did not write, against the
// reference server: discovery, code + PKCE through the HTML login (three clients, three
// authentication methods, RS256 and ES256 ID tokens), ID token validation, userinfo, refresh,
// revocation, implicit id_token, client_credentials. Every step is done and validated by the
// library; this script only drives the login forms, as a browser would.
//
//   OH_ISSUER=http://127.0.0.1:9090/api/oidc OH_WEB_SECRET=... OH_WEB_POST_SECRET=... \
//   OH_SERVICE_SECRET=... OH_USER_PASSWORD=... node rp.mjs
import * as client from 'openid-client';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const issuer = new URL(env('OH_ISSUER'));
const user = { username: process.env.OH_USER || 'bob', password: env('OH_USER_PASSWORD') };
// The issuer is http on 127.0.0.1 in tests; the library refuses plain http unless told.
const insecure = { execute: [client.allowInsecureRequests] };

const results = [];
async function step(name, run) {
  const started = performance.now();
  try {
    const detail = await run();
    results.push({ name, ok: true });
    console.log(`ok   ${name}${detail ? `: ${detail}` : ''} (${Math.round(performance.now() - started)} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${error.code ? `${error.code}: ` : ''}${error.message}${error.cause ? ` (${JSON.stringify(error.cause)})` : ''}`);
  }
}

// --- A minimal browser: cookies by name, redirects by hand, forms filled like a user would. ---
const attribute = (tag, name) => tag.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1]?.replaceAll('&amp;', '&').replaceAll('&quot;', '"');

/** Follows `url` through login and consent until the browser is sent to `redirectUri`. */
async function browse(url, redirectUri) {
  const jar = new Map();
  let request = { url: String(url), method: 'GET', body: undefined };
  for (let hops = 0; hops < 12; hops += 1) {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const headers = { ...(cookie ? { cookie } : {}), ...(request.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) };
    const response = await fetch(request.url, { method: request.method, body: request.body, headers, redirect: 'manual' });
    for (const set of response.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    const location = response.headers.get('location');
    if (location) {
      const next = new URL(location, request.url).href;
      if (next.startsWith(redirectUri)) return next;
      request = { url: next, method: 'GET', body: undefined };
      continue;
    }
    const html = await response.text();
    const form = html.match(/<form[^>]*>[\s\S]*?<\/form>/i)?.[0];
    if (response.status !== 200 || !form) throw new Error(`the browser stopped at ${request.url} with status ${response.status}`);
    const fields = new URLSearchParams();
    for (const input of form.match(/<input[^>]*>/gi) || []) {
      const name = attribute(input, 'name');
      if (!name) continue;
      if (name === 'username') fields.set(name, user.username);
      else if (name === 'password') fields.set(name, user.password);
      else fields.set(name, attribute(input, 'value') || '');
    }
    if (/name="decision"/.test(form)) fields.set('decision', 'approve');
    request = { url: new URL(attribute(form.match(/<form[^>]*>/i)[0], 'action') || request.url, request.url).href, method: 'POST', body: fields.toString() };
  }
  throw new Error('too many redirects');
}

/** Code + PKCE + state + nonce for `config`, through the login; returns the token response. */
async function codeFlow(config, redirectUri, scope) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope, state, nonce, prompt: 'consent',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const callback = await browse(url, redirectUri);
  return client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
}

const web = await client.discovery(issuer, 'web-app', undefined, client.ClientSecretBasic(env('OH_WEB_SECRET')), insecure);
const webPost = await client.discovery(issuer, 'web-app-post', undefined, client.ClientSecretPost(env('OH_WEB_POST_SECRET')), insecure);
// The same client in openid-client's implicit mode (response_type=id_token).
const webImplicit = await client.discovery(issuer, 'web-app', undefined, client.ClientSecretBasic(env('OH_WEB_SECRET')), insecure);
client.useIdTokenResponseType(webImplicit);
const spa = await client.discovery(issuer, 'spa-app', undefined, client.None(), insecure);
const service = await client.discovery(issuer, 'service-client', undefined, client.ClientSecretBasic(env('OH_SERVICE_SECRET')), insecure);

let tokens;
await step('discovery', async () => {
  const meta = web.serverMetadata();
  if (meta.issuer !== issuer.href.replace(/\/$/, '')) throw new Error(`issuer ${meta.issuer}`);
  return `issuer ${meta.issuer}, ${meta.id_token_signing_alg_values_supported.join(' ')}`;
});
await step('code + PKCE, client_secret_basic, RS256 ID token', async () => {
  tokens = await codeFlow(web, 'https://app.example.test/callback', 'openid email profile offline_access');
  const claims = tokens.claims();
  return `sub ${claims.sub}, auth_time ${claims.auth_time}, refresh token ${tokens.refresh_token ? 'yes' : 'no'}`;
});
await step('userinfo', async () => {
  const info = await client.fetchUserInfo(web, tokens.access_token, tokens.claims().sub);
  return `email ${info.email}`;
});
let refreshed;
await step('refresh (rotation, ID token validated again)', async () => {
  refreshed = await client.refreshTokenGrant(web, tokens.refresh_token);
  if (!refreshed.refresh_token || refreshed.refresh_token === tokens.refresh_token) throw new Error('the refresh token was not rotated');
  if (refreshed.claims()?.sub !== tokens.claims().sub) throw new Error('the refreshed ID token has another sub');
  return `new refresh token, auth_time ${refreshed.claims().auth_time}`;
});
await step('revocation (RFC 7009), then the refresh token is refused', async () => {
  await client.tokenRevocation(web, refreshed.refresh_token);
  try {
    await client.refreshTokenGrant(web, refreshed.refresh_token);
  } catch (error) {
    if (error.error === 'invalid_grant') return 'invalid_grant after revocation';
    throw error;
  }
  throw new Error('the revoked refresh token still worked');
});
await step('code + PKCE, client_secret_post, ES256 ID token', async () => {
  const t = await codeFlow(webPost, 'https://app2.example.test/callback', 'openid email');
  return `alg ${JSON.parse(Buffer.from(t.id_token.split('.')[0], 'base64url')).alg}, sub ${t.claims().sub}`;
});
await step('code + PKCE, public client (none)', async () => {
  const t = await codeFlow(spa, 'https://spa.example.test/callback', 'openid');
  return `sub ${t.claims().sub}`;
});
await step('implicit id_token (fragment response)', async () => {
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(webImplicit, { redirect_uri: 'https://app.example.test/callback', scope: 'openid', response_type: 'id_token', nonce, state });
  const callback = await browse(url, 'https://app.example.test/callback');
  const claims = await client.implicitAuthentication(webImplicit, new URL(callback), nonce, { expectedState: state });
  return `sub ${claims.sub}`;
});
await step('client_credentials with resource (RFC 8707)', async () => {
  const t = await client.clientCredentialsGrant(service, { scope: 'read', resource: 'https://api.example.test' });
  const aud = JSON.parse(Buffer.from(t.access_token.split('.')[1], 'base64url')).aud;
  if (aud !== 'https://api.example.test') throw new Error(`aud ${aud}`);
  return `token_type ${t.token_type}, expires_in ${t.expires_in}, aud ${aud}`;
});

const failed = results.filter((r) => !r.ok).length;
console.log(`openid-client: ${results.length} steps, ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
