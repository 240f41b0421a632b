// Issue 5 item 5: shell metacharacters, newlines and quotes in every value that can reach a command
// never reach a shell unquoted. Property: the command lines the runbook renders (etcdctl, kubectl,
// the K3s install pipeline, qm/pct wrappers), filled with hostile values in every slot, are parsed
// by bash and by dash back into exactly the intended argv and environment, and nothing else runs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Inventory } from '../../src/inventory/schema';
import { etcdctl, kubectlDeleteNode } from '../../src/activities/k3s/commands';
import { buildCommand } from '../../src/activities/exec/targets';

const dir = mkdtempSync(join(tmpdir(), 'quote-prop-'));
const CANARY = join(dir, 'canary');
const META = ["'", '"', '\\', '$', '(', ')', '`', ';', '|', '&', '\n', '\r', ' ', '\t', '*', '?', '~', '#', '!', '{', '}', '[', ']', '<', '>', '=', '%', '^', 'a', '-', '\u00e9', '\u00a0', '\u001b'];
// \0 cannot be in an argv (shellQuote refuses it); \x01 is this test's record separator.
const hostile = fc
  .oneof(
    { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...META), maxLength: 24 }) },
    fc.string({ unit: 'grapheme', maxLength: 24 }),
    fc.string({ unit: 'binary-ascii', maxLength: 24 }),
    fc.constantFrom(`$(touch ${CANARY})`, `\`touch ${CANARY}\``, `x; touch ${CANARY}`, `x\ntouch ${CANARY}`, `'; touch ${CANARY}; '`, `"$(touch ${CANARY})"`, `\${IFS}`, 'A=b', '-', '--', ''),
  )
  .filter((s) => !s.includes('\0') && !s.includes('\x01'));

interface Case {
  node: string;
  endpoint: string;
  tls: { caCert: string; cert: string; key: string };
  args: string[];
  install: { installScriptUrl: string; version: string; serverUrl: string; token: string; serverFlags: string[] };
  script: string;
  vmid: number;
}
const caseArb: fc.Arbitrary<Case> = fc.record({
  node: hostile,
  endpoint: hostile,
  tls: fc.record({ caCert: hostile, cert: hostile, key: hostile }),
  args: fc.array(hostile, { maxLength: 4 }),
  install: fc.record({ installScriptUrl: hostile, version: hostile, serverUrl: hostile, token: hostile, serverFlags: fc.array(hostile, { maxLength: 4 }) }),
  script: hostile,
  vmid: fc.integer({ min: 100, max: 999_999_999 }),
});

/** The command lines of one case and the argv (plus env for the install) each must produce. */
function render(c: Case): { line: string; expect: string[] }[] {
  const inv = { k3s: { etcd: c.tls } } as unknown as Inventory;
  return [
    { line: etcdctl(inv, c.endpoint, c.args), expect: ['etcdctl', '--cacert', c.tls.caCert, '--cert', c.tls.cert, '--key', c.tls.key, '--endpoints', c.endpoint, '--dial-timeout', '3s', '--command-timeout', '5s', ...c.args] },
    { line: kubectlDeleteNode(c.node), expect: ['kubectl', 'delete', 'node', c.node] },
    { line: buildCommand({ kind: 'vm', host: 'still-fawn', vmid: c.vmid }, c.script, 90_000), expect: ['qm', 'guest', 'exec', String(c.vmid), '--timeout', '90', '--', 'bash', '-c', c.script] },
    { line: buildCommand({ kind: 'lxc', host: 'pve', ctid: c.vmid }, c.script), expect: ['pct', 'exec', String(c.vmid), '--', 'bash', '-c', c.script] },
  ];
}

// Stand-ins that print their argv (NUL-separated, \x01 at the end) instead of running anything.
// `sh` reads curl's output from the pipe first, then prints the variables set for it and its argv.
const PRELUDE = [
  `p() { for a in "$@"; do printf '%s\\000' "$a"; done; }`,
  `etcdctl() { p etcdctl "$@"; printf '\\001'; }`,
  `kubectl() { p kubectl "$@"; printf '\\001'; }`,
  `qm() { p qm "$@"; printf '\\001'; }`,
  `pct() { p pct "$@"; printf '\\001'; }`,
  `curl() { p curl "$@"; }`,
  `sh() { cat; p sh "INSTALL_K3S_VERSION=$INSTALL_K3S_VERSION" "K3S_URL=$K3S_URL" "K3S_TOKEN=$K3S_TOKEN" "$@"; printf '\\001'; }`,
].join('\n');

function runBatch(shell: string, lines: string[]): string[][] {
  const out = execFileSync(shell, ['-c', `${PRELUDE}\n${lines.join('\n')}\n`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, cwd: dir });
  return out.split('\x01').slice(0, -1).map((rec) => rec.split('\0').slice(0, -1));
}

describe('rendered commands with hostile values, property-based', () => {
  for (const shell of ['bash', 'dash']) {
    it(`${shell} parses every rendered command back to exactly its argv; nothing else runs (1000 cases, 5 commands each)`, (t) => {
      let commands = 0;
      fc.assert(
        fc.property(fc.array(caseArb, { minLength: 50, maxLength: 50 }), (cases) => {
          const rendered = cases.flatMap(render);
          const got = runBatch(shell, rendered.map((r) => r.line));
          assert.equal(got.length, rendered.length, 'one record per command: no command was split or swallowed');
          rendered.forEach((r, i) => assert.deepEqual(got[i], r.expect, r.line));
          assert.ok(!existsSync(CANARY), `a value was executed: ${CANARY} exists`);
          commands += rendered.length;
        }),
        { numRuns: 20 },
      );
      t.diagnostic(`${commands} command lines checked under ${shell}`);
    });
  }
});
