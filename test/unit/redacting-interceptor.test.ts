// The worker's last safety net: an activity that throws a secret-shaped text (not through runOk or
// the executor) still fails with it masked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { redactingActivityInterceptor } from '../../src/activities/exec/redacting-interceptor';

const TOKEN = 'K10' + 'a'.repeat(64) + '::server:' + 'b'.repeat(32);

describe('redacting activity interceptor', () => {
  it('masks a K3s token and a URL password in any activity failure, keeping its type and retryability', async () => {
    const env = new MockActivityEnvironment(undefined, { interceptors: [redactingActivityInterceptor] });
    const err = await env
      .run(async () => {
        throw ApplicationFailure.nonRetryable(`join failed with ${TOKEN} at postgres://k3s:hunter2secret@db:5432/k3s`, 'JoinFailed');
      })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.ok(!err.message.includes(TOKEN) && !err.message.includes('b'.repeat(32)), err.message);
    assert.ok(!err.message.includes('hunter2secret'), err.message);
    assert.equal(err.type, 'JoinFailed');
    assert.equal(err.nonRetryable, true);
  });

  it('leaves a failure with nothing secret in it as it is', async () => {
    const env = new MockActivityEnvironment(undefined, { interceptors: [redactingActivityInterceptor] });
    const original = new Error('pct destroy 113 failed: CT is locked (backup)');
    const err = await env.run(async () => Promise.reject(original)).then(() => undefined, (e: unknown) => e);
    assert.equal(err, original);
  });
});
