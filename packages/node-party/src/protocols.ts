/**
 * The protocols `conclave-party run --protocol …` can run, each as "prepare (check files and
 * arguments before joining anyone), then run in a session and report result fields".
 * @module
 */
import { access, readFile, writeFile } from 'node:fs/promises'
import { ConclaveError, type Session, toHex } from '@conclave/core'
import {
  decodeKeyShare,
  encodeFrostDkgParams,
  encodeFrostSignParams,
  encodeKeyShare,
  runFrostDkg,
  runFrostSign,
  runSecureSum,
} from '@conclave/protocols'
import type { RunArgs } from './args.ts'

/** A prepared protocol run. */
export interface ProtocolRun {
  /**
   * The params this party's proposals carry (`runCoordinated`'s `params`): for FROST, the
   * encoding the web demo uses too, so that a page can join a Node party's proposal.
   */
  params?: Uint8Array
  run(session: Session): Promise<Record<string, unknown>>
}

/**
 * Check the arguments and files of a protocol before any network step.
 * @throws ConclaveError `INVALID_ARGUMENT` (a share file that exists, or cannot be read)
 */
export async function prepareProtocol(args: RunArgs): Promise<ProtocolRun> {
  switch (args.protocol) {
    case 'secure-sum':
      return { run: async (s) => ({ total: (await runSecureSum(s, args.input!)).toString() }) }
    case 'frost-dkg': {
      const file = args.share!
      const exists = await access(file).then(
        () => true,
        () => false,
      )
      if (exists)
        throw new ConclaveError('INVALID_ARGUMENT', `${file} exists: refusing to overwrite a key share`)
      return {
        params: encodeFrostDkgParams({ threshold: args.threshold! }),
        run: async (s) => {
          const share = await runFrostDkg(s, { threshold: args.threshold! })
          // the secret share goes to the file only (mode 0600), never to the output
          await writeFile(file, encodeKeyShare(share), { mode: 0o600, flag: 'wx' })
          return {
            groupPublicKey: share.groupPublicKey,
            threshold: share.threshold,
            parties: share.participants.length,
            index: share.index,
            share: file,
          }
        },
      }
    }
    case 'frost-sign': {
      let text: string
      try {
        text = await readFile(args.share!, 'utf8')
      } catch (e) {
        throw new ConclaveError(
          'INVALID_ARGUMENT',
          `cannot read key share ${args.share}: ${(e as Error).message}`,
        )
      }
      const share = decodeKeyShare(text)
      return {
        params: encodeFrostSignParams({ groupPublicKey: share.groupPublicKey, message: args.message! }),
        run: async (s) => {
          const signature = await runFrostSign(s, share, args.message!)
          return {
            signature: toHex(signature),
            groupPublicKey: share.groupPublicKey,
            message: toHex(args.message!),
          }
        },
      }
    }
    default:
      throw new ConclaveError('INVALID_ARGUMENT', 'no protocol to run')
  }
}
