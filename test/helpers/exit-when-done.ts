// A test file whose tests are all done must not hold its process open: node:test counts a file whose
// process outlives --test-timeout as failed, whatever its tests said. CI saw restart.test.ts pass its
// test and then sit for 900 s with only its stdio handles listed (reproduced with the CI's command line;
// the cause is not known). Called from a file's last `after`: if the process is still alive `graceMs`
// later, it names what holds it open on stderr and exits with the exit code the runner already chose.
export function exitWhenDone(graceMs = 15_000): void {
  setTimeout(() => {
    const holding = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    console.error(`exitWhenDone: the process was still alive ${graceMs} ms after its tests; holding it: ${holding.join(', ') || 'nothing listed'}`);
    process.exit();
  }, graceMs).unref();
}
