// The trust boundary of a gate (src/workflows/runbook/decision.ts), pure: the text an approver signs,
// the signature forms a browser or a shell turns it into, how keys count, and the rules a decision
// must meet before the worker is even asked to verify it. The signing and form round trips use the
// real `ssh-keygen -Y sign` / `-Y verify`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  approvalsNeeded,
  decisionText,
  describeKey,
  fieldsFor,
  keysNeeded,
  LIMITS,
  MAX_SIGNATURE_CHARS,
  normalizeSignature,
  refusal,
  SIGNATURE_NAMESPACE,
  signCommand,
  startText,
  type DecisionContext,
  type DecisionFields,
  type DecisionInput,
  type GateView,
  type StartFields,
  type VerifiedKey,
} from '../../src/workflows/runbook/decision';

const FIELDS: DecisionFields = {
  namespace: 'default',
  workflowId: 'k3s-rejoin-still-fawn',
  runId: '01a233db-f14a-7879-adfe-00502c646a23',
  step: 'remove-stale-node',
  decision: 'approve',
  digest: 'ab'.repeat(32),
};
const START: StartFields = { namespace: 'default', workflowId: 'lxc-retirement-113', runbook: 'lxc-retirement', preApproved: ['stop-ct', 'backup'] };

let dir: string;
let keyFile: string;
let allowedSigners: string;
/** A real signature of FIELDS by the test key, as `ssh-keygen -Y sign` writes it. */
let armored: string;

function sign(text: string): string {
  return execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', SIGNATURE_NAMESPACE, '-f', keyFile], { input: text }).toString();
}
/** `ssh-keygen -Y verify` of `text` with `signature`: does OpenSSH itself accept it? */
function verifies(text: string, signature: string): boolean {
  const sigFile = path.join(dir, `sig-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(sigFile, signature);
  try {
    execFileSync('ssh-keygen', ['-Y', 'verify', '-f', allowedSigners, '-I', 'alice', '-n', SIGNATURE_NAMESPACE, '-s', sigFile], { input: text, stdio: ['pipe', 'ignore', 'ignore'] });
    return true;
  } catch {
    return false;
  }
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'decision-test-'));
  keyFile = path.join(dir, 'id_alice');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', keyFile]);
  allowedSigners = path.join(dir, 'allowed_signers');
  fs.writeFileSync(allowedSigners, `alice ${fs.readFileSync(`${keyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  armored = sign(decisionText(FIELDS));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('decisionText and startText: what an approver signs', () => {
  it('decisionText is one line of JSON with a fixed key order, the same every time', () => {
    const text = decisionText(FIELDS);
    assert.equal(
      text,
      '{"v":"homelab-runbooks/decision/1","namespace":"default","workflowId":"k3s-rejoin-still-fawn","runId":"01a233db-f14a-7879-adfe-00502c646a23",' +
        `"step":"remove-stale-node","decision":"approve","digest":"${'ab'.repeat(32)}"}`,
    );
    assert.ok(!text.includes('\n'));
    // the same fields in another object order give the same text
    const shuffled = { digest: FIELDS.digest, decision: FIELDS.decision, step: FIELDS.step, runId: FIELDS.runId, workflowId: FIELDS.workflowId, namespace: FIELDS.namespace };
    assert.equal(decisionText(shuffled), text);
  });

  it('decisionText binds every field: changing any one gives another text', () => {
    const base = decisionText(FIELDS);
    const changes: Partial<DecisionFields>[] = [
      { namespace: 'prod' },
      { workflowId: 'k3s-rejoin-other' },
      { runId: '01a233db-0000-0000-0000-000000000000' },
      { step: 'uninstall-k3s' },
      { decision: 'reject' },
      { decision: 'done' },
      { decision: 'abort' },
      { digest: 'cd'.repeat(32) },
      { digest: 'none' },
    ];
    const texts = new Set([base]);
    for (const c of changes) {
      const t = decisionText({ ...FIELDS, ...c });
      assert.notEqual(t, base, JSON.stringify(c));
      texts.add(t);
    }
    assert.equal(texts.size, changes.length + 1, 'every change gives a text of its own');
  });

  it('decisionText cannot be confused by an ID that carries JSON or a separator', () => {
    const a = decisionText({ ...FIELDS, workflowId: 'wf","runId":"r', runId: 'x' });
    const b = decisionText({ ...FIELDS, workflowId: 'wf', runId: 'r","runId":"x' });
    assert.notEqual(a, b);
    assert.deepEqual(JSON.parse(a), { v: 'homelab-runbooks/decision/1', ...FIELDS, workflowId: 'wf","runId":"r', runId: 'x' });
    const nl = decisionText({ ...FIELDS, step: 'a\nb' });
    assert.ok(!nl.includes('\n'), 'still one line');
  });

  it('startText sorts the pre-approvals, binds every field, and never equals a decision text', () => {
    const text = startText(START);
    assert.equal(text, '{"v":"homelab-runbooks/start/1","namespace":"default","workflowId":"lxc-retirement-113","runbook":"lxc-retirement","preApproved":["backup","stop-ct"]}');
    assert.equal(startText({ ...START, preApproved: ['backup', 'stop-ct'] }), text, 'the order of preApproved does not matter');
    assert.deepEqual(START.preApproved, ['stop-ct', 'backup'], 'the caller\'s list is not sorted in place');
    for (const c of [{ namespace: 'prod' }, { workflowId: 'other' }, { runbook: 'k3s-rejoin' }, { preApproved: ['backup'] }, { preApproved: [] }, { preApproved: ['backup', 'stop-ct', 'destroy-ct'] }]) {
      assert.notEqual(startText({ ...START, ...c }), text, JSON.stringify(c));
    }
    assert.match(decisionText(FIELDS), /"v":"homelab-runbooks\/decision\/1"/);
    assert.match(text, /"v":"homelab-runbooks\/start\/1"/);
  });

  it('signCommand signs the exact text by hand: its output verifies with ssh-keygen -Y verify, quotes and all', () => {
    const text = decisionText({ ...FIELDS, workflowId: "it's a \"test\" $(reboot) `id`" });
    const out = execFileSync('bash', ['-c', signCommand(text, keyFile)], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    assert.match(out, /^-----BEGIN SSH SIGNATURE-----\n/);
    assert.ok(verifies(text, out), 'the hand-made signature verifies for the text');
    assert.ok(!verifies(decisionText(FIELDS), out), 'and for no other text');
    assert.match(signCommand(text), new RegExp(`ssh-keygen -Y sign -n ${SIGNATURE_NAMESPACE} -f ~/.ssh/id_ed25519$`));
  });
});

describe('normalizeSignature: the forms a signature is pasted in', () => {
  it('the armored form ssh-keygen writes comes back unchanged, and verifies', () => {
    assert.equal(normalizeSignature(armored), armored);
    assert.ok(verifies(decisionText(FIELDS), normalizeSignature(armored)!));
  });

  it('one line (`| tr -d \'\\n\'`), newlines as spaces, CRLF, and the JSON-escaped "\\n" form all come back to the armored form', () => {
    const forms = {
      'tr -d': armored.replace(/\n/g, ''),
      spaces: armored.replace(/\n/g, ' '),
      crlf: armored.replace(/\n/g, '\r\n'),
      // "\n" written out inside the signature (the trailing newline left off: see the report of issue 11's decision tests)
      'JSON "\\n"': JSON.stringify(armored.trimEnd()).slice(1, -1),
      'surrounding blanks': `\n  ${armored}  \n`,
    };
    assert.ok(forms['JSON "\\n"'].includes('\\n') && !forms['JSON "\\n"'].includes('\n'));
    for (const [form, text] of Object.entries(forms)) {
      assert.equal(normalizeSignature(text), armored, form);
      assert.ok(verifies(decisionText(FIELDS), normalizeSignature(text)!), `${form}: verifies after normalizing`);
    }
  });

  it('refuses what is not a signature', () => {
    const body = armored.split('\n').slice(1, -2).join('\n');
    const bad: unknown[] = [
      undefined,
      null,
      42,
      ['-----BEGIN SSH SIGNATURE-----'],
      { signature: armored },
      '',
      'sigA',
      'alice',
      body,
      '-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n',
      armored.replace('-----END SSH SIGNATURE-----', ''),
      armored.replace('-----BEGIN SSH SIGNATURE-----', ''),
      armored.replace('SSH SIGNATURE', 'OPENSSH PRIVATE KEY'),
      armored.replace(/\n(.)/, '\n$(reboot)$1'),
      armored.replace(/\n(.)/, "\n'$1"),
      `${armored}; rm -rf /`,
      `garbage ${armored}`,
      armored.replace(/\n(.)/, '\n=$1'), // padding in the middle
      armored.replace(/\n(.)/, '\n\\$1'), // a lone backslash
    ];
    for (const b of bad) assert.equal(normalizeSignature(b), undefined, JSON.stringify(b));
  });

  it(`refuses more than ${MAX_SIGNATURE_CHARS} characters, even well-formed`, () => {
    const wrap = (n: number) => {
      const head = '-----BEGIN SSH SIGNATURE-----\n';
      const tail = '\n-----END SSH SIGNATURE-----\n';
      return `${head}${'A'.repeat(n - head.length - tail.length)}${tail}`;
    };
    assert.equal(wrap(MAX_SIGNATURE_CHARS).length, MAX_SIGNATURE_CHARS);
    assert.notEqual(normalizeSignature(wrap(MAX_SIGNATURE_CHARS)), undefined, 'at the limit: accepted');
    assert.equal(normalizeSignature(wrap(MAX_SIGNATURE_CHARS + 1)), undefined, 'one over: refused');
    assert.equal(normalizeSignature(`${armored}${' '.repeat(MAX_SIGNATURE_CHARS)}`), undefined, 'padding with blanks does not get past the limit');
  });
});

describe('keysNeeded: distinct keys, never names', () => {
  const A: VerifiedKey = { fingerprint: 'SHA256:A', principals: ['alice'] };
  const A2: VerifiedKey = { fingerprint: 'SHA256:A', principals: ['alice', 'bob'] };
  const Abob: VerifiedKey = { fingerprint: 'SHA256:A', principals: ['bob'] };
  const B: VerifiedKey = { fingerprint: 'SHA256:B', principals: ['bob'] };
  const C: VerifiedKey = { fingerprint: 'SHA256:C', principals: ['carol'] };

  it('one key under two principals counts once', () => {
    assert.equal(keysNeeded([], 2, true), 2);
    assert.equal(keysNeeded([A], 2, true), 1);
    assert.equal(keysNeeded([A, A2], 2, true), 1, 'the same key listed under two names');
    assert.equal(keysNeeded([A, Abob], 2, true), 1, 'the same key signing as "bob"');
    assert.equal(keysNeeded([A, A2, Abob], 2, true), 1);
    assert.equal(keysNeeded([A, B], 2, true), 0);
    assert.equal(keysNeeded([A, B, C], 2, true), 0);
    assert.equal(keysNeeded([A], 1, false), 0);
    assert.equal(keysNeeded([A, B], 1, false), 0, 'never below zero');
  });

  it('the starter: never the only key at a point of no return, whatever name its key signs under', () => {
    assert.equal(keysNeeded([A], 1, true, A), 1, 'the starter alone at a point of no return');
    assert.equal(keysNeeded([A2], 1, true, A), 1, 'the starter\'s key under another principal is still the starter');
    assert.equal(keysNeeded([Abob], 1, true, A), 1);
    assert.equal(keysNeeded([A, A2], 2, true, A), 1, 'two names of the starter\'s key: one key, still needs another');
    assert.equal(keysNeeded([B], 1, true, A), 0, 'another key is enough');
    assert.equal(keysNeeded([A, B], 2, true, A), 0, 'the starter plus another key');
    assert.equal(keysNeeded([A], 1, false, A), 0, 'a reversible step: the starter may approve it alone');
    assert.equal(keysNeeded([], 1, true, A), 1);
  });

  it('names mode keeps counting distinct names (approvalsNeeded), with the same starter rule', () => {
    assert.equal(approvalsNeeded(['alice', 'alice'], 2, true), 1);
    assert.equal(approvalsNeeded(['alice', 'bob'], 2, true), 0);
    assert.equal(approvalsNeeded(['alice'], 1, true, 'alice'), 1);
    assert.equal(approvalsNeeded(['bob'], 1, true, 'alice'), 0);
    assert.equal(approvalsNeeded(['alice'], 1, false, 'alice'), 0);
  });

  it('describeKey shows the principals and the fingerprint', () => {
    assert.equal(describeKey(A2), 'alice/bob (SHA256:A)');
    assert.equal(describeKey({ fingerprint: 'SHA256:Z', principals: [] }), '? (SHA256:Z)');
  });
});

describe('refusal() in signatures mode', () => {
  const run = { namespace: FIELDS.namespace, workflowId: FIELDS.workflowId, runId: FIELDS.runId };
  const SIGNED: DecisionContext = { identity: 'signatures', approvers: ['alice', 'bob'], run };
  const gate: GateView = { step: 'remove-stale-node', kind: 'approval', digest: FIELDS.digest, approvedBy: [] };
  const manual: GateView = { step: 'enable-vtd', kind: 'manual', approvedBy: [] };
  let good: DecisionInput;
  before(() => {
    good = { step: gate.step, digest: gate.digest, signature: armored, ...run };
  });
  const refused = (input: unknown, re: RegExp, g: GateView | null = gate, decision: 'approve' | 'reject' | 'done' | 'abort' = 'approve') => {
    const reason = refusal(g ?? undefined, input as DecisionInput, decision, SIGNED);
    assert.match(reason ?? '(accepted)', re, JSON.stringify(input));
  };

  it('a well-formed signed decision for this run and this plan passes to the worker', () => {
    assert.equal(refusal(gate, good, 'approve', SIGNED), undefined);
    assert.equal(refusal(gate, { ...good, workflowId: undefined, runId: undefined, namespace: undefined }, 'approve', SIGNED), undefined, 'the IDs may be left out (the signature binds them)');
    assert.equal(refusal(gate, { ...good, signature: armored.replace(/\n/g, '') }, 'reject', SIGNED), undefined, 'one-line form');
    assert.equal(refusal(manual, { step: 'enable-vtd', signature: armored }, 'done', SIGNED), undefined, 'a manual step has no digest to name');
    assert.equal(refusal(manual, { step: 'enable-vtd', signature: armored, digest: 'none' }, 'abort', SIGNED), undefined);
  });

  it('an unsigned decision is refused, even naming a listed approver', () => {
    refused({ step: gate.step, by: 'alice', digest: gate.digest }, /a decision must be signed: add "signature"/);
    refused({ step: gate.step, by: 'alice', digest: gate.digest, ...run }, /must be signed/);
    refused({ step: 'enable-vtd', by: 'alice' }, /must be signed/, manual, 'done');
  });

  it('a "signature" that is not one is refused', () => {
    for (const signature of ['sigA', 'alice', '', 42, { armored }, ['x'], null, armored.replace('-----END SSH SIGNATURE-----', ''), `${armored}x`.repeat(3)]) {
      refused({ ...good, signature }, /"signature" is not an SSH SIGNATURE/);
    }
  });

  it('a decision signed for another run (workflow ID, run ID, namespace) is refused and says which', () => {
    refused({ ...good, workflowId: 'k3s-rejoin-other' }, /signed for another run \(workflowId k3s-rejoin-other, this run is k3s-rejoin-still-fawn\)/);
    refused({ ...good, runId: '01a233db-0000-0000-0000-000000000000' }, /signed for another run \(runId 01a233db-0000/);
    refused({ ...good, namespace: 'prod' }, /signed for another run \(namespace prod, this run is default\)/);
    refused({ ...good, workflowId: FIELDS.runId, runId: FIELDS.workflowId }, /signed for another run/);
  });

  it('a gate with a plan: the digest must be named, and be the current one', () => {
    refused({ ...good, digest: undefined }, new RegExp(`a signed decision must name the plan's digest \\(${gate.digest}\\)`));
    refused({ ...good, digest: 'none' }, /must name the plan's digest/);
    refused({ ...good, digest: 'cd'.repeat(32) }, new RegExp(`plan digest ${'cd'.repeat(32)} is stale: the plan of "remove-stale-node" is now ${gate.digest}`));
    refused({ ...good, digest: gate.digest!.slice(0, 12) }, /is stale/, gate, 'reject');
  });

  it('the gate rules apply as before: no gate, another step, a decision that does not apply', () => {
    refused(good, /no gate is open/, null);
    refused({ ...good, step: 'uninstall-k3s' }, /step "uninstall-k3s" is not the open gate; the run waits on "remove-stale-node"/);
    refused(good, /"done" does not apply to approval step "remove-stale-node"/, gate, 'done');
    refused(good, /decision must be approve, reject, done, abort or retry/, gate, 'yes' as never);
    refused(null, /must be an object/);
    refused([good], /must be an object/);
    refused('approve', /must be an object/);
    refused({ ...good, step: '' }, /must name the step/);
  });

  it('no approvers list in signatures mode: the key is the identity, "by" is ignored', () => {
    assert.equal(refusal(gate, { ...good, by: 'mallory' }, 'approve', SIGNED), undefined, 'a name off the list does not refuse (the key decides)');
    assert.equal(refusal(gate, { ...good, by: 'alice' }, 'approve', { ...SIGNED, approvers: [] }), undefined);
  });
});

describe('LIMITS: every field a client sends is bounded', () => {
  const run = { namespace: FIELDS.namespace, workflowId: FIELDS.workflowId, runId: FIELDS.runId };
  const SIGNED: DecisionContext = { identity: 'signatures', run };
  const NAMES: DecisionContext = { identity: 'names', approvers: ['alice', 'bob'], run };
  const gate: GateView = { step: 'remove-stale-node', kind: 'approval', digest: FIELDS.digest, approvedBy: [] };

  it('the limits are the documented ones', () => {
    assert.deepEqual({ ...LIMITS }, { step: 100, by: 64, comment: 500, digest: 64, id: 1000 });
    assert.equal(MAX_SIGNATURE_CHARS, 4096);
  });

  for (const [mode, ctx] of [['signatures', SIGNED], ['names', NAMES]] as const) {
    it(`${mode} mode: at the limit a field is judged on its content, one over it is refused for its size`, () => {
      const good = (): DecisionInput => (mode === 'signatures' ? { step: gate.step, digest: gate.digest, signature: armored, ...run } : { step: gate.step, by: 'alice', digest: gate.digest });
      const cases: [keyof DecisionInput, number, RegExp][] = [
        ['step', LIMITS.step, /step must be at most 100 characters/],
        ['by', LIMITS.by, /"by" must be a name of at most 64 characters/],
        ['comment', LIMITS.comment, /comment must be a string of at most 500 characters/],
        ['digest', LIMITS.digest, /digest must be a string of at most 64 characters/],
        ['workflowId', LIMITS.id, /workflowId must be a string of at most 1000 characters/],
        ['runId', LIMITS.id, /runId must be a string of at most 1000 characters/],
        ['namespace', LIMITS.id, /namespace must be a string of at most 1000 characters/],
      ];
      for (const [field, limit, sizeReason] of cases) {
        const at = refusal(gate, { ...good(), [field]: 'a'.repeat(limit) }, 'approve', ctx);
        assert.ok(at === undefined || !sizeReason.test(at), `${field} at ${limit}: refused for its size: ${at}`);
        const over = refusal(gate, { ...good(), [field]: 'a'.repeat(limit + 1) }, 'approve', ctx);
        assert.match(over ?? '(accepted)', sizeReason, `${field} at ${limit + 1}`);
        assert.ok(over!.length < 200, 'the refusal does not echo the oversized value');
        assert.match(refusal(gate, { ...good(), [field]: 7 as never }, 'approve', ctx) ?? '(accepted)', field === 'step' ? /must name the step/ : sizeReason, `${field} not a string`);
      }
      // a comment at its limit is fine
      assert.equal(refusal(gate, { ...good(), comment: 'c'.repeat(LIMITS.comment) }, 'approve', ctx), undefined);
    });
  }

  it('signatures mode: a signature over the limit is refused', () => {
    const padded = armored.replace(/\n(.)/, `\n${'A'.repeat(MAX_SIGNATURE_CHARS)}$1`);
    assert.match(refusal(gate, { step: gate.step, digest: gate.digest, signature: padded }, 'approve', SIGNED) ?? '', /is not an SSH SIGNATURE/);
  });
});

describe('fieldsFor: what the worker verifies a decision against', () => {
  it('the open gate\'s step and digest (or "none"), the decision, and this run', () => {
    const run = { namespace: 'default', workflowId: 'w', runId: 'r' };
    assert.deepEqual(fieldsFor({ step: 's', kind: 'approval', digest: 'd'.repeat(64), approvedBy: [] }, 'approve', run), { ...run, step: 's', decision: 'approve', digest: 'd'.repeat(64) });
    assert.deepEqual(fieldsFor({ step: 'm', kind: 'manual', approvedBy: [] }, 'done', run), { ...run, step: 'm', decision: 'done', digest: 'none' });
  });
});

describe('the signed text after a retry', () => {
  const run = { namespace: 'default', workflowId: 'k3s-rejoin-still-fawn', runId: 'r1' };
  it('names the attempt only after a retry, so every text signed before stays the same', () => {
    const first = decisionText({ ...run, step: 'install-k3s', decision: 'approve', digest: 'ab' });
    assert.equal(first, decisionText({ ...run, step: 'install-k3s', decision: 'approve', digest: 'ab', attempt: 1 }));
    assert.doesNotMatch(first, /attempt/);
    const second = decisionText({ ...run, step: 'install-k3s', decision: 'approve', digest: 'ab', attempt: 2 });
    assert.notEqual(second, first, 'an approval of attempt 1 never verifies at attempt 2');
    assert.match(second, /"digest":"ab","attempt":2\}$/);
  });
  it('a failed gate takes retry or abort only, and a decision signed for another attempt is refused', () => {
    const ctx = { identity: 'names' as const, approvers: ['alice'], run };
    const gate = { step: 'install-k3s', kind: 'failed' as const, approvedBy: [], attempt: 2 };
    assert.equal(refusal(gate, { step: 'install-k3s', by: 'alice' }, 'retry', ctx), undefined);
    assert.equal(refusal(gate, { step: 'install-k3s', by: 'alice' }, 'abort', ctx), undefined);
    assert.match(refusal(gate, { step: 'install-k3s', by: 'alice' }, 'approve', ctx) ?? '', /"approve" does not apply to failed step "install-k3s" \(use retry or abort\)/);
    const signed = { identity: 'signatures' as const, run };
    const sig = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n';
    assert.match(refusal(gate, { step: 'install-k3s', signature: sig, attempt: 1 }, 'retry', signed) ?? '', /signed for attempt 1 of "install-k3s"; the gate is at attempt 2/);
    assert.deepEqual(fieldsFor(gate, 'retry', run), { ...run, step: 'install-k3s', decision: 'retry', digest: 'none', attempt: 2 });
  });
});
