// The `runbook` CLI: start a runbook, follow it, list what waits, and decide its gates.
//   ./bin/runbook --help
// Only the commands and their help are defined here; what a command does is in src/cli/commands.ts,
// loaded when it runs, so `--help` and a mistyped argument never wait for the Temporal SDK to load.
import { Command, InvalidArgumentError, Option } from 'commander';
import os from 'node:os';
import { CliError, EXIT, failureReason } from './cli/exit';
import { RUNBOOKS } from './cli/runbooks';
import type { StartOptions } from './cli/commands';
import { SIGNATURE_NAMESPACE } from './workflows/runbook/decision';

const commands = () => import('./cli/commands.js');

const me = process.env.RUNBOOK_APPROVER ?? os.userInfo().username;

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a whole number of seconds');
  return n;
}

export function buildCli(): Command {
  const program = new Command('runbook')
    .description('Durable homelab runbooks on Temporal: start them, follow them, approve their gates.')
    .option('--json', 'print machine-readable JSON', false)
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Runbooks:
${Object.entries(RUNBOOKS).map(([name, r]) => `  ${name.padEnd(18)} ${r.about}`).join('\n')}
Approvals: approve/reject/done/abort sign the decision with --key FILE or your ssh-agent's first key
(ssh-keygen -Y sign); start signs the run's start the same way when a key is there (pre-approvals
need it). An inventory with approvals.identity "names" takes --by <name> instead of a signature.
Connection: @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, API key, temporal.toml);
default localhost:7233. Exit codes: 0 ok, 1 failed, 2 refused, 3 not found.`,
    );
  const json = () => program.opts().json as boolean;
  const startOptions = (cmd: Command) =>
    cmd
      .option('--node <name>', 'the K3s node to work on, e.g. k3s-vm-still-fawn (k3s-rejoin, recovery-program)')
      .option('--ready-timeout <seconds>', 'k3s-rejoin: how long to wait for the node to be Ready (default 300)', seconds)
      .option('--soak <duration>', 'recovery-program: how long to watch the node before Phase 2, 1d to 14d (default 7d)')
      .option('--input <json>', "more fields of the runbook's input, e.g. '{\"grace\": \"48h\"}'")
      .option('--gate-deadline <duration>', 'end the run safely if a gate waits longer, e.g. 4h')
      .option('--id <workflowId>', 'workflow ID (default: <runbook>[-<node>], so one target has one run at a time)')
      .addOption(new Option('--by <name>', 'who asks for the run (recorded; never the only approver of a point of no return)').default(me))
      .option('--key <file>', 'sign the start with this key (a private key, or a .pub whose key is in ssh-agent); default: ssh-agent\'s first key, if any. Pre-approvals need a signed start');

  startOptions(program.command('start').description('start a runbook run').argument('<runbook>', `the runbook: ${Object.keys(RUNBOOKS).join(', ')}`))
    .option('--dry-run', 'run every check, change nothing, return the plan', false)
    .option('--wait', 'wait for the run to end and print its result', false)
    .action(async (runbook: string, opts: StartOptions) => (await commands()).start(runbook, opts, json()));

  startOptions(program.command('plan').description('dry run: every check, nothing changed, then the ordered plan').argument('<runbook>', 'the runbook'))
    .action(async (runbook: string, opts: StartOptions) => (await commands()).plan(runbook, opts, json()));

  program
    .command('status')
    .description("show a run's steps, evidence, plans and open gate")
    .argument('<workflowId>')
    .action(async (id: string) => (await commands()).status(id, json()));

  program
    .command('watch')
    .description('follow a run step by step until it ends or waits for someone')
    .argument('<workflowId>')
    .action(async (id: string) => (await commands()).watch(id, json()));

  program
    .command('report')
    .description("the run's incident report (Markdown; --html for one self-contained page), from its own history and status")
    .argument('<workflowId>')
    .option('--run-id <runId>', 'a run other than the latest of this workflow ID')
    .option('--html', 'one self-contained HTML page instead of Markdown', false)
    .option('--out <file>', 'write the report to this file (default: stdout)')
    .option('--no-query', "build it from the history alone: never ask a worker for the run's status")
    .option('--query-timeout <seconds>', 'how long to wait for a worker to answer the status query (default 5)', seconds)
    .action(async (id: string, opts: { runId?: string; html: boolean; out?: string; query: boolean; queryTimeout?: number }) =>
      (await commands()).report(id, { ...opts, queryTimeout: opts.queryTimeout && opts.queryTimeout * 1000 }, json()),
    );

  program
    .command('pending')
    .description('every run waiting for a decision (visibility query on RunbookWaitingOn)')
    .action(async () => (await commands()).pending(json()));

  program
    .command('setup')
    .description("register the runbooks' search attributes on the namespace (any Temporal cluster)")
    .action(async () => (await commands()).setup(json()));

  program
    .command('signer')
    .description("a codec endpoint for the Web UI that signs the open gate's decision you paste into Send a Signal")
    .option('--key <file>', "sign with this key: a private key, or a .pub whose key is in ssh-agent (default: ssh-agent's first key)")
    .option('--port <port>', 'loopback port to listen on', (v) => String(seconds(v)), '8889')
    .option('--origin <url...>', "the Web UI's origin(s)", ['http://localhost:8233', 'http://127.0.0.1:8233'])
    .addHelpText(
      'after',
      `
Listens on 127.0.0.1 only. Set the Web UI's Data Encoder (per browser) to its URL: the UI then sends a
signal's input to <url>/encode first, and the signer adds "signature" to a decision of the gate open on
that run now (it asks the run's status itself) and refuses anything else. It holds no key: ssh-keygen
signs with --key or your ssh-agent. With RUNBOOK_CODEC_KEY(_FILE) set it also encrypts and decodes.`,
    )
    .action(async (opts: { key?: string; port: string; origin: string[] }) =>
      (await commands()).signer({ key: opts.key, port: Number(opts.port), origins: opts.origin }),
    );

  for (const [name, decision, what] of [
    ['approve', 'approve', 'show the plan and its digest, then approve the open gate'],
    ['reject', 'reject', 'reject the open gate: the run ends with nothing changed by that step'],
    ['done', 'done', 'say that the open manual step is done'],
    ['abort', 'abort', 'abort at the open manual step or failed step: the run ends, saying what was and was not changed'],
    ['retry', 'retry', 'retry the failed step: its checks and preflight run again, and a change asks for a fresh approval'],
  ] as const) {
    program
      .command(name)
      .description(what)
      .argument('<workflowId>')
      .requiredOption('--step <id>', 'the step waiting for a decision (see `runbook status`)')
      .option('--key <file>', "sign with this key: a private key, or a .pub whose key is in ssh-agent (default: ssh-agent's first key)")
      .addOption(new Option('--by <name>', 'approvals.identity "names" only: who decides (must be on the inventory approvers list)').default(me))
      .option('--digest <digest>', 'the plan digest you reviewed (default: the digest shown)')
      .option('--comment <text>', 'why')
      .addHelpText(
        'after',
        `
The decision is signed (ssh-keygen -Y sign -n ${SIGNATURE_NAMESPACE}) over this run's namespace, workflow ID
and run ID, the step, "${decision}" and the plan's full digest; the worker verifies it against the
inventory's allowed_signers and your key's principal there is who decided. Without --key the first key
ssh-agent offers (ssh-add -L) signs. An inventory with approvals.identity "names" takes --by instead.`,
      )
      .action(async (id: string, opts: { step: string; by: string; key?: string; digest?: string; comment?: string }) =>
        (await commands()).decide(id, { step: opts.step, by: opts.by, decision, key: opts.key, comment: opts.comment, digest: opts.digest }, json()),
      );
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
    const kind = await (await commands()).refusalKind(err);
    if (kind === 'notFound') {
      console.error(`not found: ${(err as Error).message}`);
      return EXIT.notFound;
    }
    if (kind === 'refused') {
      console.error(`refused: ${failureReason(err)}`);
      return EXIT.refused;
    }
    console.error(`failed: ${failureReason(err)}`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  void runCli(process.argv).then((code) => process.exit(code));
}
