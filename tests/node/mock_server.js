// oauth2-mock-server on 127.0.0.1 for the Python tests, plus a small control API:
//   GET    /__requests        every request seen (method, path, query, headers, form body)
//   DELETE /__requests        forget them and any queued answer tweaks
//   POST   /__next_response   JSON {status?, body?, merge?, drop?} applied to the next
//                             token answer (queue), e.g. {"drop": ["refresh_token"]}
// Prints one JSON line {"port": N} on stdout once listening; stops on SIGTERM or stdin EOF.
'use strict';
const { createServer } = require('node:http');

async function main() {
  const { OAuth2Service, OAuth2Issuer } = await import('oauth2-mock-server');
  const issuer = new OAuth2Issuer();
  await issuer.keys.generate('RS256');
  const service = new OAuth2Service(issuer);

  const seen = [];
  const tweaks = [];

  service.on('beforeResponse', (response, req) => {
    if (req.__record) req.__record.form = { ...req.body };
    const tweak = tweaks.shift();
    if (!tweak) return;
    if (tweak.status !== undefined) response.statusCode = tweak.status;
    if (tweak.body !== undefined) response.body = tweak.body;
    if (tweak.merge) Object.assign(response.body, tweak.merge);
    for (const name of tweak.drop ?? []) delete response.body[name];
  });

  function readJson(req) {
    return new Promise((resolve, reject) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => { text += chunk; });
      req.on('end', () => { try { resolve(text ? JSON.parse(text) : {}); } catch (e) { reject(e); } });
    });
  }

  function send(res, status, value) {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/__requests') {
      if (req.method === 'DELETE') { seen.length = 0; tweaks.length = 0; send(res, 200, {}); }
      else send(res, 200, seen);
      return;
    }
    if (url.pathname === '/__next_response' && req.method === 'POST') {
      try { tweaks.push(await readJson(req)); send(res, 200, { queued: tweaks.length }); }
      catch (e) { send(res, 400, { error: String(e) }); }
      return;
    }
    const record = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      form: null,
    };
    seen.push(record);
    req.__record = record;
    service.requestHandler(req, res);
  });

  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    issuer.url = `http://127.0.0.1:${port}`;
    process.stdout.write(JSON.stringify({ port }) + '\n');
  });

  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((error) => {
  process.stderr.write(`mock_server.js failed: ${error.stack || error}\n`);
  process.exit(1);
});
