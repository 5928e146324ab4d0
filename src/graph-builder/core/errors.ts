import { userCallSite } from './call-site';

/** A shape or type problem found while tracing; the graph wraps it with the op and call site. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** A problem in a traced model, reported at build time with the op and the model code that built it. */
export class GraphBuildError extends Error {
  override name = 'GraphBuildError';
  constructor(
    message: string,
    readonly opType?: string,
    readonly callSite?: string,
  ) {
    super(message);
  }
}

/** A GraphBuildError naming the op and the model code that is building it now. */
export function buildError(opType: string, message: string): GraphBuildError {
  const site = userCallSite();
  return new GraphBuildError(`${opType} built at ${site}: ${message}`, opType, site);
}
