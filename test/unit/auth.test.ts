import { describe, expect, it } from 'vitest'
import { Authenticator, parseChallenges, parseTokenResponse } from '../../src/registry/auth.js'
import { nextLink, parseRetryAfter } from '../../src/registry/client.js'
import { scrubSecrets, scrubUrl } from '../../src/registry/errors.js'

describe('parseChallenges', () => {
  it.each([
    [
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull"',
      [{
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example.com/token',
          service: 'registry.example.com',
          scope: 'repository:team/app:pull',
        },
      }],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['basic realm=plain', [{ scheme: 'basic', params: { realm: 'plain' } }]],
    [
      'Bearer realm="https://a/token",scope="repository:x:pull,push",error="insufficient_scope"',
      [{
        scheme: 'bearer',
        params: { realm: 'https://a/token', scope: 'repository:x:pull,push', error: 'insufficient_scope' },
      }],
    ],
    [
      'Basic realm="a", Bearer realm="https://b/token", service="s"',
      [
        { scheme: 'basic', params: { realm: 'a' } },
        { scheme: 'bearer', params: { realm: 'https://b/token', service: 's' } },
      ],
    ],
    ['Bearer realm="say \\"hi\\""', [{ scheme: 'bearer', params: { realm: 'say "hi"' } }]],
    ['', []],
  ])('%s', (header, expected) => {
    expect(parseChallenges(header)).toEqual(expected)
  })
})

describe('parseTokenResponse', () => {
  it('accepts token or access_token, with expires_in defaulting to 60 s', () => {
    expect(parseTokenResponse('{"token":"a","expires_in":300}')).toEqual({ token: 'a', expiresIn: 300 })
    expect(parseTokenResponse('{"access_token":"b"}')).toEqual({ token: 'b', expiresIn: 60 })
    expect(parseTokenResponse('{"token":"","access_token":"c","expires_in":-5}')).toEqual({ token: 'c', expiresIn: 60 })
  })
  it('refuses an answer without a token, or not JSON', () => {
    expect(() => parseTokenResponse('{"expires_in":60}')).toThrow(/without a `token`/)
    expect(() => parseTokenResponse('<html>')).toThrow(/not JSON/)
  })
})

describe('Authenticator', () => {
  const bearer = 'Bearer realm="https://auth.test/token",service="reg"'
  function make(now: () => number, answers: { token: string; expiresIn: number }[] = []) {
    const asked: { url: string; authorization: string | undefined }[] = []
    const auth = new Authenticator({
      username: 'u',
      password: 'pw-secret',
      now,
      fetchToken: async (url, authorization) => {
        asked.push({ url: url.toString(), authorization })
        return answers.shift() ?? { token: `t${asked.length}`, expiresIn: 60 }
      },
    })
    return { auth, asked }
  }

  it('sends nothing until challenged, then Basic when asked, and gives up when Basic was refused', async () => {
    const { auth } = make(() => 0)
    expect(await auth.header('repository:a:pull')).toBeUndefined()
    expect(auth.challenge('Basic realm="r"', 'repository:a:pull', undefined)).toBe('retry')
    const header = await auth.header('repository:a:pull')
    expect(header).toBe(`Basic ${Buffer.from('u:pw-secret').toString('base64')}`)
    expect(auth.challenge('Basic realm="r"', 'repository:a:pull', header)).toBe('refused')
  })

  it('fetches one token per scope with service and scope, sharing a request in flight', async () => {
    const { auth, asked } = make(() => 0)
    auth.challenge(bearer, 'repository:a:pull', undefined)
    const [a, b] = await Promise.all([auth.header('repository:a:pull'), auth.header('repository:a:pull')])
    expect(a).toBe('Bearer t1')
    expect(b).toBe('Bearer t1')
    expect(await auth.header('repository:a:pull,delete')).toBe('Bearer t2')
    // Once the token has come, every later request takes the header at once, not through a promise.
    expect(auth.header('repository:a:pull')).toBe('Bearer t1')
    expect(asked.map((x) => x.url)).toEqual([
      'https://auth.test/token?service=reg&scope=repository%3Aa%3Apull',
      'https://auth.test/token?service=reg&scope=repository%3Aa%3Apull%2Cdelete',
    ])
    expect(asked[0]?.authorization).toBe(`Basic ${Buffer.from('u:pw-secret').toString('base64')}`)
  })

  it('renews a token before it expires, and drops one the registry refused', async () => {
    let now = 0
    const { auth, asked } = make(() => now, [{ token: 'short', expiresIn: 10 }])
    auth.challenge(bearer, 's', undefined)
    expect(await auth.header('s')).toBe('Bearer short')
    now = 7_000
    expect(await auth.header('s')).toBe('Bearer short')
    now = 8_500 // within the last fifth of its 10 s
    expect(await auth.header('s')).toBe('Bearer t2')
    expect(auth.challenge(bearer, 's', 'Bearer t2')).toBe('retry')
    expect(await auth.header('s')).toBe('Bearer t3')
    expect(asked).toHaveLength(3)
    expect(auth.secrets()).toEqual(expect.arrayContaining(['pw-secret', 'short', 't2', 't3']))
  })

  it('asks anonymously without credentials', async () => {
    const asked: (string | undefined)[] = []
    const auth = new Authenticator({
      username: '',
      password: '',
      now: () => 0,
      fetchToken: async (_url, authorization) => {
        asked.push(authorization)
        return { token: 'anon', expiresIn: 60 }
      },
    })
    auth.challenge(bearer, undefined, undefined)
    expect(await auth.header(undefined)).toBe('Bearer anon')
    expect(asked).toEqual([undefined])
    expect(auth.challenge('Basic realm="r"', undefined, undefined)).toBe('refused')
  })
})

describe('protocol details', () => {
  const page = new URL('https://reg.test/v2/_catalog?n=2')
  it.each([
    ['</v2/_catalog?last=team%2Fapp&n=2>; rel="next"', 'https://reg.test/v2/_catalog?last=team%2Fapp&n=2'],
    ['<https://reg.test/v2/_catalog?last=b>; rel=next', 'https://reg.test/v2/_catalog?last=b'],
    ['</v2/a?p=1>; rel="prev", </v2/a?p=3>; rel="next"', 'https://reg.test/v2/a?p=3'],
    ['</v2/a?p=1>; rel="prev"', undefined],
    [undefined, undefined],
  ])('Link %s', (header, expected) => {
    expect(nextLink(header, page)?.toString()).toBe(expected)
  })

  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('5', 0)).toBe(5000)
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000)
    expect(parseRetryAfter('soon', 0)).toBeUndefined()
    expect(parseRetryAfter(undefined, 0)).toBeUndefined()
  })

  it('scrubs credentials from URLs and secrets from messages', () => {
    expect(scrubUrl('https://user:pass@reg.test/v2/')).toBe('https://reg.test/v2/')
    expect(scrubSecrets('bad password pw-secret in Authorization: Basic dTpwdy1zZWNyZXQ=', ['pw-secret'])).toBe(
      'bad password *** in Authorization: Basic ***',
    )
    expect(scrubSecrets('Bearer eyJhbGciOiJFUzI1NiJ9.abc', [])).toBe('Bearer ***')
  })
})
