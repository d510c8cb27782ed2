/** Vite's `?raw` imports (a file's text), used by workerd tests that cannot read the disk. */
declare module "*?raw" {
  const text: string;
  export default text;
}
