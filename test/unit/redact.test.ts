// Issue 11, secrets off the command line: redaction on every error path (runOk, the qm parser), before any
// clipping, catching a K3s token's parts; the healthy server's unit flags from an allowlist, secrets masked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redact, redactError } from '../../src/activities/exec/redact';
import { runOk, type ActivityDeps } from '../../src/activities/deps';
import { parseQmGuestExec } from '../../src/activities/parse/qm';
import { maskDatastoreEndpoint, parseK3sUnitExecStart, splitJoinFlags } from '../../src/activities/parse/k3s';
import type { CommandResult, Executor } from '../../src/activities/exec/types';
import type { Inventory } from '../../src/inventory/schema';

const PASSWORD = 'c0ffee00deadbeef0123456789abcdef';
const TOKEN = `K10${'ab'.repeat(32)}::server:${PASSWORD}`;
const VM = { kind: 'vm' as const, host: 'still-fawn', vmid: 108 };

function leaks(text: string): string[] {
  return [
    ['the token', TOKEN],
    ['server:<password>', `server:${PASSWORD}`],
    ['the password', PASSWORD],
    ['half the password', PASSWORD.slice(0, 12)],
    ['the other half', PASSWORD.slice(-12)],
  ].filter(([, v]) => text.includes(v!)).map(([n]) => n!);
}

function depsAnswering(result: CommandResult): ActivityDeps {
  const exec: Executor = { run: async () => result, close: async () => {} };
  return { inventory: {} as Inventory, exec };
}

describe('redact', () => {
  it("masks a token's server:<password> part and the bare password, not only the whole token", () => {
    const text = `join with ${TOKEN}; or K3S_TOKEN=server:${PASSWORD}; or --token ${PASSWORD}; printf '%s' '${PASSWORD}'`;
    const out = redact(text, [TOKEN]);
    assert.deepEqual(leaks(out), [], out);
  });

  it('masks what has the shape of a secret without being named: K3s tokens, secret flags, URL passwords', () => {
    const unit = `ExecStart=/usr/local/bin/k3s \\\n    server \\\n\t'--token' \\\n\t'${TOKEN}' \\\n\t'--etcd-s3-secret-key=S3SECRETs3secret' \\\n\t'--etcd-s3-access-key' \\\n\t'AKIAEXAMPLE0001' \\\n`;
    const out = redact(`${unit} --datastore-endpoint postgres://k3s:pgPassw0rd@db:5432/k3s`);
    for (const s of [TOKEN, PASSWORD, 'S3SECRETs3secret', 'AKIAEXAMPLE0001', 'pgPassw0rd']) assert.ok(!out.includes(s), `${s} in ${out}`);
    assert.match(out, /'--etcd-s3-access-key' \\\n\t'\*\*\*'/);
    assert.match(out, /postgres:\/\/k3s:\*\*\*@db:5432/);
  });

  it("masks a secret key of a K3s config.yaml (the flag's name without dashes), whatever its value", () => {
    const yaml = `node-label:\n  - gpu=rx580\ntoken: plainPassw0rdToken\netcd-s3-secret-key: "S3SECRETs3secret"\nwrite-kubeconfig-mode: "0600"\n`;
    const out = redact(yaml);
    for (const s of ['plainPassw0rdToken', 'S3SECRETs3secret']) assert.ok(!out.includes(s), `${s} in ${out}`);
    assert.match(out, /write-kubeconfig-mode: "0600"/);
    assert.equal(redact('failed to validate token: token CA hash does not match'), 'failed to validate token: token CA hash does not match');
  });

  it('redactError keeps an error without secrets as it was, and masks a message that has one', () => {
    const plain = new Error('nothing here');
    assert.equal(redactError(plain), plain);
    const masked = redactError(new Error(`failed: ${TOKEN}`));
    assert.deepEqual(leaks(`${masked.message}\n${masked.stack}`), []);
  });
});

describe('error paths mask before they clip', () => {
  it("runOk's error masks the token (given or not) in stderr and in the script's first line", async () => {
    const deps = depsAnswering({ exitCode: 1, stdout: '', stderr: `level=fatal msg="failed to validate token ${TOKEN}"` });
    const script = `echo ${PASSWORD} | k3s token rotate --new-token ${TOKEN}`;
    const err = await runOk(deps, VM, script, { secrets: [TOKEN] }).then(() => null, (e: Error) => e);
    assert.ok(err, 'runOk throws on exit 1');
    assert.deepEqual(leaks(err.message), [], err.message);
    // not named: whatever has a token's shape is masked still (a bare password has no shape to find)
    const unnamed = await runOk(deps, VM, script).then(() => null, (e: Error) => e);
    assert.ok(!unnamed!.message.includes(TOKEN) && !unnamed!.message.includes(`server:${PASSWORD}`), unnamed!.message);
  });

  it("runOk's tail (the last 400 characters) never shows half of a secret it cut", async () => {
    // the password starts 6 characters before the 400-character tail begins
    const stderr = `${'a'.repeat(100)} ${PASSWORD}${'b'.repeat(400 - PASSWORD.length + 6)}`;
    const deps = depsAnswering({ exitCode: 1, stdout: '', stderr });
    const err = await runOk(deps, VM, 'true', { secrets: [TOKEN] }).then(() => null, (e: Error) => e);
    assert.deepEqual(leaks(err!.message), [], err!.message);
  });

  it('the qm parser masks before it clips qm\'s stderr (300 characters)', () => {
    const stderr = `${'x'.repeat(300 - (TOKEN.length - PASSWORD.length) - 12)}${TOKEN} more`;
    const err = (() => {
      try {
        parseQmGuestExec({ exitCode: 255, stdout: '', stderr }, { host: 'still-fawn', vmid: 108, secrets: [TOKEN] });
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    assert.ok(err);
    assert.deepEqual(leaks(err.message), [], err.message);
  });

  it('a unit the parser cannot read is quoted in its error with the token masked', () => {
    const unit = `ExecStart=/usr/local/bin/k3s server --token ${TOKEN} '--unterminated`;
    assert.throws(() => parseK3sUnitExecStart(unit), (e: Error) => leaks(e.message).length === 0 && /unterminated/.test(e.message));
  });
});

describe('the healthy server\'s flags: an allowlist, secrets masked', () => {
  const args = [
    'server', '--token', TOKEN, '--agent-token=agentSecret123', '--disable', 'servicelb', '--etcd-s3', '--etcd-s3-bucket', 'snaps',
    '--etcd-s3-access-key', 'AKIAEXAMPLE0001', '--etcd-s3-secret-key=S3SECRETs3secret', '--etcd-s3-session-token', 'sessTok99',
    '--datastore-endpoint', 'postgres://k3s:pgPassw0rd@db:5432/k3s', '--some-future-flag', 'futureValue', '--cluster-cidr', '10.42.0.0/16',
  ];

  it('keeps only allowlisted cluster-wide flags; secrets and unknown flags are not copied and their values never shown', () => {
    const { keep, notCopied } = splitJoinFlags(args);
    assert.deepEqual(keep, ['--disable', 'servicelb', '--etcd-s3', '--etcd-s3-bucket', 'snaps', '--cluster-cidr', '10.42.0.0/16']);
    assert.deepEqual(notCopied, [
      '--token ***', '--agent-token=***', '--etcd-s3-access-key ***', '--etcd-s3-secret-key=***', '--etcd-s3-session-token ***',
      '--datastore-endpoint postgres://k3s:***@db:5432/k3s', '--some-future-flag ***',
    ]);
    const all = JSON.stringify(splitJoinFlags(args));
    for (const s of [TOKEN, PASSWORD, 'agentSecret123', 'AKIAEXAMPLE0001', 'S3SECRETs3secret', 'sessTok99', 'pgPassw0rd', 'futureValue']) {
      assert.ok(!all.includes(s), `${s} in ${all}`);
    }
  });

  it('a datastore endpoint without a password is copied as it is', () => {
    assert.deepEqual(splitJoinFlags(['server', '--datastore-endpoint=https://etcd1:2379']).keep, ['--datastore-endpoint=https://etcd1:2379']);
    assert.equal(maskDatastoreEndpoint('mysql://u:p4ss@tcp(db:3306)/k3s'), 'mysql://u:***@tcp(db:3306)/k3s');
    assert.equal(maskDatastoreEndpoint('host=db user=k3s password=s3cr3t dbname=k3s'), 'host=db user=k3s password=*** dbname=k3s');
  });
});
