// Colour for the CLI: on a terminal only, unless FORCE_COLOR asks for it; NO_COLOR (any non-empty value) always wins
// (https://no-color.org: "regardless of its value", and a user who said no should not have to unset anything else).

export interface Palette {
  red(text: string): string
  yellow(text: string): string
  green(text: string): string
  bold(text: string): string
  dim(text: string): string
}

export function colorEnabled(env: NodeJS.ProcessEnv, stream: { isTTY?: boolean }): boolean {
  if (env.NO_COLOR) return false
  const force = env.FORCE_COLOR
  if (force !== undefined && force !== '') return !['0', 'false'].includes(force.toLowerCase())
  return stream.isTTY === true && env.TERM !== 'dumb'
}

const sgr = (open: number, close: number) => (text: string): string => `\u001b[${open}m${text}\u001b[${close}m`
const plain = (text: string): string => text

export function palette(enabled: boolean): Palette {
  if (!enabled) return { red: plain, yellow: plain, green: plain, bold: plain, dim: plain }
  return { red: sgr(31, 39), yellow: sgr(33, 39), green: sgr(32, 39), bold: sgr(1, 22), dim: sgr(2, 22) }
}
