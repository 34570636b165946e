# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with dev dependencies, ship production dependencies only.
# One image runs every role: `node bin/lienthong.js start|serve|worker` (see compose.yaml and
# docs/deployment.md).
# Node 24, the current LTS (Node 20 reached end of life in April 2026), on Debian bookworm. The
# code also runs on Node 20 and later (package.json "engines"), which the test machine uses.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# Dependencies first (a layer that survives source edits); --ignore-scripts skips `prepare`
# (the build), which needs the sources copied below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# scripts/build.js: tsc into a fresh directory, the SQL migrations copied beside, swapped in as dist/.
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production LIENTHONG_HOST=0.0.0.0 LIENTHONG_PORT=8080 LIENTHONG_DATA_DIR=/var/lib/lienthong
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# What the package ships ("files" in package.json) is what runs: the compiled code (with its
# migrations), the launcher, the edXML envelope grammar read at run time, and the demo PKI and
# registry the configuration defaults to. certs-example/ holds PUBLIC demo keys only: a production
# hub gets its trust store, registry and private keys from mounts or secrets, never from the image.
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY schemas ./schemas
COPY certs-example ./certs-example
RUN mkdir -p /var/lib/lienthong && chown node:node /var/lib/lienthong
USER node
EXPOSE 8080
# Liveness of the gateway (`start`, `serve`), over HTTPS when LIENTHONG_TLS_CERT is set (the probe
# comes from inside the container, so it does not check the certificate's name). A worker has no
# API port: compose.yaml probes it on its metrics listener (LIENTHONG_WORKER_METRICS_PORT) instead.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const tls=!!process.env.LIENTHONG_TLS_CERT;require(tls?'node:https':'node:http').get({host:'127.0.0.1',port:process.env.LIENTHONG_PORT,path:'/health/live',rejectUnauthorized:false,timeout:2500},(r)=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]
# The node image's entrypoint runs this as given; compose.yaml overrides it per role.
CMD ["node", "bin/lienthong.js", "start"]
