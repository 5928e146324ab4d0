/**
 * The first stack frame outside the builder's own machinery: the model code that created a node.
 * Recorded on every node so that build-time and run-time errors point at model code.
 */
const INTERNAL_FRAME = /[\\/]graph-builder[\\/](core|ops)[\\/]|node:internal|[\\/]node_modules[\\/]/;

export function userCallSite(): string {
  const holder: { stack?: string } = {};
  const previousLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  Error.captureStackTrace(holder, userCallSite);
  Error.stackTraceLimit = previousLimit;
  const frames = (holder.stack ?? '').split('\n').slice(1);
  const user = frames.find((f) => !INTERNAL_FRAME.test(f)) ?? frames[0] ?? '';
  return user.trim().replace(/^at\s+/, '');
}
