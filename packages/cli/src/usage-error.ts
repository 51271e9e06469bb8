/**
 * A command line the command cannot take (an unknown model, a bad option
 * value): printed as `voxpipe: usage: …` with the usage exit status.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
