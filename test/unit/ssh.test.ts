// The exec layer against a real OpenSSH sshd on 127.0.0.1 (random port), started and killed here.
// A tiny `qm`/`pct` stand-in on the session PATH lets vm and lxc targets run end to end.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createExecutor, type PooledExecutor } from '../../src/activities/exec/executor';
import { inventorySchema, type Inventory } from '../../src/inventory/schema';

const dir = mkdtempSync(join(tmpdir(), 'ssh-test-'));
let sshd: ChildProcess | undefined;
let port = 0;
let hostFp = '';
let otherFp = '';
const executors: PooledExecutor[] = [];

function keygen(name: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
  return readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
}
function fingerprint(name: string): string {
  return execFileSync('ssh-keygen', ['-lf', join(dir, `${name}.pub`)], { encoding: 'utf8' }).split(' ')[1]!;
}
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address() as { port: number };
      srv.close(() => resolve(p));
    }).on('error', reject);
  });
}
async function waitForPort(p: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(p, '127.0.0.1', () => { s.destroy(); resolve(true); }).on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${p}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const QM_STANDIN = `#!/bin/bash
# test stand-in: qm guest exec <vmid> [opts] -- cmd..., printing Perl-style pretty JSON
[ "$1 $2" = "guest exec" ] || { echo "unsupported: $*" >&2; exit 255; }
vmid=$3; shift 3
while [ "$1" != "--" ]; do shift; done; shift
case $vmid in
  999) echo "VM 999 is not running" >&2; exit 2;;
  998) echo "Agent error: Failed to execute child process \\"$*\\"" >&2; exit 255;;
esac
out=$(mktemp); err=$(mktemp)
"$@" >"$out" 2>"$err"; rc=$?
exec node -e '
const fs = require("fs"); const [rc, o, e] = process.argv.slice(1);
const r = { exitcode: Number(rc), exited: 1 };
const od = fs.readFileSync(o, "utf8"), ed = fs.readFileSync(e, "utf8");
if (ed) r["err-data"] = ed; if (od) r["out-data"] = od;
const keys = Object.keys(r).sort();
process.stdout.write("{\\n" + keys.map((k) => "   " + JSON.stringify(k) + " : " + JSON.stringify(r[k])).join(",\\n") + "\\n}\\n");
' "$rc" "$out" "$err"
`;
const PCT_STANDIN = `#!/bin/bash
[ "$1" = exec ] || exit 255
ctid=$2; shift 2; [ "$1" = -- ] && shift
[ "$ctid" = 999 ] && { echo "container '999' not running!" >&2; exit 255; }
exec "$@"
`;

function inventory(over: { knownHostsPath?: string; privateKeyPath?: string; hosts?: Record<string, unknown> } = {}): Inventory {
  return inventorySchema.parse({
    ssh: {
      privateKeyPath: over.privateKeyPath ?? join(dir, 'client'),
      ...(over.knownHostsPath !== undefined ? { knownHostsPath: over.knownHostsPath } : {}),
      readyTimeoutMs: 5000,
      keepaliveIntervalMs: 1000,
    },
    hosts: over.hosts ?? { lab: { address: '127.0.0.1', port } },
    k3s: { nodes: {} },
    approvers: ['tester'],
    approvals: { identity: 'names' },
  });
}
function executor(inv: Inventory, opts: Parameters<typeof createExecutor>[1] = {}): PooledExecutor {
  const ex = createExecutor(inv, opts);
  executors.push(ex);
  return ex;
}
async function rejectsWith(p: Promise<unknown>, check: (e: Error) => void): Promise<Error> {
  try {
    await p;
  } catch (e) {
    check(e as Error);
    return e as Error;
  }
  assert.fail('expected a rejection');
}

before(async () => {
  mkdirSync('/run/sshd', { recursive: true });
  const hostPub = keygen('host');
  keygen('other');
  writeFileSync(join(dir, 'authorized_keys'), `${keygen('client')}\n`);
  keygen('stranger'); // a client key sshd does not know
  hostFp = fingerprint('host');
  otherFp = fingerprint('other');
  port = await freePort();
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin/qm'), QM_STANDIN);
  writeFileSync(join(dir, 'bin/pct'), PCT_STANDIN);
  chmodSync(join(dir, 'bin/qm'), 0o755);
  chmodSync(join(dir, 'bin/pct'), 0o755);
  const [type, b64] = hostPub.split(' ');
  writeFileSync(join(dir, 'known_hosts'), `# test\n[127.0.0.1]:${port} ${type} ${b64}\n`);
  writeFileSync(join(dir, 'known_hosts_other'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'other.pub'), 'utf8')}`);
  writeFileSync(join(dir, 'known_hosts_empty'), '');
  writeFileSync(join(dir, 'known_hosts_hashed'), `[127.0.0.1]:${port} ${type} ${b64}\n`);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', join(dir, 'known_hosts_hashed')]);
  assert.match(readFileSync(join(dir, 'known_hosts_hashed'), 'utf8'), /^\|1\|/);
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    `SetEnv PATH=${join(dir, 'bin')}:/usr/local/bin:/usr/bin:/bin`,
    process.env.SSHD_LOG ?? 'LogLevel ERROR', // e.g. SSHD_LOG='LogLevel DEBUG1' to see sshd's side
    '',
  ].join('\n'));
  // Under its own mount namespace with an empty root ~/.bashrc: bash sources ~/.bashrc for commands
  // run by sshd, and this machine's (pyenv init, with a rehash lock) makes commands slow or hang.
  writeFileSync(join(dir, 'bashrc'), '# test sshd\n');
  const sshdCmd = `exec /usr/sbin/sshd -D -e -f '${join(dir, 'sshd_config')}'`;
  const binds = `for f in /root/.bashrc /root/.profile /root/.bash_profile; do [ -e "$f" ] && mount --bind '${join(dir, 'bashrc')}' "$f"; done`;
  sshd = spawn('/usr/bin/unshare', ['-m', '--', '/bin/sh', '-c', `${binds}; ${sshdCmd}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sshd.stderr!.on('data', (d: Buffer) => { log += d.toString(); if (process.env.SSHD_LOG) process.stderr.write(d); });
  await waitForPort(port, 5000).catch((e: Error) => { throw new Error(`${e.message}: ${log}`); });
});

after(async () => {
  for (const ex of executors) await ex.close();
  if (sshd?.pid) process.kill(sshd.pid, 'SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('ssh executor against a real sshd', () => {
  it('returns stdout, stderr and the exit code; a signal as signal', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts') }));
    const r = await ex.run({ kind: 'host', host: 'lab' }, 'echo out; echo "it\'s $((6*7))" ; echo err >&2; exit 3');
    assert.deepEqual(r, { exitCode: 3, stdout: "out\nit's 42\n", stderr: 'err\n' });
    const k = await ex.run({ kind: 'host', host: 'lab' }, 'kill -TERM $$');
    assert.equal(k.exitCode, null);
    assert.equal(k.signal, 'SIGTERM');
  });

  it('pools: many commands, sequential and concurrent, over one connection', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts') }));
    for (let i = 0; i < 3; i++) assert.equal((await ex.run({ kind: 'host', host: 'lab' }, `echo ${i}`)).stdout, `${i}\n`);
    // More at once than OpenSSH's MaxSessions (10): the pool queues past its per-host limit.
    const many = await Promise.all(Array.from({ length: 14 }, (_, i) => ex.run({ kind: 'host', host: 'lab' }, `sleep 0.2; echo ${i}`)));
    assert.deepEqual(many.map((r) => r.stdout), Array.from({ length: 14 }, (_, i) => `${i}\n`));
    // 17 commands, one connection; a channel refused under heavy load makes the pool redial once (by design)
    assert.ok(ex.pool.connectionsOpened <= 2, `opened ${ex.pool.connectionsOpened} connections for 17 commands`);
    assert.equal(ex.pool.size, 1);
  });

  it('reconnects after the connection drops', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts') }));
    await ex.run({ kind: 'host', host: 'lab' }, 'true');
    const client = await ex.pool.acquire('lab');
    await new Promise<void>((resolve) => { client.once('close', () => resolve()); client.end(); });
    assert.equal(ex.pool.size, 0);
    assert.equal((await ex.run({ kind: 'host', host: 'lab' }, 'echo again')).stdout, 'again\n');
    assert.equal(ex.pool.connectionsOpened, 2);
    // Dropped in the middle of a command: a retryable error, the outcome being unknown.
    const running = ex.run({ kind: 'host', host: 'lab' }, 'sleep 2');
    setTimeout(() => void ex.pool.acquire('lab').then((c) => c.destroy()), 300);
    await rejectsWith(running, (e) => {
      assert.ok(!(e instanceof ApplicationFailure && e.nonRetryable));
      assert.match(e.message, /connection to lab \(127\.0\.0\.1:\d+\) lost while running a command/);
    });
    assert.equal((await ex.run({ kind: 'host', host: 'lab' }, 'echo third')).stdout, 'third\n');
    assert.equal(ex.pool.connectionsOpened, 3);
  });

  it('accepts a correct pinned fingerprint and a hashed known_hosts entry', async () => {
    const pinned = executor(inventory({ hosts: { lab: { address: '127.0.0.1', port, hostKeyFingerprints: [otherFp, hostFp] } } }));
    assert.equal((await pinned.run({ kind: 'host', host: 'lab' }, 'echo pinned')).stdout, 'pinned\n');
    const hashed = executor(inventory({ knownHostsPath: join(dir, 'known_hosts_hashed') }));
    assert.equal((await hashed.run({ kind: 'host', host: 'lab' }, 'echo hashed')).stdout, 'hashed\n');
  });

  it('a wrong pinned fingerprint fails non-retryable, naming the host and both fingerprints', async () => {
    const ex = executor(inventory({ hosts: { lab: { address: '127.0.0.1', port, hostKeyFingerprints: [otherFp] } } }));
    await rejectsWith(ex.run({ kind: 'host', host: 'lab' }, 'echo never'), (e) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'HostKeyMismatch');
      assert.equal(e.nonRetryable, true);
      assert.match(e.message, /\blab\b/);
      assert.ok(e.message.includes(`expected ${otherFp}`), e.message);
      assert.ok(e.message.includes(`presented ${hostFp}`), e.message);
    });
    // Same through a known_hosts file holding another key.
    const kh = executor(inventory({ knownHostsPath: join(dir, 'known_hosts_other') }));
    await rejectsWith(kh.run({ kind: 'host', host: 'lab' }, 'true'), (e) => {
      assert.equal((e as ApplicationFailure).type, 'HostKeyMismatch');
      assert.ok(e.message.includes(otherFp) && e.message.includes(hostFp), e.message);
    });
  });

  it('an unknown host is refused', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts_empty') }));
    await rejectsWith(ex.run({ kind: 'host', host: 'lab' }, 'echo never'), (e) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'HostKeyUnknown');
      assert.equal(e.nonRetryable, true);
      assert.ok(e.message.includes(hostFp) && e.message.includes('lab'), e.message);
    });
    assert.equal(ex.pool.connectionsOpened, 0);
  });

  it('abort closes the channel promptly and rejects with an AbortError', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts') }));
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 300);
    // OpenSSH refuses `signal` requests in root sessions (no privsep child), so the remote sleep
    // outlives the channel: keep it short.
    await rejectsWith(ex.run({ kind: 'host', host: 'lab' }, 'sleep 3', { signal: ac.signal }), (e) => {
      assert.equal(e.name, 'AbortError');
    });
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    // The connection is still good for the next command.
    assert.equal((await ex.run({ kind: 'host', host: 'lab' }, 'echo next')).stdout, 'next\n');
    assert.equal(ex.pool.connectionsOpened, 1);
    // Already aborted: nothing runs.
    const marker = join(dir, 'never');
    await rejectsWith(ex.run({ kind: 'host', host: 'lab' }, `touch ${marker}`, { signal: AbortSignal.abort() }), (e) => assert.equal(e.name, 'AbortError'));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await ex.run({ kind: 'host', host: 'lab' }, `test -e ${marker} && echo ran || echo not-run`)).stdout, 'not-run\n');
  });

  it('enforces timeoutMs with a retryable error naming host and timeout; heartbeats while running', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts') }), { progressIntervalMs: 100 });
    const started = Date.now();
    await rejectsWith(ex.run({ kind: 'host', host: 'lab' }, 'sleep 2', { timeoutMs: 500 }), (e) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'CommandTimeout');
      assert.equal(e.nonRetryable, false);
      assert.match(e.message, /lab .*timed out after 500 ms/);
    });
    assert.ok(Date.now() - started < 1500);
    let beats = 0;
    await ex.run({ kind: 'host', host: 'lab' }, 'sleep 0.5', { onProgress: () => beats++ });
    assert.ok(beats >= 3, `onProgress called ${beats} times`);
  });

  it('vm target: the guest exit code and output come from the qm JSON', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts') }));
    const r = await ex.run({ kind: 'vm', host: 'lab', vmid: 108 }, `echo "in 'guest'" $((1+1)); echo warn >&2; exit 4`);
    assert.deepEqual(r, { exitCode: 4, stdout: "in 'guest' 2\n", stderr: 'warn\n' });
    await rejectsWith(ex.run({ kind: 'vm', host: 'lab', vmid: 999 }, 'true'), (e) => {
      assert.equal((e as ApplicationFailure).type, 'QmExecFailed');
      assert.match(e.message, /lab \(vmid 999\).*VM 999 is not running/);
    });
  });

  it('lxc target: pct exec passes the exit code through', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts') }));
    assert.deepEqual(await ex.run({ kind: 'lxc', host: 'lab', ctid: 113 }, 'echo ct; exit 2'), { exitCode: 2, stdout: 'ct\n', stderr: '' });
    await rejectsWith(ex.run({ kind: 'lxc', host: 'lab', ctid: 999 }, 'true'), (e) => assert.match(e.message, /not running/));
  });

  it('secrets never appear in an error message', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts') }));
    const secret = "K10abc::server:s3cr'et";
    const err = await rejectsWith(
      ex.run({ kind: 'vm', host: 'lab', vmid: 998 }, `K3S_TOKEN='${secret.replace(/'/g, `'\\''`)}' install`, { secrets: [secret] }),
      (e) => assert.equal((e as ApplicationFailure).type, 'QmExecFailed'),
    );
    assert.ok(!err.message.includes('s3cr'), err.message);
    assert.match(err.message, /\*\*\*/);
    assert.ok(!String(err.stack).includes('s3cr'));
  });

  it('auth failure is non-retryable SshAuthFailed; refused connection is retryable and names the address', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts'), privateKeyPath: join(dir, 'stranger') }));
    await rejectsWith(ex.run({ kind: 'host', host: 'lab' }, 'true'), (e) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'SshAuthFailed');
      assert.equal(e.nonRetryable, true);
      assert.match(e.message, /lab \(root@127\.0\.0\.1:\d+\)/);
    });
    const closed = await freePort();
    const down = executor(inventory({ knownHostsPath: join(dir, 'known_hosts'), hosts: { lab: { address: '127.0.0.1', port: closed } } }));
    await rejectsWith(down.run({ kind: 'host', host: 'lab' }, 'true'), (e) => {
      assert.ok(!(e instanceof ApplicationFailure && e.nonRetryable));
      assert.ok(e.message.includes(`lab (root@127.0.0.1:${closed})`) && /ECONNREFUSED/.test(e.message), e.message);
    });
    // The failed dial is forgotten: no poisoned pool entry.
    assert.equal(down.pool.size, 0);
  });

  it('an unknown host name is BadInput before anything is dialled', async () => {
    const ex = executor(inventory({ knownHostsPath: join(dir, 'known_hosts') }));
    await rejectsWith(ex.run({ kind: 'host', host: 'nosuch' }, 'true'), (e) => assert.equal((e as ApplicationFailure).type, 'BadInput'));
    assert.equal(ex.pool.connectionsOpened, 0);
  });
});
