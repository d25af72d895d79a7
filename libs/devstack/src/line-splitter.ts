/**
 * Calls `onLine` with each whole, non-empty line of a text stream's chunks. A chunk may end
 * mid-line: the tail waits for its newline. One splitter per stream, so two streams' partial
 * lines never run together.
 */
export function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let partial = '';
  return (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line.trim() !== '') onLine(line);
  };
}
