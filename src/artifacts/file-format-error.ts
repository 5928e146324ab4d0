/**
 * A file or folder the user gave that cannot be read as what it should be (truncated, garbage, the
 * wrong kind, empty); the message names it. Commands print it as one line and exit 1: bad input is
 * the user's to fix, not a bug to report. Every reader's own error class extends it.
 */
export class FileFormatError extends Error {
  override name = 'FileFormatError';
}
