# The demo workload of docker-compose.yml: this package built from source, running
# `mxo-data demo --loop --skip-migrate` as mxo_app against the compose cluster (migrated and given
# its accounts by the one-shot migrate and users services) and serving /metrics on :9464.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# `npm ci` runs the package's `prepare` script (`npm run build`, tsc -p tsconfig.build.json), so
# every build input must be in place before it. test/compose.test.ts replays these steps.
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY sql ./sql
RUN npm ci --no-audit --no-fund && test -f dist/cli.js
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/sql ./sql
USER node
EXPOSE 9464
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["demo", "--loop", "--skip-migrate", "--config", "/config/cluster.json", "--metrics-port", "9464"]
