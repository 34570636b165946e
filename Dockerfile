# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with dev dependencies, ship production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production LIENTHONG_HOST=0.0.0.0 LIENTHONG_PORT=8080 LIENTHONG_DATA_DIR=/var/lib/lienthong
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY schemas ./schemas
COPY certs-example ./certs-example
RUN mkdir -p /var/lib/lienthong && chown node:node /var/lib/lienthong
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.LIENTHONG_PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/lienthong.js"]
CMD ["start"]
