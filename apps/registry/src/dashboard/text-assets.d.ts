// Files the bundle and the tests load as text (project.json's --loader flags, jest.config.js's transform).
declare module '*.html' {
  const text: string;
  export default text;
}
declare module '*.css' {
  const text: string;
  export default text;
}
declare module '*.client.js' {
  const text: string;
  export default text;
}
