// A real OpenID provider for tests: npm's oidc-provider on a loopback port.
//
// Started by news_testing.oidc.OIDCProvider with its configuration in NEWS_OIDC_CONFIG (JSON):
// {"port": 0, "clients": [{"client_id", "client_secret", "scope"}],
//  "resources": {"<resource indicator>": {"scope", "alg", "ttl"}}}
// It issues RFC 9068 JWT access tokens for the client_credentials grant with resource
// indicators. Test controls live under /__control/: "stats" (requests per path), "rotate"
// (new signing keys; ?keep=1 keeps the old ones published), "export" (the private keys, to
// restart with them), "reset" (zero the counters).
// Prints one JSON line {"ready": true, "issuer": ...} on stdout once it listens.
import crypto from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(process.env.NEWS_OIDC_CONFIG || '{}');
const counts = {};
let keys = [];
let provider;
let issuer;

function newKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return [
    { ...rsa.export({ format: 'jwk' }), kid: `rsa-${crypto.randomUUID()}`, use: 'sig', alg: 'RS256' },
    { ...ec.export({ format: 'jwk' }), kid: `ec-${crypto.randomUUID()}`, use: 'sig', alg: 'ES256' },
  ];
}

function makeProvider() {
  const resources = config.resources || {};
  const defaultResource = Object.keys(resources)[0];
  const p = new Provider(issuer, {
    clients: (config.clients || []).map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      scope: c.scope,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: c.auth_method || 'client_secret_basic',
    })),
    jwks: { keys },
    scopes: [...new Set(Object.values(resources).flatMap((r) => (r.scope || '').split(' ')))],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => defaultResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          const r = resources[indicator];
          if (!r) throw new errors.InvalidTarget();
          return {
            scope: r.scope,
            audience: indicator,
            accessTokenTTL: r.ttl || 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: r.alg || 'RS256' } },
          };
        },
      },
    },
  });
  p.on('server_error', (ctx, err) => console.error(JSON.stringify({ server_error: String(err) })));
  return p;
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path.startsWith('/__control/')) {
    res.setHeader('content-type', 'application/json');
    if (path === '/__control/stats') {
      res.end(JSON.stringify({ counts, kids: keys.map((k) => k.kid) }));
    } else if (path === '/__control/rotate') {
      const keep = req.url.includes('keep=1');
      keys = keep ? [...newKeys(), ...keys] : newKeys();
      provider = makeProvider();
      res.end(JSON.stringify({ kids: keys.map((k) => k.kid) }));
    } else if (path === '/__control/export') {
      res.end(JSON.stringify({ keys }));
    } else if (path === '/__control/reset') {
      for (const name of Object.keys(counts)) delete counts[name];
      res.end('{}');
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
    return;
  }
  counts[path] = (counts[path] || 0) + 1;
  provider.callback()(req, res);
});

server.listen(config.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  keys = config.keys || newKeys();
  provider = makeProvider();
  console.log(JSON.stringify({ ready: true, issuer, port }));
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
