/**
 * SIGINT / SIGTERM during a run: the first asks the loop to stop after the current update (a
 * checkpoint follows); a second leaves at once (checkpoints are atomic, so nothing is half-written).
 */
export class StopSignals {
  private signal?: NodeJS.Signals;
  private readonly handler = (signal: NodeJS.Signals): void => {
    if (this.signal) process.exit(signal === 'SIGINT' ? 130 : 143);
    this.signal = signal;
    this.say(`\n${signal}: finishing this step and writing a checkpoint (again to quit at once)`);
  };

  constructor(private readonly say: (line: string) => void) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  get stopped(): boolean {
    return this.signal !== undefined;
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
