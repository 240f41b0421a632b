// One command's stdout into another's stdin, through the worker (Executor.stream on both).
import type { StreamingCommand } from './types';

/**
 * Pipes `src` into `dst`. Once `dst` is done, the rest of `src`'s output is read and dropped: a reader
 * may stop early (GNU tar -x stops at the archive's end-of-archive blocks, before the last record's
 * padding), and a channel closes only once its output has been read.
 */
export function pipeInto(src: StreamingCommand, dst: StreamingCommand): void {
  src.stdout.pipe(dst.stdin);
  void dst.done.finally(() => {
    src.stdout.unpipe(dst.stdin);
    src.stdout.resume();
  }).catch(() => undefined);
}
