// offbox ranges update/show against a local HTTP server on 127.0.0.1 (never AWS's real URL in tests).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, runCli } from './cli.test-helpers.js';

const vendored = readFileSync(join(ROOT, 'data/ip-ranges.json'));
const newer = JSON.stringify({
  syncToken: '1799999999',
  createDate: '2027-01-15-10-00-00',
  prefixes: [{ ip_prefix: '1.2.3.0/24', region: 'us-east-1', service: 'EC2', network_border_group: 'us-east-1' }],
  ipv6_prefixes: [],
});
const hostile = JSON.stringify({ ...JSON.parse(newer), createDate: '2027\u001b]0;pwned\u0007\u001b[2J' });
let server: Server;
let base = '';
const home = mkdtempSync(join(tmpdir(), 'offbox-home-'));

before(async () => {
  server = createServer((request, response) => {
    if (request.url === '/ip-ranges.json') response.end(vendored);
    else if (request.url === '/newer.json') response.end(newer);
    else if (request.url === '/broken.json') response.end('{"prefixes": "nope"}');
    else if (request.url === '/html') response.end('<html>maintenance</html>');
    else if (request.url === '/hostile.json') response.end(hostile);
    else {
      response.statusCode = 404;
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(home, { recursive: true, force: true });
});

describe('offbox ranges', () => {
  it('update saves a valid file, and later runs use it (show, and scan verdicts)', async () => {
    const env = { OFFBOX_HOME: home };
    const update = await runCli(['ranges', 'update', '--url', `${base}/newer.json`], { env });
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stderr, /syncToken 1799999999/);
    assert.ok(existsSync(join(home, 'ip-ranges.json')));
    const show = await runCli(['ranges', 'show'], { env });
    assert.equal(JSON.parse(show.stdout).syncToken, '1799999999');
    // 1.2.3.4 is inside AWS in the updated file: the OTRF theft is no longer "outside AWS".
    const scan = await runCli(['scan', join(ROOT, 'fixtures/cloudtrail/otrf'), '--format', 'ndjson'], { env });
    assert.ok(!scan.stdout.includes('instance-credential-outside-aws'));
  });

  it('escapes what the downloaded document says before it reaches the terminal', async () => {
    const run = await runCli([
      'ranges',
      'update',
      '--url',
      `${base}/hostile.json`,
      '--out',
      join(home, 'hostile.json'),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stderr.includes('\u001b'), 'no raw ESC on stderr');
    assert.match(run.stderr, /created 2027\\x1b\]0;pwned\\x07\\x1b\[2J\)/);
  });

  it('refuses a broken download, an HTML page and a 404, and keeps the file it had', async () => {
    const env = { OFFBOX_HOME: home };
    await runCli(['ranges', 'update', '--url', `${base}/ip-ranges.json`], { env });
    for (const path of ['/broken.json', '/html', '/missing']) {
      const run = await runCli(['ranges', 'update', '--url', `${base}${path}`], { env });
      assert.equal(run.code, 2, `${path}: ${run.stderr}`);
      assert.match(run.stderr, /offbox: .* — /);
    }
    const show = await runCli(['ranges', 'show'], { env });
    assert.equal(JSON.parse(show.stdout).syncToken, '1787433425');
  });
});
