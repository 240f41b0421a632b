// Issue 10 item 5 / rule 4: the install job's start script (commands.startInstallJob) with hostile values in
// every slot: run by bash as the guest agent would, in a private mount namespace (tmpfs over /var/lib/rancher
// and /etc/rancher), with a stub curl whose "install.sh" records its argv and environment. Every value must
// arrive as exactly itself and nothing in a value may run. Root only (unshare -m), like the lab.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { installJobDir, startInstallJob } from '../../src/activities/k3s/commands';

const dir = mkdtempSync(join(tmpdir(), 'install-quote-'));
const CANARY = join(dir, 'canary');
const STUBS = join(dir, 'bin');
execFileSync('mkdir', ['-p', STUBS]);
// curl -sfL -o <file> <url>: writes an install.sh that records its argv and the variables it was given
writeFileSync(join(STUBS, 'curl'), [
  '#!/bin/bash',
  'while [ $# -gt 1 ]; do [ "$1" = -o ] && out=$2; shift; done',
  'printf "%s" "$1" > "$(dirname "$out")/url"',
  `printf '#!/bin/sh\\nfor a in "$@"; do printf "%%s\\\\000" "$a"; done > "$(dirname "$0")/argv"\\nprintf "%%s\\\\000" "$INSTALL_K3S_VERSION" "$K3S_URL" "$K3S_TOKEN" > "$(dirname "$0")/env"\\n' > "$out"`,
].join('\n'));
chmodSync(join(STUBS, 'curl'), 0o755);

const META = ["'", '"', '\\', '$', '(', ')', '`', ';', '|', '&', '\n', ' ', '\t', '*', '?', '~', '#', '!', '{', '}', '<', '>', '=', 'a', '-'];
const hostile = fc
  .oneof(
    { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...META), minLength: 1, maxLength: 16 }) },
    fc.constantFrom(`$(touch ${CANARY})`, `\`touch ${CANARY}\``, `x; touch ${CANARY}`, `'; touch ${CANARY}; '`, `"$(touch ${CANARY})"`, '-', '--'),
  )
  .filter((s) => !s.includes('\0') && s.trim() !== '');

function runInSandbox(script: string, token: string, jobKey: string): { argv: string[]; env: string[]; url: string } {
  const J = installJobDir(jobKey);
  const wrapper = [
    'set -e',
    'mount -t tmpfs lab /var/lib/rancher', 'mount -t tmpfs lab /etc/rancher',
    `export PATH=${STUBS}:$PATH`,
    'printf "%s\\n" "$TOKEN" | bash -c "$SCRIPT" >/dev/null',
    `for i in $(seq 100); do [ -f ${J}/rc ] && break; sleep 0.05; done`,
    `cat ${J}/argv; printf '\\001'; cat ${J}/env; printf '\\001'; cat ${J}/url`,
  ].join('\n');
  const out = execFileSync('unshare', ['-m', 'bash', '-c', wrapper], { env: { ...process.env, SCRIPT: script, TOKEN: token }, encoding: 'utf8' });
  const [argv = '', env = '', url = ''] = out.split('\x01');
  return { argv: argv.split('\0').slice(0, -1), env: env.split('\0').slice(0, -1), url };
}

describe('the install job start script with hostile values', { skip: process.getuid?.() !== 0 ? 'needs root (unshare -m)' : false }, () => {
  it('hands install.sh exactly its flags, version, server URL and the stdin token; nothing else runs', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, fc.array(hostile, { maxLength: 3 }), fc.stringMatching(/^[A-Za-z0-9:._+/=-]{16,40}$/), (url, version, serverUrl, flags, token) => {
        const jobKey = 'abcdef012345';
        const script = startInstallJob({ installScriptUrl: url, version, serverUrl, serverFlags: flags, jobKey });
        const got = runInSandbox(script, token, jobKey);
        assert.deepEqual(got.argv, ['server', ...flags]);
        assert.deepEqual(got.env, [version, serverUrl, token]);
        assert.equal(got.url, url);
        assert.ok(!script.includes(token), 'the token is not in the script (argv of bash and qm)');
        assert.ok(!existsSync(CANARY), `a value was executed: ${CANARY} exists`);
      }),
      { numRuns: 40 },
    );
  });
});
