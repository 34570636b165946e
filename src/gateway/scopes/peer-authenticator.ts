import type { TLSSocket } from 'node:tls'
import type { FastifyRequest } from 'fastify'
import { HubProblem } from '../../errors/problem.js'
import type { PeerHub, PeerHubs } from '../../routing/peer-hubs.js'
import type { Authenticator } from './scope.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The peer hub a request authenticated as, inside the /peer scope (read it with peerOf). */
    peerHub: PeerHub | undefined
  }
}

/**
 * Peer hubs authenticate by mutual TLS only: the client certificate must chain to the gateway's
 * client CA (the TLS layer checks it) and be pinned to a registered peer (by its SHA-256). No API
 * key: a hub-to-hub link is configured on both sides with certificates, never a shared secret.
 */
export function peerAuthenticator (peers: PeerHubs | undefined): Authenticator<PeerHub> {
  return {
    resolve: async (request) => {
      const socket = request.raw.socket as Partial<TLSSocket>
      if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) {
        throw new HubProblem('UNAUTHENTICATED', 'peer hubs authenticate with a TLS client certificate (mutual TLS)')
      }
      const fingerprint = socket.getPeerCertificate()?.fingerprint256
      const peer = fingerprint != null && peers != null ? await peers.byClientCertificate(fingerprint) : undefined
      if (peer == null) throw new HubProblem('UNAUTHENTICATED', 'the TLS client certificate is not registered to any peer hub')
      return peer
    },
    credentialKey: (peer) => `peer:${peer.hubId}`,
    attach: (request, peer) => { request.peerHub = peer },
    decorate: (app) => { if (!app.hasRequestDecorator('peerHub')) app.decorateRequest('peerHub', undefined) }
  }
}

/** The authenticated peer hub of a request in the /peer scope (absent: a programming error). */
export function peerOf (request: FastifyRequest): PeerHub {
  if (request.peerHub == null) throw new Error(`no peer hub on ${request.method} ${request.routeOptions.url ?? request.url}: the route is not in the peer scope`)
  return request.peerHub
}
