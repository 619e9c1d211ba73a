// The outputs as a GitLab `dotenv` report (DECISIONS 13): the output names in upper snake case. GitLab accepts keys of
// [A-Za-z0-9_], one line per value and at most 5 KB in all; a report it cannot read is dropped, so check here.

export const DOTENV_LIMIT = 5 * 1024

/** `deleted-count` -> `DELETED_COUNT`. */
export function dotenvKey(output: string): string {
  return output.toUpperCase().replace(/-/g, '_')
}

export function toDotenv(outputs: Record<string, string>): string {
  const lines: string[] = []
  for (const [name, value] of Object.entries(outputs)) {
    const key = dotenvKey(name)
    if (!/^[A-Za-z0-9_]+$/.test(key)) throw new Error(`Output ${name} cannot be a dotenv key: ${key} has characters outside [A-Za-z0-9_].`)
    if (/[\r\n]/.test(value)) throw new Error(`Output ${name} cannot go into the dotenv file: its value spans lines.`)
    lines.push(`${key}=${value}`)
  }
  const text = `${lines.join('\n')}\n`
  if (Buffer.byteLength(text) > DOTENV_LIMIT) {
    throw new Error(`The dotenv report is ${Buffer.byteLength(text)} bytes, over GitLab's ${DOTENV_LIMIT}: shorten --plan-file.`)
  }
  return text
}
