// The one place Tramline reaches into amqplib's private members (checked with amqplib 2.3.1).
//
// amqplib's multiplexer (`connection.muxer`, lib/mux.js) writes every frame (each publish, each
// ack) to the socket (`connection.stream`) on its own: a system call, and a wake-up of the broker,
// per frame. amqplib has no option to batch them. Corking the socket around one pass of the
// multiplexer (`muxer._readIncoming`) sends what the pass writes as one writev; frames, their
// order and the back-pressure (the multiplexer stops when a write returns false) are unchanged.
// Measured on the end-to-end benchmark (MLLP → PostgreSQL → RabbitMQ → inbox); see
// ARCHITECTURE.md. Where the members differ this does nothing and frames go out one by one as
// before; test/integration/amqplib-internals.test.ts fails on an amqplib upgrade that changes them.
import type { ChannelModel } from 'amqplib';

/** The amqplib release whose private members this module was written against. */
export const AMQPLIB_CHECKED = '2.3.1';

interface ConnectionInternals {
  muxer?: { _readIncoming?: () => void; out?: unknown };
  stream?: { cork?: () => void; uncork?: () => void };
}

function internalsOf(model: ChannelModel): ConnectionInternals | undefined {
  return (model as unknown as { connection?: ConnectionInternals }).connection;
}

/**
 * What about amqplib's private members no longer matches what coalesceFrameWrites() relies on,
 * or undefined when all is as in amqplib 2.3.1.
 */
export function amqplibInternalsMismatch(model: ChannelModel): string | undefined {
  const connection = internalsOf(model);
  if (!connection) return 'ChannelModel has no `connection`';
  const { muxer, stream } = connection;
  if (!muxer) return '`connection.muxer` is missing';
  if (typeof muxer._readIncoming !== 'function') return '`connection.muxer._readIncoming` is not a function';
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return '`connection.stream` has no cork()/uncork()';
  if (muxer.out !== stream) return '`connection.muxer.out` is not `connection.stream` (the multiplexer writes elsewhere)';
  return undefined;
}

/** Cork the socket around each multiplexer pass. Returns whether it could (see the header). */
export function coalesceFrameWrites(model: ChannelModel): boolean {
  if (amqplibInternalsMismatch(model) !== undefined) return false;
  const { muxer, stream } = internalsOf(model) as Required<ConnectionInternals>;
  const pass = muxer._readIncoming as () => void;
  const { cork, uncork } = stream as Required<NonNullable<ConnectionInternals['stream']>>;
  muxer._readIncoming = () => {
    cork.call(stream);
    try {
      pass.call(muxer);
    } finally {
      uncork.call(stream);
    }
  };
  return true;
}
