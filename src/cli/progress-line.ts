/**
 * A progress line on stderr: rewritten in place on a terminal, one line per update in a log file
 * (carriage returns would glue a log's updates into one line).
 */
export interface ProgressLine {
  /** Whether updates replace each other in place (stderr is a terminal). */
  readonly interactive: boolean;
  /** Shows `line`, replacing the previous update on a terminal. */
  update(line: string): void;
  /** Ends the in-place line on a terminal (if one is showing), so that what follows starts on a new line. */
  end(): void;
}

export function progressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const interactive = stream.isTTY === true;
  let open = false; // an in-place line is on screen without its newline yet
  return {
    interactive,
    update: (line) => {
      stream.write(interactive ? `\r\x1b[2K${line}` : `${line}\n`);
      open = interactive;
    },
    end: () => {
      if (open) stream.write('\n');
      open = false;
    },
  };
}
