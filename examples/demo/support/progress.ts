/**
 * Progress for long steps (creating a sandbox, waiting for a model, running code) on standard
 * error, so it never mixes with the transcript on standard output. On a terminal it is one
 * spinner line that is erased when the step ends; elsewhere (CI, a pipe) it is one `… step` line
 * per step and a `✓ step (1.2 s)` line when it ends.
 */
export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #interactive: boolean;
  readonly #steps = new Map<number, { label: string; startedAt: number }>();
  #nextId = 0;
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#interactive = Boolean(stream.isTTY) && !process.env['CI'];
  }

  /** Starts a step and returns the function that ends it. Ending twice is harmless. */
  begin(label: string): (outcome?: string) => void {
    const id = this.#nextId++;
    this.#steps.set(id, { label, startedAt: performance.now() });
    if (this.#interactive) this.#startSpinner();
    else this.#stream.write(`… ${label}\n`);
    return (outcome) => this.#end(id, outcome);
  }

  /** Runs `task` as one step. */
  async track<T>(label: string, task: () => Promise<T>): Promise<T> {
    const end = this.begin(label);
    try {
      const result = await task();
      end();
      return result;
    } catch (error) {
      end('failed');
      throw error;
    }
  }

  /** Clears the spinner before something else writes to the terminal. */
  pause(): void {
    if (this.#interactive && this.#steps.size > 0) this.#stream.write('\r\u001b[2K');
  }

  /** Ends every step and stops the spinner. */
  stop(): void {
    for (const id of [...this.#steps.keys()]) this.#end(id, 'stopped');
  }

  #end(id: number, outcome?: string): void {
    const step = this.#steps.get(id);
    if (step === undefined) return;
    this.#steps.delete(id);
    const seconds = ((performance.now() - step.startedAt) / 1000).toFixed(1);
    if (this.#interactive) {
      this.#stream.write('\r\u001b[2K');
      if (this.#steps.size === 0) this.#stopSpinner();
      // Only slow or failed steps leave a line behind; the rest would be noise.
      if (outcome !== undefined || Number(seconds) >= 1) {
        this.#stream.write(
          `${outcome ? '✗' : '✓'} ${step.label} (${seconds} s${outcome ? `, ${outcome}` : ''})\n`,
        );
      }
    } else {
      this.#stream.write(
        `${outcome ? '✗' : '✓'} ${step.label} (${seconds} s${outcome ? `, ${outcome}` : ''})\n`,
      );
    }
  }

  #startSpinner(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#draw(), 80);
    this.#timer.unref();
    this.#draw();
  }

  #stopSpinner(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #draw(): void {
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    const steps = [...this.#steps.values()];
    const latest = steps.at(-1);
    if (latest === undefined) return;
    this.#frame = (this.#frame + 1) % frames.length;
    const seconds = ((performance.now() - latest.startedAt) / 1000).toFixed(0);
    const more = steps.length > 1 ? ` (+${steps.length - 1} more)` : '';
    this.#stream.write(`\r\u001b[2K${frames[this.#frame]} ${latest.label}… ${seconds} s${more}`);
  }
}
