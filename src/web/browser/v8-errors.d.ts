/** V8's stack trace API, which the graph builder's call sites use; Chromium has it too (node's types declare it). */
interface ErrorConstructor {
  stackTraceLimit: number;
  captureStackTrace(target: object, constructorOpt?: (...args: never[]) => unknown): void;
}
