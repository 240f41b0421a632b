// The `runbook` CLI: start a runbook, see its status, and decide its gates.
//   npm run runbook -- --help
import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Command, Option } from 'commander';
import os from 'node:os';
import { RUNBOOK_NAME, RUNBOOK_TARGET } from './workflows/runbook/search-attributes';
import { decideUpdate, statusQuery, type DecideInput } from './workflows/runbook/messages';
import type { RunbookStatus } from './workflows/runbook/types';
import { connectConfig, TASK_QUEUE } from './shared/connection';
import { printStatus } from './cli/print';

/** Exit codes a script can branch on. */
export const EXIT = { ok: 0, failed: 1, refused: 2, notFound: 3 } as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const { connectionOptions, namespace } = connectConfig();
  const connection = await Connection.connect(connectionOptions);
  try {
    return await fn(new Client({ connection, namespace }));
  } finally {
    await connection.close();
  }
}

function output(json: boolean, value: unknown, text: string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text);
}

async function decide(id: string, input: DecideInput, json: boolean): Promise<void> {
  await withClient(async (client) => {
    const handle = client.workflow.getHandle(id);
    try {
      const status = await handle.query(statusQuery);
      const step = status.steps.find((s) => s.id === input.step);
      if (!json && step?.plan) {
        console.log(`Plan of ${step.id} on ${step.plan.target}:\n${step.plan.commands.map((c) => `  ${c}`).join('\n')}`);
      }
      const decision = await handle.executeUpdate(decideUpdate, { args: [input] });
      output(json, decision, `${decision.decision}: ${decision.step} by ${decision.by} at ${decision.at}`);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new CliError(`refused: ${err.cause?.message ?? err.message}`, EXIT.refused);
      }
      throw err;
    }
  });
}

export function buildCli(): Command {
  const program = new Command('runbook')
    .description('Durable homelab runbooks on Temporal: start them, follow them, approve their gates.')
    .option('--json', 'print machine-readable JSON', false)
    .showHelpAfterError();

  program
    .command('start')
    .description('start a runbook run')
    .argument('<runbook>', 'the runbook: k3s-rejoin')
    .requiredOption('--node <name>', 'the K3s node to work on, e.g. k3s-vm-still-fawn')
    .option('--dry-run', 'run every check, change nothing, print the plan', false)
    .option('--ready-timeout <seconds>', 'how long to wait for the node to be Ready', (v) => Number(v), 300)
    .option('--id <workflowId>', 'workflow ID (default: <runbook>-<node>, so one node has one run at a time)')
    .option('--wait', 'wait for the run to end and print its result', false)
    .action(async (runbook: string, opts: { node: string; dryRun: boolean; readyTimeout: number; id?: string; wait: boolean }) => {
      if (runbook !== 'k3s-rejoin') throw new CliError(`unknown runbook "${runbook}" (known: k3s-rejoin)`, EXIT.failed);
      const json = program.opts().json as boolean;
      await withClient(async (client) => {
        const workflowId = opts.id ?? `k3s-rejoin-${opts.node}${opts.dryRun ? '-dry-run' : ''}`;
        const handle = await client.workflow.start('k3sRejoin', {
          taskQueue: TASK_QUEUE,
          workflowId,
          args: [{ node: opts.node, dryRun: opts.dryRun, readyTimeoutSeconds: opts.readyTimeout }],
          staticSummary: `${opts.dryRun ? 'Dry run: rejoin' : 'Rejoin'} ${opts.node} to the K3s cluster`,
          typedSearchAttributes: [
            { key: RUNBOOK_NAME, value: 'k3s-rejoin' },
            { key: RUNBOOK_TARGET, value: opts.node },
          ],
        });
        if (!opts.wait) return output(json, { workflowId, runId: handle.firstExecutionRunId }, `started ${workflowId}`);
        const result = await handle.result();
        output(json, result, `${result.outcome}: ${result.summary}`);
      });
    });

  program
    .command('status')
    .description("show a run's steps, evidence and open gate")
    .argument('<workflowId>')
    .action(async (id: string) => {
      const json = program.opts().json as boolean;
      await withClient(async (client) => {
        const status: RunbookStatus = await client.workflow.getHandle(id).query(statusQuery);
        output(json, status, printStatus(status));
      });
    });

  const by = new Option('--by <name>', 'who decides (must be on the inventory approvers list)').default(
    process.env.RUNBOOK_APPROVER ?? os.userInfo().username,
  );
  for (const [name, decision, what] of [
    ['approve', 'approve', 'approve the open gate of a run'],
    ['reject', 'reject', 'reject the open gate: the run ends with nothing changed by that step'],
    ['done', 'done', 'say that the open manual step is done'],
    ['abort', 'abort', 'abort at the open manual step: the run ends with nothing changed'],
  ] as const) {
    program
      .command(name)
      .description(what)
      .argument('<workflowId>')
      .requiredOption('--step <id>', 'the step waiting for a decision (see `runbook status`)')
      .addOption(by)
      .option('--comment <text>', 'why')
      .action(async (id: string, opts: { step: string; by: string; comment?: string }) => {
        await decide(id, { step: opts.step, by: opts.by, decision, comment: opts.comment }, program.opts().json as boolean);
      });
  }
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CliError) {
      console.error(err.message);
      return err.code;
    }
    if (err instanceof WorkflowNotFoundError) {
      console.error(`not found: ${err.message}`);
      return EXIT.notFound;
    }
    console.error(`failed: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  void runCli(process.argv).then((code) => process.exit(code));
}
