// A real browser against the dev server's Web UI (issue 3, item 6): headless Debian Chromium driven
// by playwright-core starts a rejoin from the Start Workflow form, opens the run, reads the current
// details naming the open gate, and approves it as an operator would by hand (issue 11): the JSON the
// details show pasted unsigned is refused; then the sign command they show is run as shown (the real
// `ssh-keygen -Y sign`, a lab approver's key in place of ~/.ssh/id_ed25519), its signature pasted into
// that JSON in Send a Signal → approve, and the run moves on to the next gate under that key's name.
// The run is then rejected through the client so it ends.
// Screenshots are kept in test-results/browser/. Nothing outside 127.0.0.0/8 is contacted: the page's
// requests are routed and anything else is aborted, and Chromium's background services are off.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Page } from 'playwright-core';
import { startStack, type Stack } from '../helpers/stack';
import { gateOpen, uniqueId, waitForStatus } from '../helpers/temporal';
import { send } from '../helpers/decide';
import type { RunbookResult } from '../../src/workflows/runbook/types';

const NODE = 'k3s-vm-still-fawn';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(__dirname, '..', '..', 'test-results', 'browser');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const isLoopback = (url: string): boolean => {
  if (!/^https?:/.test(url)) return true; // data:, blob:, about:
  const host = new URL(url).hostname;
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host);
};

/** The SHA256 fingerprint of a public key file, as ssh-keygen -l prints it. */
const keyFingerprint = (pubFile: string): string => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).split(' ')[1]!;

describe('the Temporal Web UI in a real browser', { skip: !fs.existsSync(CHROMIUM) && `no ${CHROMIUM}` }, () => {
  let s: Stack | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let userDataDir: string | undefined;
  const blocked: string[] = [];
  let shotNo = 0;

  before(
    async () => {
      fs.rmSync(SHOTS, { recursive: true, force: true });
      fs.mkdirSync(SHOTS, { recursive: true });
      s = await startStack({}, { ui: true });
      assert.ok(s.uiUrl, 'the dev server serves its UI');
      userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbooks-chromium-'));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1400, height: 1000 },
        timezoneId: 'UTC',
        timeout: 60_000,
      });
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (isLoopback(url)) return route.continue();
        blocked.push(url);
        return route.abort('blockedbyclient');
      });
      context.setDefaultTimeout(30_000);
      page = context.pages()[0] ?? (await context.newPage());
    },
    { timeout: 240_000 },
  );

  after(async () => {
    if (blocked.length) console.log(`browser: blocked requests outside loopback:\n  ${blocked.join('\n  ')}`);
    await context?.close().catch((e: unknown) => console.error('cleanup: browser:', e));
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    await s?.stop();
  });

  /** The run's Current Details (markdown rendered in an iframe on the User Metadata tab). */
  const currentDetails = (): FrameLocator => page.frameLocator('iframe');

  /** A full-page screenshot; with `details`, also the whole Current Details (the iframe scrolls). */
  const shot = async (name: string, opts: { details?: boolean } = {}): Promise<void> => {
    shotNo += 1;
    const file = path.join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
    if (opts.details) {
      const detailsFile = file.replace(/\.png$/, '.details.png');
      await currentDetails().locator('body').screenshot({ path: detailsFile });
      console.log(`screenshot: ${detailsFile}`);
    }
  };

  /** Presses the UI's R ("Press the R for freshness") until the current details match. */
  const waitForDetails = async (re: RegExp, timeoutMs = 120_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    for (;;) {
      text = await currentDetails()
        .locator('body')
        .innerText({ timeout: 5_000 })
        .catch(() => '');
      if (re.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`current details never matched ${re}; last:\n${text}`);
      await page.keyboard.press('r');
      await page.waitForTimeout(1_500);
    }
  };

  /** What an operator copies from a one-line code block of the details: a triple click selects the line, clipped or not. */
  const selectedCode = async (hasText: string): Promise<string> => {
    const block = currentDetails().locator('pre', { hasText });
    await block.click({ clickCount: 3 });
    return String(await block.evaluate('String(getSelection())')).trim(); // runs in the details' frame
  };

  /** More Actions → Send a Signal → pick the signal, paste the JSON, Submit. */
  const sendSignal = async (name: string, input: object): Promise<void> => {
    await page.getByText('Workflow signaled.').waitFor({ state: 'hidden' }); // the toast of a signal sent before
    await page.getByRole('button', { name: 'More Actions' }).click();
    await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a Signal' });
    await dialog.getByRole('button', { name: 'Select a signal' }).click();
    await dialog.getByRole('option', { name: new RegExp(`^${name}\\b`) }).click();
    // The Data field is a CodeMirror editor (role textbox, no accessible name).
    await dialog.locator('[role="textbox"][data-language="json"]').fill(JSON.stringify(input));
    await dialog.getByRole('heading', { name: 'Input' }).click(); // blur: the editor reformats the JSON
    await shot(`send-signal-${name}`);
    await dialog.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('Workflow signaled.').waitFor();
  };

  it('starts a rejoin from the Start Workflow form; an unsigned paste is refused, one signed by ssh-keygen -Y sign as the details show passes the gate', { timeout: 240_000 }, async () => {
    const stack = s!;
    const workflowId = uniqueId('ui-rejoin');
    try {
      // 1. Start Workflow form
      await page.goto(`${stack.uiUrl}/namespaces/default/workflows`);
      await page.getByRole('button', { name: 'Start Workflow' }).click();
      await page.getByRole('heading', { name: 'Start a Workflow' }).waitFor();
      await page.getByRole('textbox', { name: 'Workflow ID' }).fill(workflowId);
      await page.getByRole('textbox', { name: 'Task Queue' }).fill(stack.taskQueue);
      await page.getByRole('textbox', { name: 'Workflow Type' }).fill('k3sRejoin');
      await page.locator('[role="textbox"][data-language="json"]').fill(JSON.stringify({ node: NODE }));
      // Blur the editor before clicking Start: it reformats the JSON, which moves the button.
      await page.getByRole('heading', { name: 'Input' }).click();
      await page.getByRole('status').getByText('Task Queue is Active').waitFor();
      await shot('start-workflow-form');
      await page.getByRole('button', { name: 'Start Workflow' }).click();
      const started = page.getByRole('link', { name: 'Workflow started successfully' });
      await started.waitFor();
      const runPath = await started.getAttribute('href');
      await shot('workflow-started');

      // 2. Open the run (the toast's link, or its address if the toast has gone already)
      await started.click({ timeout: 3_000 }).catch(() => page.goto(new URL(runPath ?? '', stack.uiUrl).href));
      await page.getByRole('heading', { name: workflowId }).waitFor();
      const handle = stack.env.client.workflow.getHandle(workflowId);
      assert.equal((await handle.describe()).taskQueue, stack.taskQueue);

      // 3. Its current details name the open gate and give the JSON to send
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      await page.getByRole('heading', { name: 'Current Details' }).waitFor();
      const gate1 = await waitForDetails(/Waiting on remove-stale-node/);
      await currentDetails().getByRole('heading', { name: /Waiting on remove-stale-node \(approval\)/ }).waitFor();
      assert.match(gate1, new RegExp(`kubectl delete node ${NODE}`), 'the plan is shown');
      assert.match(gate1, /\[\?\] remove-stale-node/);
      // signatures mode: the one-line sign command, then the JSON to paste with its signature placeholder
      const shownCommand = /^printf '%s' .* \| ssh-keygen -Y sign -n homelab-runbooks -f ~\/\.ssh\/id_ed25519 \| tr -d '\\n'$/m.exec(gate1)?.[0];
      assert.ok(shownCommand, `the details show the sign command on one line:\n${gate1}`);
      // the UI clips the long line at the frame's edge; an operator copies it whole by selecting it
      assert.equal(await selectedCode('ssh-keygen -Y sign'), shownCommand, 'selecting the command gives it whole');
      const pasted = /send signal approve with this input[^\n]*\n\s*(\{[^\n]*\})/.exec(gate1);
      assert.ok(pasted, `the details show the approve JSON:\n${gate1}`);
      assert.equal(await selectedCode('"signature":'), pasted[1], 'selecting the JSON gives it whole');
      const approve = JSON.parse(pasted[1]!) as { step: string; decision: string; workflowId: string; runId: string; namespace: string; digest: string; signature: string };
      const { runId } = await handle.describe();
      assert.deepEqual(
        [approve.step, approve.decision, approve.workflowId, approve.runId, approve.namespace],
        ['remove-stale-node', 'approve', workflowId, runId, 'default'],
        'the JSON names the step, the decision and this run',
      );
      assert.match(approve.digest, /^[0-9a-f]{64}$/, 'the JSON names the full SHA-256 of the plan');
      assert.match(gate1, new RegExp(`Plan ${approve.digest}`), 'the digest is the plan shown');
      assert.equal(approve.signature, '<paste the signature here>');
      await shot('current-details-gate-remove-stale-node', { details: true });
      assert.equal((await waitForStatus(handle, gateOpen('remove-stale-node'))).openGate?.step, 'remove-stale-node');
      assert.deepEqual(
        stack.lab.audit().filter((e) => e.change),
        [],
        'nothing changed before the approval',
      );

      // 4. The JSON pasted as shown, placeholder left: refused (recorded under ignored), nothing runs
      await sendSignal('approve', approve);
      const refused = await waitForStatus(handle, (x) => (x.ignoredCount ?? 0) > 0);
      assert.equal(refused.ignored.length, 1, JSON.stringify(refused.ignored));
      assert.equal(refused.ignored[0]!.step, 'remove-stale-node');
      assert.match(refused.ignored[0]!.reason, /signature/, 'refused for its signature');
      assert.equal(refused.openGate?.step, 'remove-stale-node', 'the gate stays open');
      assert.deepEqual(refused.openGate?.approvedBy, [], 'the unsigned paste counts for nobody');
      assert.deepEqual(
        stack.lab.audit().filter((e) => e.change),
        [],
        'an unsigned approval runs nothing',
      );

      // 5. Sign by hand: exactly the command shown, with bob's lab key for ~/.ssh/id_ed25519 (real ssh-keygen)
      const key = stack.lab.approverKey('bob');
      const command = shownCommand.replace('-f ~/.ssh/id_ed25519', `-f '${key.replace(/'/g, `'\\''`)}'`);
      const signature = execFileSync('sh', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.match(signature, /^-----BEGIN SSH SIGNATURE-----[A-Za-z0-9+/=]+-----END SSH SIGNATURE-----$/, 'one line, as the details promise');
      await sendSignal('approve', { ...approve, signature });
      await shot('approve-signaled');

      // 6. The run moves on under bob's key: the client's status query, the lab's audit, then the UI
      const st = await waitForStatus(handle, gateOpen('uninstall-k3s'), 120_000);
      const removed = st.steps.find((x) => x.id === 'remove-stale-node');
      assert.equal(removed?.state, 'done');
      assert.deepEqual([removed?.decision?.by, removed?.decision?.decision, removed?.decision?.via], ['bob', 'approve', 'signal']);
      assert.match(removed?.decision?.key ?? '', /^SHA256:/, 'the identity is the verified key');
      assert.equal(removed?.decision?.key, keyFingerprint(`${key}.pub`), "bob's lab key");
      assert.equal(removed?.decision?.digest, approve.digest, 'the approval carries the digest of the plan the details showed');
      assert.equal(st.ignoredCount, 1, 'the signed paste was not refused');
      const changes = stack.lab.audit().filter((e) => e.change);
      assert.ok(
        changes.some((e) => e.tool === 'kubectl' && e.argv.includes('delete')),
        `the approved step ran: ${JSON.stringify(changes.map((e) => [e.tool, ...e.argv]))}`,
      );
      assert.ok(!changes.some((e) => e.tool === 'k3s-uninstall.sh'), 'the next change waits at its gate');
      const gate2 = await waitForDetails(/Waiting on uninstall-k3s/);
      assert.match(gate2, /\[x\] remove-stale-node/);
      assert.match(gate2, /\[\?\] uninstall-k3s/);
      assert.match(gate2, /k3s-uninstall\.sh/);
      await shot('current-details-gate-uninstall-k3s', { details: true });

      // 7. End the run through the client; the UI shows it finished
      await send(stack.lab, handle, 'reject', { step: 'uninstall-k3s', by: 'alice', comment: 'browser test: stop here' });
      const result = (await handle.result()) as RunbookResult;
      assert.equal(result.outcome, 'rejected', result.summary);
      await page.reload();
      await page.getByRole('heading', { name: workflowId }).waitFor();
      await page.getByRole('main').getByText('Completed', { exact: true }).first().waitFor();
      await waitForDetails(/: rejected/);
      await shot('run-ended-rejected');
    } catch (err) {
      await shot('failure').catch(() => undefined);
      throw err;
    }
  });
});
