// What a gate notification says, in ntfy's publish format and as generic JSON.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildNotification, runLink } from '../../src/activities/notify';
import type { GateNotice } from '../../src/workflows/runbook/types';

const notice: GateNotice = {
  event: 'gate-open',
  runbook: 'k3s-rejoin',
  target: 'k3s-vm-still-fawn',
  step: 'remove-stale-node',
  title: 'Remove the stale node and its etcd member',
  kind: 'approval',
  digest: '0a1b2c3d4e5f',
  instructions: 'Approve "Remove the stale node" on pumped-piglet VM 105 → plan 0a1b2c3d4e5f.',
  workflowId: 'k3s-rejoin-k3s-vm-still-fawn',
  runId: '01a2-run',
  namespace: 'default',
  deadline: '2026-11-26T10:00:00.000Z',
};

describe('gate notifications', () => {
  it('links to the run in the Web UI', () => {
    assert.equal(
      runLink('http://127.0.0.1:8233/', notice),
      'http://127.0.0.1:8233/namespaces/default/workflows/k3s-rejoin-k3s-vm-still-fawn/01a2-run/history',
    );
  });

  it('ntfy: message body, Title/Tags/Priority/Click headers, ASCII-only headers, bearer token', () => {
    const req = buildNotification({ url: 'https://ntfy.example/homelab', format: 'ntfy', uiBaseUrl: 'http://ui', token: 'tk_abc' }, notice);
    assert.equal(req.url, 'https://ntfy.example/homelab');
    assert.equal(req.headers.Title, 'k3s-rejoin k3s-vm-still-fawn: remove-stale-node waits for you');
    assert.equal(req.headers.Click, 'http://ui/namespaces/default/workflows/k3s-rejoin-k3s-vm-still-fawn/01a2-run/history');
    assert.equal(req.headers.Authorization, 'Bearer tk_abc');
    assert.equal(req.headers.Priority, 'default');
    for (const v of Object.values(req.headers)) assert.match(v, /^[\x20-\x7e]*$/);
    assert.match(req.body, /Plan digest: 0a1b2c3d4e5f/);
    assert.match(req.body, /Deadline: 2026-11-26T10:00:00.000Z/);
    assert.match(req.body, /→ plan/, 'the body keeps UTF-8');
    const reminder = buildNotification({ url: 'https://n/x', format: 'ntfy', uiBaseUrl: 'http://ui' }, { ...notice, event: 'reminder' });
    assert.equal(reminder.headers.Priority, 'high');
    assert.equal(reminder.headers.Authorization, undefined);
  });

  it('json: every field of the notice plus title and link', () => {
    const req = buildNotification({ url: 'http://127.0.0.1:9/hook', format: 'json', uiBaseUrl: 'http://ui' }, { ...notice, event: 'expired' });
    assert.equal(req.headers['Content-Type'], 'application/json');
    const body = JSON.parse(req.body);
    assert.equal(body.event, 'expired');
    assert.equal(body.digest, '0a1b2c3d4e5f');
    assert.equal(body.workflowId, 'k3s-rejoin-k3s-vm-still-fawn');
    assert.match(body.title, /expired/);
    assert.match(body.link, /\/history$/);
  });
});
