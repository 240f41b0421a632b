// Notifications for a waiting gate: ntfy's HTTP publish format (message body, Title/Tags/Click
// headers) or a generic JSON POST. Built as a plain request so tests can read what goes out.
import type { GateNotice } from '../workflows/runbook/types';

export interface NotifyTarget {
  url: string;
  format: 'ntfy' | 'json';
  uiBaseUrl: string;
  token?: string;
}

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The Web UI page of a run. */
export function runLink(uiBaseUrl: string, n: Pick<GateNotice, 'namespace' | 'workflowId' | 'runId'>): string {
  const base = uiBaseUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(n.namespace)}/workflows/${encodeURIComponent(n.workflowId)}/${encodeURIComponent(n.runId)}/history`;
}

const HEADLINE: Record<GateNotice['event'], string> = {
  'gate-open': 'waits for you',
  reminder: 'still waits for you',
  expired: 'expired: the run ended, nothing changed by this step',
};

export function buildNotification(target: NotifyTarget, n: GateNotice): OutgoingRequest {
  const link = runLink(target.uiBaseUrl, n);
  const title = `${n.runbook} ${n.target}: ${n.step} ${HEADLINE[n.event]}`;
  const auth: Record<string, string> = target.token ? { Authorization: `Bearer ${target.token}` } : {};
  if (target.format === 'json') {
    return {
      url: target.url,
      headers: { 'Content-Type': 'application/json', ...auth },
      body: JSON.stringify({ ...n, title, link }),
    };
  }
  const lines = [
    n.instructions,
    n.digest ? `Plan digest: ${n.digest}` : '',
    n.deadline && n.event !== 'expired' ? `Deadline: ${n.deadline}` : '',
    `Run: ${n.workflowId}`,
  ].filter(Boolean);
  return {
    url: target.url,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      Title: asciiHeader(title),
      Tags: n.event === 'expired' ? 'hourglass' : 'warning',
      Priority: n.event === 'reminder' ? 'high' : 'default',
      Click: link,
      ...auth,
    },
    body: lines.join('\n'),
  };
}

/** HTTP headers must be latin-1: ntfy reads UTF-8 titles only RFC 2047-encoded, so keep it plain. */
function asciiHeader(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

export async function send(req: OutgoingRequest, timeoutMs = 10_000): Promise<void> {
  const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`notification to ${new URL(req.url).origin} answered HTTP ${res.status}`);
}
