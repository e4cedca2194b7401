// panva's oidc-provider on 127.0.0.1 for the Python tests, with every feature the connector
// uses turned on: discovery, authorization code + PKCE, refresh, client credentials, device
// flow (RFC 8628), revocation (RFC 7009), introspection (RFC 7662), iss in authorization
// responses (RFC 9207), and every client authentication method (client_secret_basic/post,
// private_key_jwt, client_secret_jwt, none).
//
// Reads one JSON object on stdin's first line: {"clients": [oidc-provider client metadata,
// ...], "ttl"?: {"AccessToken": s, "DeviceCode": s}}. The built-in dev interactions serve
// the login and consent pages (any login and password are accepted). Prints one JSON line
// {"port": N, "issuer": "http://127.0.0.1:N"} on stdout once listening; exits on stdin EOF.
'use strict';
const { createServer } = require('node:http');
const readline = require('node:readline');

async function main() {
  const { default: Provider } = await import('oidc-provider');
  const input = readline.createInterface({ input: process.stdin });
  const first = await new Promise((resolve) => input.once('line', resolve));
  const config = JSON.parse(first || '{}');

  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: config.clients ?? [],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      // hands the connector's refresh grant a new refresh token each time (rotation)
    },
    pkce: { required: (ctx, client) => client.tokenEndpointAuthMethod === 'none' },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt',
                        'private_key_jwt', 'none'],
    ttl: { AccessToken: 3600, ClientCredentials: 3600, DeviceCode: 600, ...(config.ttl ?? {}) },
    // Refresh tokens whenever the client may use the refresh grant (not only for
    // offline_access with prompt=consent), as most providers the connector meets do.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Consent once per login, granted for what was asked: the browser only has to log in.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (!ctx.oidc.session.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid offline_access read write');
      grant.addResourceScope?.(issuer, 'read write');
      await grant.save();
      return grant;
    },
    findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    cookies: { keys: ['cdata-oauth-test-cookie-key'] },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(JSON.stringify({ port, issuer }) + '\n');
  input.on('close', () => { server.close(); process.exit(0); });
}

main().catch((error) => { console.error(error); process.exit(1); });
