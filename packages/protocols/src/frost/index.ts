/**
 * FROST(Ed25519, SHA-512) threshold signing (RFC 9591) on the Conclave session API: a
 * distributed key generation ({@link runFrostDkg}) and signing among any t of the n key holders
 * ({@link runFrostSign}). The cryptography is @noble/curves' `ed25519_FROST`; this module adds the
 * rounds, the wire formats, the checks that name a culprit, and the key-share file; and, for an
 * application, the proposal params ({@link encodeFrostDkgParams} …), a share store contract, and
 * the propose / join / run flow ({@link FrostFlow}).
 * @module
 */
export {
  type ConfirmMessage,
  type DkgCommitMessage,
  decodeDkgCommit,
  decodeDkgConfirm,
  decodeDkgShare,
  decodeSignCommit,
  decodeSignShare,
  echoDigest,
  echoList,
  encodeDkgCommit,
  encodeDkgConfirm,
  encodeDkgShare,
  encodeSignCommit,
  encodeSignShare,
  FROST_KIND,
  FROST_WIRE_VERSION,
  FrostMessageType,
  messageDigest,
  type SignCommitMessage,
  type SignShareMessage,
} from './codec.ts'
export { FROST_SUITE, frostIdentifier } from './common.ts'
export { FROST_DKG, type FrostDkgOptions, runFrostDkg } from './dkg.ts'
export {
  type FrostDkgJob,
  FrostFlow,
  type FrostRunOptions,
  type FrostSessionOptions,
  type FrostSignJob,
  type FrostSignRequest,
  type ProposeDkgOptions,
  type ProposeSignOptions,
} from './flow.ts'
export {
  decodeKeyShare,
  encodeKeyShare,
  type FrostKeyShare,
  frostPublic,
  KEY_SHARE_VERSION,
  ownIdentifier,
  SecretBytes,
} from './key-share.ts'
export {
  decodeFrostDkgParams,
  decodeFrostSignParams,
  encodeFrostDkgParams,
  encodeFrostSignParams,
  FROST_PARAMS_VERSION,
  type FrostDkgParams,
  type FrostSignParams,
} from './params.ts'
export { type FrostShareStore, MemoryShareStore } from './share-store.ts'
export { FROST_SIGN, type FrostSignOptions, runFrostSign } from './sign.ts'
