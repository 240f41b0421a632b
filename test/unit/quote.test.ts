import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ApplicationFailure } from '@temporalio/common';
import {
  shellCommand, shellQuote, validIp, validMemberId, validNodeName, validUrl, validVersion, validVmid,
} from '../../src/activities/exec/quote';
import { buildCommand } from '../../src/activities/exec/targets';

// Strings heavy in shell metacharacters, plus arbitrary unicode; NUL cannot be in an argv.
const nasty = fc.oneof(
  fc.string({ unit: fc.constantFrom("'", '"', '\\', '$', '(', ')', '`', ';', '|', '&', '\n', ' ', '\t', '*', '~', '#', '!', '{', '}', '<', '>', 'a', '=', '-', '%') }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
).filter((s) => !s.includes('\0'));

function roundTrip(value: string): string {
  return execFileSync('bash', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' });
}

function badInput(fn: () => unknown, re: RegExp) {
  assert.throws(fn, (e: unknown) => e instanceof ApplicationFailure && e.type === 'BadInput' && e.nonRetryable && re.test(e.message));
}

describe('shellQuote', () => {
  it('bash gives back exactly the original string (1000 runs)', () => {
    fc.assert(fc.property(nasty, (s) => roundTrip(s) === s), { numRuns: 1000 });
  });

  it('round-trips through two levels (qm/pct: outer bash -c of an inner quoted word)', () => {
    fc.assert(
      fc.property(nasty, (s) => {
        const inner = `printf %s ${shellQuote(s)}`;
        const out = execFileSync('bash', ['-c', shellCommand(['bash', '-c', inner])], { encoding: 'utf8' });
        return out === s;
      }),
      { numRuns: 200 },
    );
  });

  it('quotes what needs it and leaves plain words readable', () => {
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('$(reboot)'), `'$(reboot)'`);
    assert.equal(shellQuote('--disable'), '--disable');
    assert.equal(shellQuote('https://10.0.0.1:6443'), 'https://10.0.0.1:6443');
    assert.equal(shellQuote('FOO=bar'), "'FOO=bar'");
    assert.equal(shellQuote('~'), "'~'");
    badInput(() => shellQuote('a\0b'), /NUL/);
  });

  it('shellCommand keeps argv boundaries', () => {
    const argv = ['printf', '%s|', 'a b', "c'd", '', '$HOME', '`id`'];
    const out = execFileSync('bash', ['-c', shellCommand(argv)], { encoding: 'utf8' });
    assert.equal(out, "a b|c'd||$HOME|`id`|");
  });
});

describe('validators', () => {
  it('accept good values and return them', () => {
    assert.equal(validNodeName('k3s-vm-still-fawn'), 'k3s-vm-still-fawn');
    assert.equal(validVmid(108), 108);
    assert.equal(validMemberId('1f57491286ac4c3'), '1f57491286ac4c3');
    assert.equal(validVersion('v1.32.5+k3s1'), 'v1.32.5+k3s1');
    assert.equal(validVersion('v1.33.0-rc1+k3s1'), 'v1.33.0-rc1+k3s1');
    assert.equal(validUrl('https://get.k3s.io'), 'https://get.k3s.io');
    assert.equal(validUrl('https://192.168.4.205:6443'), 'https://192.168.4.205:6443');
    assert.equal(validIp('127.0.10.11'), '127.0.10.11');
  });

  it('refuse bad values with BadInput naming the value', () => {
    badInput(() => validNodeName('still-fawn; reboot'), /invalid node name "still-fawn; reboot"/);
    badInput(() => validNodeName('Still-Fawn'), /lowercase DNS label/);
    badInput(() => validVmid(99), /vmid 99/);
    badInput(() => validVmid(1.5), /vmid/);
    badInput(() => validMemberId('1F57'), /member id/);
    badInput(() => validMemberId('zz'), /member id/);
    badInput(() => validMemberId('12345678901234567'), /member id/);
    badInput(() => validVersion('v1.32.5+k3s1; rm -rf /'), /version/);
    badInput(() => validVersion('1.32.5'), /v1\.32\.5\+k3s1/);
    badInput(() => validUrl('ftp://x'), /scheme/);
    badInput(() => validUrl("https://x/'$(id)'"), /not allowed/);
    badInput(() => validUrl('not a url'), /invalid URL/);
    badInput(() => validIp('1.2.3.4; id'), /IP/);
  });
});

describe('buildCommand', () => {
  const script = `echo "it's" $(hostname) | tr a-z A-Z; exit 3`;
  it('host: the script as-is', () => {
    assert.equal(buildCommand({ kind: 'host', host: 'pve' }, script), script);
  });
  it('vm: qm guest exec with timeout and a quoted bash -c', () => {
    const cmd = buildCommand({ kind: 'vm', host: 'still-fawn', vmid: 108 }, script, 90_500);
    assert.equal(cmd, `qm guest exec 108 --timeout 91 -- bash -c ${shellQuote(script)}`);
  });
  it('lxc: pct exec with a quoted bash -c', () => {
    assert.equal(buildCommand({ kind: 'lxc', host: 'pve', ctid: 113 }, 'ls'), 'pct exec 113 -- bash -c ls');
  });
  it('the vm command line runs the script unchanged (qm replaced by a printer)', () => {
    const cmd = buildCommand({ kind: 'vm', host: 'still-fawn', vmid: 108 }, script);
    // A `qm` function that runs what follows `--`, as the guest agent would.
    const out = execFileSync('bash', ['-c', `qm() { while [ "$1" != -- ]; do shift; done; shift; "$@"; }; ${cmd}; echo " rc=$?"`], { encoding: 'utf8' });
    assert.match(out, /^IT'S \S+\n rc=3\n$/);
  });
  it('refuses bad ids and host names', () => {
    badInput(() => buildCommand({ kind: 'vm', host: 'pve', vmid: 7 }, 'ls'), /vmid/);
    badInput(() => buildCommand({ kind: 'lxc', host: 'pve', ctid: -1 }, 'ls'), /ctid/);
    badInput(() => buildCommand({ kind: 'host', host: 'pve;id' }, 'ls'), /host name/);
  });
});
