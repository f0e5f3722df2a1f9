// A real OpenID Connect provider on loopback for the ProConnect tests: panva's oidc-provider, configured as
// ProConnect behaves (its scopes and claims: given_name, usual_name, siret, uid, idp_id; a userinfo answer
// that is a signed JWT; RS256 keys published as a JWKS; client_secret_post).
// Only the login and consent screens are replaced: the person named by `login_hint` is logged in and every
// asked scope is granted at once, so that a test drives the real authorization-code redirects unattended.
// Configuration: the JSON of OIDC_TEST_CONFIG = {client_id, client_secret, redirect_uris, accounts: {sub: claims}}.
// Listens on 127.0.0.1 on a free port and prints one JSON line {"issuer": ...} when ready.
import { randomBytes } from 'node:crypto';
import http from 'node:http';

import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG);

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'guichet-test', alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const claimsByScope = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  given_name: ['given_name'],
  usual_name: ['usual_name'],
  siret: ['siret'],
  uid: ['uid'],
  idp_id: ['idp_id'],
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: config.redirect_uris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
    userinfo_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  scopes: Object.keys(claimsByScope),
  claims: claimsByScope,
  features: { devInteractions: { enabled: false }, jwtUserinfo: { enabled: true } },
  pkce: { required: () => false },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const claims = config.accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, async claims() { return { sub, ...claims }; } };
  },
});

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  let result;
  if (prompt.name === 'login') {
    if (!config.accounts[params.login_hint]) {
      ctx.status = 400;
      ctx.body = `unknown login_hint ${params.login_hint}`;
      return undefined;
    }
    result = { login: { accountId: params.login_hint } };
  } else {
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    result = { consent: { grantId: await grant.save() } };
  }
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.redirect(redirectTo);
  return undefined;
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));
server.on('request', provider.callback());
console.log(JSON.stringify({ issuer }));
