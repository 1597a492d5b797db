// node-oidc-provider configured like the deployment the IDaaS profile describes, as far as the
// library allows: the same client ids, redirect URIs and grants as targets/reference-server.toml,
// so the same target file shape drives both. Nothing here changes the library's behaviour beyond
// its documented configuration options; what it does differently is written in docs/PEERS.md.
//
//   OH_PEER_PORT=9300 OH_WEB_SECRET=... OH_WEB_POST_SECRET=... OH_SERVICE_SECRET=... node provider.mjs
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.OH_PEER_PORT || 9300);
const issuer = `http://127.0.0.1:${port}`;
const secret = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

// Fresh signing keys per start (nothing is persisted): RS256, PS256 (same RSA key type), ES256, EdDSA.
function jwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg, use: 'sig' };
}
const keys = [
  jwk('rsa', { modulusLength: 2048 }, 'RS256'),
  jwk('rsa', { modulusLength: 2048 }, 'PS256'),
  jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
  jwk('ed25519', {}, 'EdDSA'),
];

// Resource servers reachable with `resource` (RFC 8707); their access tokens are RS256 JWTs.
const resourceServers = {
  'https://api.example.test': { scope: 'read write', audience: 'https://api.example.test' },
  'https://billing.example.test': { scope: 'read', audience: 'https://billing.example.test' },
};

const browser = { grant_types: ['authorization_code', 'refresh_token', 'implicit'], response_types: ['code', 'id_token', 'id_token token'] };

const provider = new Provider(issuer, {
  clients: [
    { client_id: 'web-app', client_secret: secret('OH_WEB_SECRET'), token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: ['https://app.example.test/callback'], post_logout_redirect_uris: ['https://app.example.test/'], ...browser },
    { client_id: 'web-app-post', client_secret: secret('OH_WEB_POST_SECRET'), token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: ['https://app2.example.test/callback'], id_token_signed_response_alg: 'ES256', ...browser },
    { client_id: 'spa-app', token_endpoint_auth_method: 'none', redirect_uris: ['https://spa.example.test/callback'],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    { client_id: 'service-client', client_secret: secret('OH_SERVICE_SECRET'), token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
  ],
  jwks: { keys },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'read', 'write'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name', 'preferred_username'] },
  responseTypes: ['code', 'id_token', 'id_token token', 'none'],
  features: {
    devInteractions: { enabled: true },
    claimsParameter: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // As the reference server's default_resource: the service client's tokens are for the
      // billing API when it names none (so they are RS256 JWTs there too).
      defaultResource: async (_ctx, client, oneOf) => oneOf ?? (client.clientId === 'service-client' ? 'https://billing.example.test' : undefined),
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, resource) => {
        const server = resourceServers[resource];
        if (!server) throw new errors.InvalidTarget();
        return { ...server, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  // Every login id is an account (devInteractions takes any login and password).
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.test`, email_verified: true, name: id, preferred_username: id }),
  }),
  ttl: { AccessToken: 3600, ClientCredentials: 3600, IdToken: 3600, RefreshToken: 86400, Interaction: 600, Session: 86400, Grant: 86400 },
});
// Interaction and session cookies over plain http on 127.0.0.1.
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => console.log(`node-oidc-provider listening: ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
