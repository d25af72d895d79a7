/** The URL with any password or token replaced, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/g, '//***@');
}
