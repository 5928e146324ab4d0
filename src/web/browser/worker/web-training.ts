import { CAE_LOSS_TERMS } from '../../../graph-builder/cae/model';
import { learningRate } from '../../../runtime/train/schedule';
import { stepResult } from '../../../runtime/train/step-engine';
import { microBatchRng, stepInputs } from '../../../runtime/train/step-inputs';
import { StepMetrics, stepMetrics } from '../../../runtime/train/step-metrics';
import { stepScalars } from '../../../runtime/train/step-scalars';
import type { WorkerMessage } from '../protocol';
import { Figure, reconstructionFigure } from './reconstruction';
import { encoderModel, runFolderZip, WebRun } from './run-folder';
import type { TrainingSetup } from './web-run-setup';
import type { WebBatches } from './web-data';
import type { WebStepSession } from './web-step-session';

/**
 * The training loop of trainer.ts in the tab: per step the lr, the step's own generator (masks,
 * drop path), one train_step run, the metrics; reconstruction figures every N steps; downloads of
 * the run folder or the encoder at the current step. Steps, snapshots and figures take turns.
 */
export class WebTraining {
  private stopRequested = false;
  /** Why the weights can no longer be handed out (a non-finite loss has already updated them). */
  private diverged?: string;
  private turn: Promise<unknown> = Promise.resolve();
  private step: number;
  private data: { epoch: number; position: number };
  private elapsedSeconds: number;
  private readonly metrics: StepMetrics[];

  private readonly run: WebRun;
  private readonly session: WebStepSession;
  private readonly batches: WebBatches;
  private readonly figureImages: Float32Array;
  private readonly figureCount: number;
  private readonly reconstructEvery: number;

  constructor(
    setup: TrainingSetup,
    private readonly post: (message: WorkerMessage, transfer?: Transferable[]) => void,
  ) {
    this.run = setup.run;
    this.session = setup.session;
    this.batches = setup.batches;
    this.figureImages = setup.figureImages;
    this.figureCount = setup.figureCount;
    this.reconstructEvery = setup.reconstructEvery;
    this.step = setup.run.start.step;
    this.data = setup.run.start.data;
    this.elapsedSeconds = setup.run.start.elapsedSeconds;
    this.metrics = [...setup.run.history];
  }

  /** Runs `work` after everything queued before it (steps, snapshots, figures never overlap). */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }

  stop(): void {
    this.stopRequested = true;
  }

  async loop(): Promise<void> {
    const total = this.run.options.steps;
    try {
      while (this.step < total && !this.stopRequested) {
        await this.exclusive(() => this.oneStep());
        if (this.reconstructEvery > 0 && this.step % this.reconstructEvery === 0) await this.postFigure();
        // let 'stop' and 'download' messages in between steps
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (this.step % this.reconstructEvery !== 0) await this.postFigure();
      this.post({ type: 'ended', reason: this.step >= total ? 'finished' : 'stopped', step: this.step });
    } catch (e) {
      this.post({ type: 'error', message: (e as Error).message });
      this.post({ type: 'ended', reason: 'stopped', step: this.step });
    }
  }

  private async oneStep(): Promise<void> {
    const { manifest, options } = this.run;
    const next = this.step + 1;
    const lr = learningRate(options.schedule, next);
    const t0 = performance.now();
    const batch = await this.batches.next();
    if (batch.skipped > 0)
      this.post({
        type: 'log',
        line: `skipped ${batch.skipped} undecodable image(s); the next ones in the order took their place`,
      });
    const feeds = await stepInputs(manifest, batch, microBatchRng(options.seed, next, 0), {
      alignmentDropPath: options.alignmentDropPath,
    });
    const result = stepResult(await this.session.run({ ...feeds, ...stepScalars(lr, next) }), CAE_LOSS_TERMS);
    if (!Number.isFinite(result.loss)) {
      this.diverged = `the loss became non-finite at step ${next} (lr ${lr.toExponential(2)})`;
      throw new Error(
        `${this.diverged}: try a lower lr or a longer warmup; a checkpoint downloaded before it is the last good state`,
      );
    }
    const seconds = (performance.now() - t0) / 1000;
    this.step = next;
    this.data = batch.next;
    this.elapsedSeconds += seconds;
    const metrics = stepMetrics(
      { step: next, epoch: batch.epoch, lr, seconds, result },
      manifest.config.batch,
    );
    this.metrics.push(metrics);
    this.post({ type: 'step', metrics });
  }

  private async postFigure(): Promise<void> {
    const figure: Figure = await this.exclusive(async () => {
      const state = await this.session.snapshot(this.run.manifest.params.map((p) => p.name));
      return reconstructionFigure(this.run.manifest, state, this.figureImages, this.figureCount);
    });
    this.post({ type: 'reconstruction', step: this.step, ...figure }, [figure.rgb.buffer]);
  }

  async release(): Promise<void> {
    this.stop();
    await this.exclusive(() => this.session.release());
  }

  /** The run folder (zip) or the encoder at the current step. */
  download(what: 'checkpoint' | 'encoder'): Promise<{ name: string; bytes: Uint8Array; mime: string }> {
    return this.exclusive(async () => {
      if (this.diverged) throw new Error(`nothing to download: ${this.diverged}`);
      const all = await this.session.snapshot();
      const names = new Set(this.run.manifest.params.map((p) => p.name));
      const params = new Map([...all].filter(([k]) => names.has(k)));
      if (what === 'encoder') {
        const bytes = encoderModel(this.run.manifest, params, { run: this.run.name, step: this.step });
        return {
          name: `${this.run.name}-step${this.step}-encoder.onnx`,
          bytes,
          mime: 'application/octet-stream',
        };
      }
      const optimizer = new Map([...all].filter(([k]) => !names.has(k)));
      const bytes = runFolderZip(
        this.run,
        params,
        optimizer,
        {
          step: this.step,
          data: this.data,
          seed: this.run.options.seed,
          totalSteps: this.run.options.steps,
          options: this.run.options,
          elapsedSeconds: this.elapsedSeconds,
          lastLoss: this.metrics.at(-1)?.loss,
        },
        this.metrics,
      );
      return { name: `${this.run.name}.zip`, bytes, mime: 'application/zip' };
    });
  }
}
