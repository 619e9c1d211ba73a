// gc-command read with shell rules (issue 11, DECISIONS 1, 17, 28): the collector's own flags are refused in every
// spelling the shell undoes, a dry run only runs a command whose one collector invocation gets --dry-run, and the flags
// the tool adds land where the collector reads them.
import { execFileSync } from 'node:child_process'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkGcCommand, collectorCommand, GcCommandError } from '../../src/gc/command.js'
import { collectorCommand as fromCollector } from '../../src/gc/collector.js'

const GC = 'docker exec registry bin/registry garbage-collect'
const CONFIG = '/etc/docker/registry/config.yml'

/** The refusal's message for a real run (throws if the command passes). */
function refusal(command: string, dryRun = false): string {
  try {
    checkGcCommand(command, dryRun)
  } catch (error) {
    expect(error).toBeInstanceOf(GcCommandError)
    return (error as Error).message
  }
  throw new Error(`not refused: ${command}`)
}

describe('the collector\'s -m / --delete-untagged, in any spelling (DECISIONS 1)', () => {
  it.each([
    [`${GC} -m ${CONFIG}`, '-m'],
    [`${GC} -\\m ${CONFIG}`, '-m'],
    [`${GC} -"m" ${CONFIG}`, '-m'],
    [`${GC} -'m' ${CONFIG}`, '-m'],
    [`${GC} "-m" ${CONFIG}`, '-m'],
    [`${GC} $'-m' ${CONFIG}`, '-m'],
    [`${GC} $'-\\x6d' ${CONFIG}`, '-m'],
    [`${GC} --delete-untagged ${CONFIG}`, '--delete-untagged'],
    [`${GC} --delete-un""tagged ${CONFIG}`, '--delete-untagged'],
    [`${GC} --delete-un''tagged ${CONFIG}`, '--delete-untagged'],
    [`${GC} --delete-\\untagged ${CONFIG}`, '--delete-untagged'],
    [`${GC} --delete-untagged=true ${CONFIG}`, '--delete-untagged=true'],
    [`${GC} --delete-untagged=false ${CONFIG}`, '--delete-untagged=false'],
    [`${GC} -dm ${CONFIG}`, '-dm'],
    [`${GC} -md ${CONFIG}`, '-md'],
    [`${GC} -m=true ${CONFIG}`, '-m=true'],
    [`${GC} -dm=true ${CONFIG}`, '-dm=true'],
    [`${GC} ${CONFIG} -m`, '-m'],
    // Its parser also takes the subcommand's flags before the subcommand (checked on Distribution 2.8.2).
    [`registry --delete-untagged=true garbage-collect ${CONFIG}`, '--delete-untagged=true'],
    // Inside a script the shell on the host runs: sh -c, bash -c, ssh, eval, with the script's own quoting undone too.
    [`sh -c '${GC} -m ${CONFIG}'`, '-m'],
    [`bash -c '${GC} -\\m ${CONFIG}'`, '-m'],
    [`sh -c "${GC} -\\"m\\" ${CONFIG}"`, '-m'],
    [`docker exec registry sh -c 'registry garbage-collect --delete-un""tagged ${CONFIG}'`, '--delete-untagged'],
    [`ssh host 'registry garbage-collect -m ${CONFIG}'`, '-m'],
    [`eval "registry garbage-collect -\\\\m ${CONFIG}"`, '-m'],
    // ssh joins its arguments into one script: a flag after the quoted part still reaches the collector.
    [`ssh host 'registry garbage-collect' -m ${CONFIG}`, '-m'],
    [`ssh host registry 'garbage-collect -m' ${CONFIG}`, '-m'],
    // The quoted script's own quoting hides the word itself.
    [`sh -c 'registry garb""age-collect -m ${CONFIG}'`, '-m'],
    // A line continuation, and a second line.
    [`registry garbage-collect -\\\n-delete-untagged ${CONFIG}`, '--delete-untagged'],
    [`registry garbage-collect ${CONFIG}\nregistry garbage-collect -m ${CONFIG}`, '-m'],
    [`echo start; registry garbage-collect -m ${CONFIG}`, '-m'],
  ])('refuses %j (%s) and says why', (command, word) => {
    const message = refusal(command)
    expect(message).toContain(`'${word}'`)
    expect(message).toMatch(/multi-arch.*no platform can be pulled.*untagged: delete/s)
    expect(() => collectorCommand(command, false)).toThrow(/^gc-command '.*' is refused: .*multi-arch/s)
    expect(() => collectorCommand(command, true)).toThrow(GcCommandError)
  })
})

describe('the collector\'s -d / --dry-run: the tool owns it (DECISIONS 28)', () => {
  it.each([
    [`${GC} -d ${CONFIG}`, '-d'],
    [`${GC} --dry-run ${CONFIG}`, '--dry-run'],
    [`${GC} '--dry-run' ${CONFIG}`, '--dry-run'],
    [`${GC} --dry-\\run ${CONFIG}`, '--dry-run'],
    [`${GC} --dry-run=true ${CONFIG}`, '--dry-run=true'],
    [`${GC} --dry-run=false ${CONFIG}`, '--dry-run=false'],
    [`${GC} -d=true ${CONFIG}`, '-d=true'],
    [`${GC} -"d" ${CONFIG}`, '-d'],
    [`${GC} ${CONFIG} -d`, '-d'],
    [`registry --dry-run=false garbage-collect ${CONFIG}`, '--dry-run=false'],
    [`sh -c '${GC} -d ${CONFIG}'`, '-d'],
  ])('refuses %j (%s) in a real run and in a dry run', (command, word) => {
    for (const dryRun of [false, true]) {
      const message = refusal(command, dryRun)
      expect(message).toContain(`'${word}'`)
      expect(message).toMatch(/adds --dry-run itself.*report blobs as deleted that the collector did not delete/s)
    }
  })
})

describe('what belongs to other programs', () => {
  it.each([
    // docker's own -d (detach), -m (memory), -it; sudo's -u; flags of a wrapper before the program word.
    `docker exec -d registry registry garbage-collect ${CONFIG}`,
    `docker run --rm -m 1g -v /srv/registry:/var/lib/registry registry:2 garbage-collect ${CONFIG}`,
    `docker exec -it registry bin/registry garbage-collect ${CONFIG}`,
    `sudo -u registry docker-registry garbage-collect ${CONFIG}`,
    `docker compose exec -T registry registry garbage-collect ${CONFIG} --memory-only-looking-flag`,
    // A variable or substitution before the program word, a redirection, a comment.
    `docker exec $(docker ps -q -f name=registry) registry garbage-collect ${CONFIG}`,
    `docker exec "$CONTAINER" registry garbage-collect ${CONFIG}`,
    `${GC} ${CONFIG} 2>&1`,
    `${GC} ${CONFIG} # -m would be refused, but not in a comment`,
    // Chained commands are fine in a real run, as long as no invocation has the flags.
    `echo starting garbage-collect && ${GC} ${CONFIG}`,
    `/opt/garbage-collect.sh ${CONFIG}`,
  ])('passes %j in a real run, unchanged', (command) => {
    expect(() => checkGcCommand(command, false)).not.toThrow()
    expect(collectorCommand(command, false)).toBe(command)
  })

  it('refuses what the shell would expand next to garbage-collect: the flags could hide there', () => {
    for (const [command, shown] of [
      [`${GC} $FLAGS ${CONFIG}`, '$FLAGS'],
      [`${GC} "\${FLAGS}" ${CONFIG}`, '$FLAGS'],
      [`${GC} $(cat /etc/gc-flags) ${CONFIG}`, '$(…)'],
      [`${GC} \`cat /etc/gc-flags\` ${CONFIG}`, '`cat'],
      [`${GC} -* ${CONFIG}`, '-*'],
      [`${GC} {-m,} ${CONFIG}`, '{-m,}'],
      [`registry $X garbage-collect ${CONFIG}`, '$X'],
    ]) {
      expect(refusal(command as string)).toContain(`'${shown}' next to garbage-collect is expanded by the shell`)
    }
  })

  it('refuses an empty command', () => {
    expect(refusal('  ')).toContain('it is empty')
  })
})

describe('a dry run: --dry-run right after the one garbage-collect (DECISIONS 17)', () => {
  it.each([
    [`${GC} ${CONFIG}`, `${GC} --dry-run ${CONFIG}`],
    // Appended at the end, --dry-run would be sh's $0 and the collector would delete for real.
    [`sh -c 'registry garbage-collect /etc/c.yml'`, `sh -c 'registry garbage-collect --dry-run /etc/c.yml'`],
    [`ssh host "registry garbage-collect /etc/c.yml" 2>&1`, `ssh host "registry garbage-collect --dry-run /etc/c.yml" 2>&1`],
    // docker exec's own -d (detach) is not the collector's dry run.
    ['docker exec -d registry registry garbage-collect /etc/c.yml', 'docker exec -d registry registry garbage-collect --dry-run /etc/c.yml'],
    [`registry garbage-collect\t${CONFIG}`, `registry garbage-collect --dry-run\t${CONFIG}`],
    [`registry garbage-collect ${CONFIG} # nightly`, `registry garbage-collect --dry-run ${CONFIG} # nightly`],
  ])('%j -> %j', (command, dry) => {
    expect(collectorCommand(command, true)).toBe(dry)
    expect(collectorCommand(command, { dryRun: true })).toBe(dry)
    expect(fromCollector(command, true)).toBe(dry)
  })

  it.each([
    [`echo starting garbage-collect && docker-registry garbage-collect ${CONFIG}`, /chains commands \('&&'\)/],
    [`true; ${GC} ${CONFIG}`, /chains commands \(';'\)/],
    [`false || ${GC} ${CONFIG}`, /chains commands \('\|\|'\)/],
    [`${GC} ${CONFIG} | tee /tmp/gc.log`, /chains commands \('\|'\)/],
    [`${GC} ${CONFIG} &`, /chains commands \('&'\)/],
    [`(${GC} ${CONFIG})`, /chains commands \('\('\)/],
    [`true\n${GC} ${CONFIG}`, /chains commands \(';'\)/],
    [`sh -c 'true && ${GC} ${CONFIG}'`, /chains commands \('&&'\)/],
    [`sh -c '${GC} ${CONFIG}; ${GC} ${CONFIG}'`, /chains commands/],
    [`${GC} ${CONFIG} garbage-collect`, /runs garbage-collect 2 times/],
    [`sh -c '${GC} ${CONFIG}' garbage-collect`, /runs garbage-collect 2 times/],
    ['/usr/local/bin/gc.sh', /no such word.*wrapper script/],
    ['/opt/garbage-collect.sh /etc/c.yml', /no such word/],
    [`docker exec $(docker ps -q) registry garbage-collect ${CONFIG}`, /'\$\(…\)' is expanded by the shell/],
    [`docker exec "$C" registry garbage-collect ${CONFIG}`, /'\$C' is expanded by the shell/],
    [`registry "garbage-collect" ${CONFIG}`, /cannot be placed right after garbage-collect/],
    // A second collector the word search alone would miss: sh's $0 is the visible word, the script runs the other.
    [`sh -c 'registry garb""age-collect ${CONFIG}' garbage-collect`, /runs garbage-collect 2 times/],
    [`sh -c 'registry garb""age-collect ${CONFIG}'`, /cannot be placed right after garbage-collect/],
    // A script built on the host at run time, even where no collector word is.
    [`sh -c 'eval "$S"' garbage-collect`, /'\$' is expanded by the shell/],
    [`${GC} ${CONFIG} '$HOME'`, /'\$' is expanded by the shell/],
  ])('refuses %j, which it cannot vouch for', (command, why) => {
    const message = refusal(command, true)
    expect(message).toMatch(/^it cannot be made safe for a dry run: /)
    expect(message).toMatch(why)
    expect(() => collectorCommand(command, true)).toThrow(why)
  })

  it('adds the listing flags of issue 14 the same way, and --delete-untagged only with --dry-run', () => {
    expect(collectorCommand(`${GC} ${CONFIG}`, { dryRun: true, deleteUntagged: true })).toBe(
      `${GC} --dry-run --delete-untagged ${CONFIG}`,
    )
    expect(collectorCommand(`sh -c '${GC} ${CONFIG}'`, { dryRun: true, deleteUntagged: true })).toBe(
      `sh -c '${GC} --dry-run --delete-untagged ${CONFIG}'`,
    )
    expect(() => collectorCommand(`${GC} ${CONFIG}`, { deleteUntagged: true })).toThrow(/only ever added with --dry-run/)
    expect(collectorCommand(`${GC} ${CONFIG}`, {})).toBe(`${GC} ${CONFIG}`)
  })
})

describe('any spelling the shell undoes (property)', () => {
  const FLAGS = ['-m', '--delete-untagged', '-d', '--dry-run', '-dm', '-md', '-m=true', '--dry-run=false', '-d=true']

  /** One chunk of a word in one of the shell's quotings: bare with backslashes, '…', "…", $'\xHH…' (bash), or ''. */
  const chunk = (text: string) =>
    fc.oneof(
      fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length })
        .map((escapes) => [...text].map((c, i) => (escapes[i] ? `\\${c}` : c)).join('')),
      fc.constant(`'${text}'`),
      fc.constant(`"${text}"`),
      fc.constant(`$'${[...text].map((c) => `\\x${c.charCodeAt(0).toString(16)}`).join('')}'`),
      fc.constant(`""${text}''`),
    )

  /** A flag cut at random places, each piece quoted its own way. */
  const spelling = fc.constantFrom(...FLAGS).chain((flag) =>
    fc.uniqueArray(fc.integer({ min: 1, max: flag.length - 1 }), { maxLength: 3 }).chain((cuts) => {
      const at = [0, ...cuts.sort((a, b) => a - b), flag.length]
      const pieces = at.slice(1).map((end, i) => flag.slice(at[i], end))
      return fc.tuple(fc.constant(flag), ...pieces.map(chunk)).map(([f, ...parts]) => ({ flag: f, word: parts.join('') }))
    }),
  )

  const samples = fc.sample(fc.tuple(spelling, fc.constantFrom('plain', 'sh -c', 'ssh')), { numRuns: 300, seed: 11 })

  it('bash reads every generated spelling as the flag itself (the generator is honest)', () => {
    const script = samples.map(([s]) => `printf '%s\\0' ${s.word}`).join('\n')
    const words = execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\0').slice(0, -1)
    expect(words).toEqual(samples.map(([s]) => s.flag))
  })

  it('every one is refused, at the top, inside sh -c and inside ssh, with the reason of its flag', () => {
    const quote = (script: string): string => `'${script.replace(/'/g, `'\\''`)}'`
    for (const [{ flag, word }, wrap] of samples) {
      const inner = `registry garbage-collect ${word} ${CONFIG}`
      const command = wrap === 'plain' ? inner : wrap === 'sh -c' ? `sh -c ${quote(inner)}` : `ssh registry.example.com ${quote(inner)}`
      const deletesUntagged = flag.startsWith('--') ? flag.startsWith('--delete-untagged') : flag.split('=')[0]!.includes('m')
      const reason = deletesUntagged ? '(--delete-untagged, -m) is refused' : '(--dry-run, -d) is refused'
      expect(refusal(command), command).toContain(reason)
      expect(refusal(command, true), command).toContain(reason)
    }
  })
})
