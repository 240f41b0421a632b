// Issue 5 item 5, bad input: property-based tests (fast-check) that malformed workflow inputs,
// approval payloads and inventories are refused with a clear message, and that whatever is accepted
// is well-formed. The pure checks here are the ones the workflow and the worker run before any
// command (the e2e twin, test/e2e/bad-input.test.ts, shows the lab's audit log stays empty).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { ApplicationFailure } from '@temporalio/common';
import { checkRejoinInput, REJOIN_CHANGE_STEPS } from '../../src/workflows/k3s-rejoin-input';
import { normalizeSignature, refusal, type DecisionContext, type DecisionKind, type GateView } from '../../src/workflows/runbook/decision';
import type { DecideInput } from '../../src/workflows/runbook/messages';
import { APPROVERS, brokenRules, DIGESTS, decisionArb, gateArb, RUN } from '../helpers/decision-arbitraries';
import { formatPath, loadInventory, parseInventory } from '../../src/inventory/load';

const NODE_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const USER_RE = /^[\w.@-]{1,64}$/;
const DURATION_RE = /^\d{1,7}(s|m|h|d)$/;

/** Characters that mean something to a shell, YAML or JSON, plus some unicode and control characters. */
const META = ["'", '"', '\\', '$', '(', ')', '`', ';', '|', '&', '\n', '\r', ' ', '\t', '*', '?', '~', '#', '!', '{', '}', '[', ']', '<', '>', '=', '%', ':', ',', '\u00e9', '\u00a0', '\u001b', '\u007f', 'A', 'a', '-', '0', '.', '/'];
export const nastyString = fc.oneof(
  fc.string({ unit: fc.constantFrom(...META), maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary-ascii', maxLength: 30 }),
  fc.constantFrom('k3s-vm-still-fawn; reboot', 'k3s-vm-still-fawn\nreboot', '$(reboot)', '`reboot`', "k3s'vm", 'K3S-VM', '-rf', 'a-', '-a', 'a'.repeat(64), ''),
);
/** Any JSON-ish value, including the wrong types for every field. */
const anyValue = fc.oneof(fc.anything({ maxDepth: 2 }), nastyString, fc.double(), fc.integer());

function refusedAsBadInput(input: unknown): string {
  try {
    checkRejoinInput(input);
  } catch (e) {
    assert.ok(e instanceof ApplicationFailure, `not an ApplicationFailure: ${String(e)}`);
    assert.equal(e.type, 'BadInput');
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, /^bad input: /);
    return e.message;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

/** The rejoin's points of no return: never pre-approved (issue 11), they always wait at their gate. */
const REJOIN_IRREVERSIBLE = ['remove-stale-node', 'uninstall-k3s'];
const REJOIN_REVERSIBLE = REJOIN_CHANGE_STEPS.filter((s) => !REJOIN_IRREVERSIBLE.includes(s));

const validInput = fc.record(
  {
    node: fc.stringMatching(NODE_RE),
    dryRun: fc.boolean(),
    readyTimeoutSeconds: fc.integer({ min: 10, max: 86_400 }),
    preApproved: fc.subarray(REJOIN_REVERSIBLE),
    requestedBy: fc.stringMatching(USER_RE),
    gateDeadline: fc.stringMatching(DURATION_RE),
    startSignature: fc.base64String({ minLength: 4, maxLength: 400 }).map((b) => `-----BEGIN SSH SIGNATURE-----\n${b.match(/.{1,70}/g)!.join('\n')}\n-----END SSH SIGNATURE-----\n`),
  },
  { requiredKeys: ['node'] },
);

/** One field made bad, and the words the refusal must contain to point at it. */
const badField: fc.Arbitrary<[string, unknown, RegExp]> = fc.oneof(
  anyValue.filter((v) => typeof v !== 'string' || !NODE_RE.test(v)).map((v) => ['node', v, /"node" must be a K3s node name/] as [string, unknown, RegExp]),
  anyValue.filter((v) => v !== undefined && typeof v !== 'boolean').map((v) => ['dryRun', v, /"dryRun" must be true or false/] as [string, unknown, RegExp]),
  fc
    .oneof(anyValue, fc.integer({ min: -1e6, max: 9 }), fc.integer({ min: 86_401 }), fc.double({ min: 10.0001, max: 86_399.9, noInteger: true }), fc.constantFrom(NaN, Infinity, -Infinity))
    .filter((v) => v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 10 && v <= 86_400))
    .map((v) => ['readyTimeoutSeconds', v, /"readyTimeoutSeconds" must be a whole number/] as [string, unknown, RegExp]),
  fc
    .oneof(anyValue, fc.array(anyValue, { minLength: 1, maxLength: 3 }), fc.array(fc.constantFrom(...REJOIN_CHANGE_STEPS, 'read-inventory', 'Install-k3s', 'install-k3s '), { minLength: 1 }))
    .filter((v) => v !== undefined && !(Array.isArray(v) && v.every((s) => typeof s === 'string' && REJOIN_REVERSIBLE.includes(s))))
    .map((v) => {
      // a list of real change steps is refused for the point of no return it names, anything else for its shape
      const steps = Array.isArray(v) && v.every((s) => typeof s === 'string' && REJOIN_CHANGE_STEPS.includes(s));
      return ['preApproved', v, steps ? /"preApproved" names (remove-stale-node|uninstall-k3s).*: a point of no return is never pre-approved/ : /"preApproved" must list change steps/] as [string, unknown, RegExp];
    }),
  anyValue.filter((v) => v !== undefined && (typeof v !== 'string' || !USER_RE.test(v))).map((v) => ['requestedBy', v, /"requestedBy" must be a user name/] as [string, unknown, RegExp]),
  anyValue.filter((v) => v !== undefined && (typeof v !== 'string' || !DURATION_RE.test(v))).map((v) => ['gateDeadline', v, /"gateDeadline" must be a duration/] as [string, unknown, RegExp]),
  fc
    .oneof(anyValue, fc.constantFrom('-----BEGIN SSH SIGNATURE-----\nAAAA$(reboot)\n-----END SSH SIGNATURE-----', `-----BEGIN SSH SIGNATURE-----\n${'A'.repeat(4100)}\n-----END SSH SIGNATURE-----`))
    .filter((v) => v !== undefined && normalizeSignature(v) === undefined)
    .map((v) => ['startSignature', v, /"startSignature" must be the armored SSH SIGNATURE/] as [string, unknown, RegExp]),
);

describe('bad workflow input (k3sRejoin), property-based', () => {
  it('one malformed field in an otherwise good input: refused, non-retryable, naming that field (2000 cases)', (t) => {
    let refused = 0;
    fc.assert(
      fc.property(validInput, badField, (good, [field, value, why]) => {
        const input = { ...good, [field]: value };
        if (value === undefined && field !== 'node') return; // an absent optional field is fine
        assert.match(refusedAsBadInput(input), why);
        refused++;
      }),
      { numRuns: 2000 },
    );
    t.diagnostic(`${refused} malformed inputs refused`);
    assert.ok(refused >= 1900);
  });

  it('unknown fields and non-objects are refused with the allowed fields listed (1000 cases)', () => {
    const allowed = ['node', 'dryRun', 'readyTimeoutSeconds', 'preApproved', 'requestedBy', 'gateDeadline', 'startSignature'];
    fc.assert(
      fc.property(
        validInput,
        fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !allowed.includes(k)),
        anyValue,
        (good, key, value) => {
          const input = JSON.parse(JSON.stringify({ ...good })) as Record<string, unknown>;
          Object.defineProperty(input, key, { value, enumerable: true, configurable: true, writable: true });
          assert.match(refusedAsBadInput(input), /unknown field\(s\) .*\(allowed: node, readyTimeoutSeconds, dryRun/s);
        },
      ),
      { numRuns: 700 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.constant(null), fc.array(anyValue), nastyString, fc.double(), fc.boolean()), (v) => {
        assert.match(refusedAsBadInput(v), /expected one JSON object/);
      }),
      { numRuns: 300 },
    );
  });

  it('whatever is accepted is well-formed: the node name cannot carry a shell metacharacter (3000 cases)', (t) => {
    const shapes = fc.oneof(
      anyValue,
      validInput,
      fc.tuple(validInput, badField).map(([g, [f, v]]) => ({ ...g, [f]: v })),
      fc.dictionary(fc.constantFrom('node', 'dryRun', 'readyTimeoutSeconds', 'preApproved', 'requestedBy', 'gateDeadline', 'startSignature'), anyValue),
    );
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(shapes, (input) => {
        let out: ReturnType<typeof checkRejoinInput>;
        try {
          out = checkRejoinInput(input);
        } catch (e) {
          assert.ok(e instanceof ApplicationFailure && e.type === 'BadInput' && /^bad input: /.test(e.message), String(e));
          refused++;
          return;
        }
        accepted++;
        assert.match(out.node, NODE_RE);
        assert.ok(!/[^a-z0-9-]/.test(out.node));
        assert.equal(typeof out.dryRun, 'boolean');
        assert.ok(Number.isInteger(out.readyTimeoutSeconds) && out.readyTimeoutSeconds >= 10 && out.readyTimeoutSeconds <= 86_400);
        assert.ok(out.preApproved.every((s) => REJOIN_REVERSIBLE.includes(s)), `a point of no return was pre-approved: ${out.preApproved.join(', ')}`);
        if (out.requestedBy !== undefined) assert.match(out.requestedBy, USER_RE);
        if (out.gateDeadline !== undefined) assert.match(out.gateDeadline, DURATION_RE);
        if (out.startSignature !== undefined) assert.notEqual(normalizeSignature(out.startSignature), undefined);
      }),
      { numRuns: 3000 },
    );
    t.diagnostic(`${refused} refused, ${accepted} accepted (every accepted one well-formed)`);
    assert.ok(accepted > 100 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
  });
});

// ---- approval payloads (the decide update's validator and the approve/reject/done/abort signals) ----
// Names mode (approvals.identity: names, a single trusted operator); signatures mode is in
// test/unit/signed-decision-property.test.ts. The rules are written out in test/helpers/decision-arbitraries.ts.

const NAMES: DecisionContext = { identity: 'names', approvers: APPROVERS, run: RUN };

describe('bad approval payloads (names mode), property-based', () => {
  it('refusal() applies exactly the rules: every malformed, oversized, foreign, stale or repeated decision is refused with a reason naming a rule it breaks (4000 cases)', (t) => {
    let refused = 0;
    let applied = 0;
    fc.assert(
      fc.property(gateArb, decisionArb({ signatures: false }), fc.boolean(), (gate, d, withGate) => {
        const decision = (typeof d === 'object' && d !== null ? (d as Record<string, unknown>).decision : undefined) as DecisionKind;
        const reason = refusal(withGate ? gate : undefined, d as DecideInput, decision, NAMES);
        const broken = brokenRules(withGate ? gate : undefined, d, decision, NAMES);
        if (broken.length === 0) {
          assert.equal(reason, undefined, `refused a good decision: ${JSON.stringify(d)}`);
          applied++;
          return;
        }
        assert.equal(typeof reason, 'string', `not refused: ${JSON.stringify(d)} (breaks ${broken.map((r) => r.reason).join(', ')})`);
        assert.ok(broken.some((r) => r.reason.test(reason!)), `"${reason}" names none of the broken rules ${broken.map((r) => r.reason).join(', ')}`);
        // a refusal never tells a stranger who may approve (issue 11)
        assert.ok(!reason!.includes(APPROVERS.join(', ')), reason);
        refused++;
      }),
      { numRuns: 4000 },
    );
    t.diagnostic(`${refused} bad decisions refused, ${applied} good ones applied`);
    assert.ok(refused > 3000 && applied > 25, `refused ${refused}, applied ${applied}`);
  });

  it('an approver not on the list is refused whatever the name looks like, and the refusal does not list the valid names (1000 cases)', () => {
    fc.assert(
      fc.property(nastyString.filter((s) => s.trim() !== '' && !APPROVERS.includes(s)), (by) => {
        const gate: GateView = { step: 'remove-stale-node', kind: 'approval', digest: DIGESTS[0], approvedBy: [] };
        const reason = refusal(gate, { step: 'remove-stale-node', by }, 'approve', NAMES) ?? '';
        assert.match(reason, /is not on the approvers list/);
        for (const name of APPROVERS) if (!by.includes(name)) assert.ok(!reason.includes(name), `the refusal names ${name}: ${reason}`);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- inventories ----

function baseInventory() {
  return {
    ssh: { user: 'root', privateKeyPath: '/lab/ssh/id_ed25519', knownHostsPath: '/lab/ssh/known_hosts' },
    hosts: {
      'pumped-piglet': { address: '127.0.10.1', port: 2222 },
      'still-fawn': { address: '127.0.10.2', port: 2222, hostKeyFingerprints: ['SHA256:' + 'A'.repeat(43)] },
    },
    k3s: {
      installScriptUrl: 'http://127.0.10.200:8080/install.sh',
      apiPort: 6443,
      etcd: { caCert: '/var/lib/rancher/k3s/server/tls/etcd/server-ca.crt' },
      nodes: {
        'k3s-vm-pumped-piglet': { host: 'pumped-piglet', vmid: 105, address: '127.0.11.1', etcdEndpoint: 'https://127.0.11.1:2379' },
        'k3s-vm-still-fawn': { host: 'still-fawn', vmid: 108, address: '127.0.11.2', gpuPassthrough: true },
      },
    },
    approvers: ['alice', 'bob'],
    approvals: { twoPersonIrreversible: true, deadline: '4h', allowedSigners: '/etc/homelab-runbooks/allowed_signers' },
    notify: { url: 'https://ntfy.sh/homelab', format: 'ntfy' },
  };
}
type Inv = ReturnType<typeof baseInventory> & Record<string, unknown>;

const notNode = nastyString.filter((s) => !NODE_RE.test(s) && s !== '__proto__');
const notInt = fc.oneof(fc.double({ noInteger: true }), nastyString, fc.boolean(), fc.constant(null));

/** A mutation of the good inventory and the problem path it must be reported under. */
const mutations: fc.Arbitrary<{ path: (string | number)[]; apply: (inv: Inv) => void }>[] = [
  notNode.map((name) => ({ path: ['hosts', name], apply: (inv) => void ((inv.hosts as Record<string, unknown>)[name] = { address: '127.0.0.9' }) })),
  notNode.map((name) => ({ path: ['k3s', 'nodes', name], apply: (inv) => void ((inv.k3s.nodes as Record<string, unknown>)[name] = { host: 'still-fawn', vmid: 110, address: '10.0.0.1' }) })),
  fc.oneof(notInt, fc.integer({ max: 0 }), fc.integer({ min: 65_536 })).map((port) => ({ path: ['hosts', 'pumped-piglet', 'port'], apply: (inv) => void ((inv.hosts['pumped-piglet'] as Record<string, unknown>).port = port) })),
  nastyString.filter((u) => !/^[a-z_][a-z0-9_-]*$/.test(u)).map((u) => ({ path: ['hosts', 'pumped-piglet', 'user'], apply: (inv) => void ((inv.hosts['pumped-piglet'] as Record<string, unknown>).user = u) })),
  nastyString.filter((u) => !/^[a-z_][a-z0-9_-]*$/.test(u)).map((u) => ({ path: ['ssh', 'user'], apply: (inv) => void ((inv.ssh as Record<string, unknown>).user = u) })),
  nastyString.filter((f) => !/^SHA256:[A-Za-z0-9+/]{43}$/.test(f)).map((f) => ({ path: ['hosts', 'still-fawn', 'hostKeyFingerprints', 1], apply: (inv) => void inv.hosts['still-fawn'].hostKeyFingerprints.push(f) })),
  notNode.map((h) => ({ path: ['k3s', 'nodes', 'k3s-vm-still-fawn', 'host'], apply: (inv) => void (inv.k3s.nodes['k3s-vm-still-fawn'].host = h) })),
  fc.stringMatching(NODE_RE).filter((h) => !['pumped-piglet', 'still-fawn'].includes(h)).map((h) => ({ path: ['k3s', 'nodes', 'k3s-vm-still-fawn', 'host'], apply: (inv) => void (inv.k3s.nodes['k3s-vm-still-fawn'].host = h) })),
  fc.oneof(notInt, fc.integer({ max: 99 }), fc.integer({ min: 1_000_000_000 })).map((v) => ({ path: ['k3s', 'nodes', 'k3s-vm-still-fawn', 'vmid'], apply: (inv) => void ((inv.k3s.nodes['k3s-vm-still-fawn'] as Record<string, unknown>).vmid = v) })),
  nastyString.filter((a) => !/^[0-9.]+$|^[0-9a-fA-F:]+$/.test(a)).map((a) => ({ path: ['k3s', 'nodes', 'k3s-vm-still-fawn', 'address'], apply: (inv) => void (inv.k3s.nodes['k3s-vm-still-fawn'].address = a) })),
  nastyString.filter((p) => !/^\/[A-Za-z0-9._/-]*$/.test(p)).map((p) => ({ path: ['k3s', 'etcd', 'caCert'], apply: (inv) => void (inv.k3s.etcd.caCert = p) })),
  fc.constantFrom('not a url', 'get.k3s.io', '', 'http//x', "https://x/'$(reboot)'", 'https://x/a"b', 'https://x/a\\b', 'file:///etc/passwd', 'ftp://x/install.sh').map((u) => ({ path: ['k3s', 'installScriptUrl'], apply: (inv) => void (inv.k3s.installScriptUrl = u) })),
  fc.constantFrom('127.0.0.1:2379', "https://127.0.0.1:2379/'", 'unix:///run/etcd.sock', 'https://x/`id`').map((u) => ({ path: ['k3s', 'nodes', 'k3s-vm-pumped-piglet', 'etcdEndpoint'], apply: (inv) => void (inv.k3s.nodes['k3s-vm-pumped-piglet'].etcdEndpoint = u) })),
  fc.constantFrom([], [''], 'alice', null).map((a) => ({ path: Array.isArray(a) && a.length ? ['approvers', 0] : ['approvers'], apply: (inv) => void ((inv as Record<string, unknown>).approvers = a) })),
  nastyString.filter((d) => !DURATION_RE.test(d)).map((d) => ({ path: ['approvals', 'deadline'], apply: (inv) => void (inv.approvals.deadline = d) })),
  nastyString.filter((e) => !/^[A-Z_][A-Z0-9_]*$/.test(e)).map((e) => ({ path: ['notify', 'tokenEnv'], apply: (inv) => void ((inv.notify as Record<string, unknown>).tokenEnv = e) })),
  nastyString.filter((f) => f !== 'ntfy' && f !== 'json').map((f) => ({ path: ['notify', 'format'], apply: (inv) => void (inv.notify.format = f) })),
  fc.constant({ path: ['ssh', 'knownHostsPath'], apply: (inv: Inv) => void delete (inv.ssh as Record<string, unknown>).knownHostsPath }),
  fc
    .tuple(fc.constantFrom('', 'ssh', 'k3s', 'k3s.etcd', 'hosts.still-fawn', 'k3s.nodes.k3s-vm-pumped-piglet', 'approvals', 'notify'), fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,12}$/))
    .filter(([, k]) => !['ssh', 'hosts', 'k3s', 'approvers', 'approvals', 'notify', 'user', 'privateKeyPath', 'knownHostsPath', 'readyTimeoutMs', 'keepaliveIntervalMs', 'address', 'port', 'hostKeyFingerprints', 'installScriptUrl', 'apiPort', 'etcd', 'nodes', 'host', 'vmid', 'etcdEndpoint', 'gpuPassthrough', 'caCert', 'cert', 'key', 'twoPersonIrreversible', 'deadline', 'reminderEvery', 'identity', 'allowedSigners', 'url', 'format', 'uiBaseUrl', 'tokenEnv', 'constructor', 'toString', 'valueOf'].includes(k))
    .map(([at, key]) => ({
      path: [...(at ? at.split('.') : []), key],
      apply: (inv: Inv) => {
        let o: Record<string, unknown> = inv;
        for (const part of at ? at.split('.') : []) o = o[part] as Record<string, unknown>;
        o[key] = 1;
      },
    })),
];

function problemsOf(text: string): string[] {
  try {
    parseInventory(text, '/tmp', 'inv.yaml');
  } catch (e) {
    assert.ok(e instanceof ApplicationFailure, `not an ApplicationFailure: ${String(e)}`);
    assert.equal(e.type, 'InvalidInventory');
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, /^invalid inventory inv\.yaml \(\d+ problems?\):\n/);
    return e.message.split('\n').slice(1).map((l) => l.trim());
  }
  assert.fail('accepted');
}

describe('bad inventories, property-based', () => {
  it('the base inventory is valid', () => {
    parseInventory(YAML.stringify(baseInventory()), '/tmp');
  });

  it('one to three problems in a good inventory: every one reported under its path (1500 cases)', (t) => {
    let reported = 0;
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: mutations.length - 1 }), { minLength: 1, maxLength: 3 }).chain((idx) => fc.tuple(...idx.map((i) => mutations[i]!))), (muts) => {
        const inv = baseInventory() as Inv;
        for (const m of muts) m.apply(inv);
        const problems = problemsOf(YAML.stringify(inv));
        for (const m of muts) {
          // a bad host name hides the problems of the node naming it (zod skips that record entry)
          if (m.path.join('.') === 'k3s.nodes.k3s-vm-still-fawn.host' && muts.some((o) => o.path[0] === 'hosts' && o !== m)) continue;
          const at = formatPath(m.path);
          assert.ok(problems.some((p) => p.startsWith(`${at}: `)), `${at} not in:\n${problems.join('\n')}`);
          reported++;
        }
      }),
      { numRuns: 1500 },
    );
    t.diagnostic(`${reported} inventory problems reported with their path`);
  });

  it('any other document (random YAML, random text) is refused as InvalidInventory, never a crash (1000 cases)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => YAML.stringify(v)), fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: fc.constantFrom(...META, '\n', '- ', ': ', '&a', '*a', '!!'), maxLength: 80 })), (text) => {
        problemsOf(text);
      }),
      { numRuns: 1000 },
    );
  });

  it('loadInventory refuses a missing file and an invalid one with the file named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inv-prop-'));
    assert.throws(() => loadInventory(join(dir, 'missing.yaml')), (e: unknown) => e instanceof ApplicationFailure && e.type === 'InvalidInventory' && /cannot read inventory/.test(e.message));
    const inv = baseInventory() as Inv;
    (inv.k3s.nodes as Record<string, unknown>)['k3s-vm-$(reboot)'] = inv.k3s.nodes['k3s-vm-still-fawn'];
    writeFileSync(join(dir, 'bad.yaml'), YAML.stringify(inv));
    assert.throws(() => loadInventory(join(dir, 'bad.yaml')), (e: unknown) => e instanceof ApplicationFailure && e.message.includes(`${join(dir, 'bad.yaml')}`) && e.message.includes('k3s.nodes.k3s-vm-$(reboot): invalid name'));
  });
});
