// The failure converter of every worker, workflow bundle and client: a failure's message and stack
// trace travel as a payload (`encodedAttributes`), so the payload codec encrypts them like any other
// payload and error text naming hosts, paths or commands is ciphertext in history when a codec key is
// configured. Without a key that payload is plain JSON, read back by every SDK's failureToError and
// shown decoded by the Web UI. (sdk-typescript packages/common/src/converter/failure-converter.ts,
// DefaultFailureConverter.errorToFailure: `encodeCommonAttributes`.)
// Loaded by path (DataConverter.failureConverterPath): the workflow sandbox bundles this file.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
