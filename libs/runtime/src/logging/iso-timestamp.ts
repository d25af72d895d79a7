/**
 * pino `timestamp` that writes the same `"time":"2026-01-02T03:04:05.678Z"` as
 * pino.stdTimeFunctions.isoTime, but builds the date and time part once a second instead of
 * formatting a new Date on every line: on a server logging every call, that formatting showed up
 * among the hottest functions of a CPU profile.
 */
export function isoTimestamp(now: () => number = Date.now): () => string {
  let second = Number.NaN;
  let prefix = '';
  return () => {
    const ms = now();
    const thisSecond = Math.floor(ms / 1000);
    if (thisSecond !== second) {
      second = thisSecond;
      // "2026-01-02T03:04:05." of the ISO form
      prefix = `,"time":"${new Date(thisSecond * 1000).toISOString().slice(0, 20)}`;
    }
    const millis = ms - thisSecond * 1000;
    return `${prefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z"`;
  };
}
