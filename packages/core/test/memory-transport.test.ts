import { generateIdentity } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createMemoryNetwork } from '@conclave/core/transport'
import { runTransportTests } from './kit.ts'

runTransportTests('memory', async () => {
  const crypto = createNobleBackend()
  const net = createMemoryNetwork()
  const [a, b] = await Promise.all([generateIdentity(crypto), generateIdentity(crypto)])
  return { a: net.transport(), b: net.transport(), idA: a.id, idB: b.id }
})
