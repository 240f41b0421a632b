import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { parseQmGuestExec } from '../../src/activities/parse/qm';

const ctx = { host: 'still-fawn', vmid: 108 };
const ok = (stdout: string, stderr = '') => ({ exitCode: 0, stdout, stderr });

function fails(fn: () => unknown, type: string, re: RegExp, nonRetryable = false) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApplicationFailure, String(e));
    assert.equal(e.type, type);
    assert.equal(e.nonRetryable, nonRetryable);
    assert.match(e.message, re);
    return true;
  });
}

describe('parseQmGuestExec', () => {
  it('exit code and out-data (Perl pretty JSON, 3-space indent)', () => {
    const out = '{\n   "exitcode" : 3,\n   "exited" : 1,\n   "out-data" : "hello\\n"\n}\n';
    assert.deepEqual(parseQmGuestExec(ok(out), ctx), { exitCode: 3, stdout: 'hello\n', stderr: '' });
  });

  it('no data at all: empty strings', () => {
    const out = '{\n   "exitcode" : 0,\n   "exited" : 1\n}\n';
    assert.deepEqual(parseQmGuestExec(ok(out), ctx), { exitCode: 0, stdout: '', stderr: '' });
  });

  it('both streams, the 2025 always-present *-truncated fields, unicode and escapes', () => {
    const out = [
      '{',
      '   "err-data" : "warn: \\"x\\"\\n",',
      '   "err-truncated" : 0,',
      '   "exitcode" : 0,',
      '   "exited" : 1,',
      '   "out-data" : "caf\u00e9\\tok\\n",',
      '   "out-truncated" : 0',
      '}',
      '',
    ].join('\n');
    const r = parseQmGuestExec(ok(out), ctx);
    assert.deepEqual(r, { exitCode: 0, stdout: 'café\tok\n', stderr: 'warn: "x"\n' });
  });

  it('truncated output is flagged', () => {
    const out = '{\n   "exitcode" : 0,\n   "exited" : 1,\n   "out-data" : "aaaa",\n   "out-truncated" : 1\n}\n';
    assert.equal(parseQmGuestExec(ok(out), ctx).truncated, true);
  });

  it('killed by a signal: exitCode null, signal name', () => {
    const out = '{\n   "exited" : 1,\n   "signal" : 9\n}\n';
    assert.deepEqual(parseQmGuestExec(ok(out), ctx), { exitCode: null, signal: 'SIGKILL', stdout: '', stderr: '' });
  });

  it('timeout: {"pid": N} is a retryable CommandTimeout naming host, vmid and pid', () => {
    fails(() => parseQmGuestExec(ok('{\n   "pid" : 4242\n}\n', 'timeout reached, returning pid\n'), ctx), 'CommandTimeout', /still-fawn.*vmid 108.*pid 4242/);
  });

  it('qm itself failing is an error naming host and vmid', () => {
    fails(
      () => parseQmGuestExec({ exitCode: 2, stdout: '', stderr: 'VM 108 is not running\n' }, ctx),
      'QmExecFailed', /still-fawn \(vmid 108\) failed \(exit 2\): VM 108 is not running/,
    );
    fails(
      () => parseQmGuestExec({ exitCode: 255, stdout: '', stderr: 'QEMU guest agent is not running\n' }, ctx),
      'QmExecFailed', /vmid 108.*QEMU guest agent is not running/,
    );
  });

  it('non-JSON output is a clear non-retryable error', () => {
    fails(() => parseQmGuestExec(ok('Use of uninitialized value\n'), ctx), 'UnexpectedOutput', /still-fawn.*vmid 108.*not JSON.*uninitialized/, true);
    fails(() => parseQmGuestExec(ok('[1]'), ctx), 'UnexpectedOutput', /not an object/, true);
    fails(() => parseQmGuestExec(ok('{"exited":0}'), ctx), 'UnexpectedOutput', /not exited/, true);
  });
});
